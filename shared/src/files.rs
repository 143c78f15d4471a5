//! File access: the open family, truncate, unlink and rename, seen at their syscall exits with
//! the file name they were given and the path the kernel resolved.

pub const RECORD_FILE: u32 = 5;

/// Bytes kept of the file name argument (longer names are cut, `name_truncated` set).
pub const FILE_NAME_LEN: usize = 256;
/// Bytes of the resolved path area (a power of two: the probes mask offsets with it).
pub const FILE_PATH_LEN: usize = crate::policy::STRING_AREA;
/// `FileCall::name_arg` and `dirfd_arg` value: no such argument.
pub const NO_ARG: u8 = u8::MAX;
/// The dirfd meaning "relative to the working directory".
pub const AT_FDCWD: i64 = -100;

/// What a call does to its file(s).
pub mod op {
    pub const NONE: u32 = 0;
    pub const OPEN: u32 = 1;
    pub const TRUNCATE: u32 = 2;
    pub const UNLINK: u32 = 3;
    /// The first name of a rename (the one that goes away), then the second.
    pub const RENAME: u32 = 4;
}

/// Where a call's open flags come from (`FileCall::flags_from`).
pub mod flags_from {
    pub const NONE: u8 = 0;
    /// The argument `flags_arg`.
    pub const ARG: u8 = 1;
    /// The first 64 bits of the `struct open_how` that argument `flags_arg` points to (openat2).
    pub const OPEN_HOW: u8 = 2;
}

/// `FileRecord::path_kind`
pub mod path_kind {
    /// No path: the name is absolute and the call failed, or the resolution failed.
    pub const NONE: u32 = 0;
    /// The path of the file the call opened (its new fd, resolved).
    pub const FILE: u32 = 1;
    /// The directory a relative name is relative to (the cwd or the dirfd's directory).
    pub const BASE: u32 = 2;
}

/// How the probes read one syscall's file arguments; userspace fills the `FILE_CALLS` table by
/// syscall number, from the syscall tables of the running architecture.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileCall {
    /// `op::*`; `op::NONE` for syscalls that are not file calls.
    pub op: u32,
    /// Open flags every call has whatever its arguments (creat: write, create, truncate).
    pub fixed_flags: u32,
    /// Argument index of each name (`NO_ARG` when the call has fewer).
    pub name_arg: [u8; 2],
    /// Argument index of each name's dirfd (`NO_ARG`: relative to the cwd).
    pub dirfd_arg: [u8; 2],
    pub flags_from: u8,
    pub flags_arg: u8,
    pub _pad: [u8; 2],
}

/// A file call between its entry and its exit.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct PendingFileCall {
    pub syscall: u32,
    pub op: u32,
    pub names: [u64; 2],
    pub dirfds: [i64; 2],
    pub open_flags: u64,
}

/// One file name of a finished file call. Only the used part of `path` crosses the ring.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FileRecord {
    pub header: crate::RecordHeader,
    pub pid: u32,
    pub tid: u32,
    /// Syscall number (native ABI).
    pub syscall: u32,
    pub op: u32,
    /// Which name of the call (0, or 1 for a rename's new name).
    pub name_index: u32,
    pub name_len: u32,
    pub name_truncated: u32,
    pub path_kind: u32,
    /// `path_status::*` of the walk.
    pub path_status: u32,
    pub path_len: u32,
    pub open_flags: u64,
    /// The syscall's return value: an fd, 0, or -errno.
    pub ret: i64,
    pub name: [u8; FILE_NAME_LEN],
    pub path: [u8; FILE_PATH_LEN],
}

impl FileRecord {
    /// Bytes before `path`: a record is this plus `path_len` bytes.
    pub const HEAD_LEN: usize = core::mem::offset_of!(FileRecord, path);
}

#[cfg(feature = "user")]
unsafe impl aya::Pod for FileCall {}
