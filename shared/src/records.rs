//! Ring-buffer records. Each starts with a [`RecordHeader`] whose `kind` says which struct follows.

/// Bytes kept of the exec'd file name (as the exec call spelled it).
pub const FILENAME_LEN: usize = 256;
/// Bytes kept of the NUL-separated argument vector (argv[0] included); longer ones are truncated.
pub const ARGS_LEN: usize = 1024;
/// Size of the area that path components are written into (a power of two: the write offset is
/// masked with `PATH_AREA - 1` so the verifier can bound it).
pub const PATH_AREA: usize = 4096;
/// Longest single path component read.
pub const NAME_SLOT: usize = 256;
/// Path components walked before the path is marked truncated.
pub const MAX_PATH_COMPONENTS: usize = 64;
/// Ring buffer size: exec records are ~1.4 KiB plus their working directory (at most ~5.7 KiB),
/// so it holds about 11,000 execs of a storm (with their exits) before a drain.
pub const RING_BYTES: u32 = 16 * 1024 * 1024;

pub const RECORD_EXEC: u32 = 1;
pub const RECORD_CLONE: u32 = 2;
pub const RECORD_EXIT: u32 = 3;

/// `ExecRecord::flags` bits. The values match Tetragon's process flags where one exists.
pub mod exec_flags {
    pub const TRUNC_ARGS: u32 = 0x10;
    pub const ERROR_FILENAME: u32 = 0x100;
    pub const ERROR_ARGS: u32 = 0x200;
    pub const NO_CWD: u32 = 0x800;
    pub const ERROR_CWD: u32 = 0x2000;
}

/// Outcome of a path walk, in `PathBuf::status`.
pub mod path_status {
    /// Reached the root: the components form the whole path.
    pub const COMPLETE: u32 = 0;
    /// Stopped after `MAX_PATH_COMPONENTS` or a full area: only the last components are present.
    pub const TRUNCATED: u32 = 1;
    /// A kernel read failed.
    pub const ERROR: u32 = 2;
}

/// Slots of `ExecRecord::ns`: the eight of `NS_SLOTS`, then pid (active) and user.
pub const NS_RECORD_SLOTS: usize = crate::NS_SLOTS + 2;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RecordHeader {
    pub kind: u32,
    /// CPU the record was written on (diagnostics only).
    pub cpu: u32,
    /// `bpf_ktime_get_boot_ns()` when the event happened: part of the exec_id.
    pub ktime: u64,
}

/// A path as the kernel walk left it: NUL-terminated components, leaf first.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PathBuf {
    pub status: u32,
    pub components: u32,
    /// Bytes used in `bytes`.
    pub len: u32,
    pub _pad: u32,
    pub bytes: [u8; PATH_AREA + NAME_SLOT],
}

/// A process image replaced by `execve` (tracepoint `sched_process_exec`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ExecRecord {
    pub header: RecordHeader,
    /// `bpf_get_current_cgroup_id()`: the cgroup v2 id (directory inode) of the task, which
    /// names its container.
    pub cgroup_id: u64,
    /// Thread-group id after the exec.
    pub pid: u32,
    /// Id of the thread that called exec (differs from `pid` when a non-leader thread execs).
    pub old_tid: u32,
    /// `real_parent->tgid`.
    pub ppid: u32,
    pub euid: u32,
    /// Audit login uid, `u32::MAX` when unset or unavailable.
    pub auid: u32,
    /// The pid in the task's own pid namespace (a container's view of it), 0 when unknown.
    pub ns_pid: u32,
    pub flags: u32,
    /// Bytes of `filename` used (without the NUL).
    pub filename_len: u32,
    /// Bytes of `args` used; the full vector was longer when `flags` has `TRUNC_ARGS`.
    pub args_len: u32,
    /// Namespace inode numbers (see `NS_RECORD_SLOTS`), 0 where unknown.
    pub ns: [u32; NS_RECORD_SLOTS],
    pub filename: [u8; FILENAME_LEN],
    pub args: [u8; ARGS_LEN],
    pub cwd: PathBuf,
}

impl ExecRecord {
    /// Bytes before the used part of `cwd.bytes`: a record is this plus `cwd.len` bytes, so a
    /// short working directory does not fill the ring with 4 KiB of zeros.
    pub const HEAD_LEN: usize =
        core::mem::offset_of!(ExecRecord, cwd) + core::mem::offset_of!(PathBuf, bytes);
}

/// A new process (not a thread): tracepoint `task_newtask` in the parent.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CloneRecord {
    pub header: RecordHeader,
    pub pid: u32,
    pub ppid: u32,
}

/// The last thread of a process exited (tracepoint `sched_process_exit` with the group dead).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ExitRecord {
    pub header: RecordHeader,
    pub pid: u32,
    pub tid: u32,
    /// `task->exit_code`: status in bits 8..16, terminating signal in bits 0..7.
    pub exit_code: u32,
    pub _pad: u32,
}
