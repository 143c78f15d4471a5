//! A file call as the probes saw it at its exit (`FileRecord`), and what it did to which path.
use tetrascope_shared::{
    files::{FILE_NAME_LEN, FILE_PATH_LEN, FileRecord, op, path_kind},
    path_status,
};

use crate::event::access;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileOp {
    Open,
    Truncate,
    Unlink,
    RenameFrom,
    RenameTo,
}

/// The path the kernel resolved for a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// The file the call opened (through every symlink and mount).
    File(String),
    /// The directory a relative name is relative to.
    Base(String),
    /// Nothing: an absolute name that was not opened, or a walk that failed.
    Nothing,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FileAccess {
    pub ktime: u64,
    pub pid: u32,
    pub tid: u32,
    /// Syscall number in the native ABI.
    pub syscall: u32,
    pub op: FileOp,
    /// The name argument as given (cut at `FILE_NAME_LEN - 1` bytes, then `name_truncated`).
    pub name: String,
    pub name_truncated: bool,
    pub open_flags: u64,
    /// An fd, 0 or -errno.
    pub ret: i64,
    pub resolved: Resolved,
}

impl FileAccess {
    /// Decodes a record: only its used part crossed the ring, the rest reads as zeroes.
    pub(super) fn decode(bytes: &[u8]) -> Option<Self> {
        let record: FileRecord = super::records::read_trimmed(bytes, FileRecord::HEAD_LEN)?;
        let name = &record.name[..(record.name_len as usize).min(FILE_NAME_LEN)];
        let path = &record.path[..(record.path_len as usize).min(FILE_PATH_LEN)];
        let path = String::from_utf8_lossy(path);
        let path = match record.path_status {
            path_status::TRUNCATED => format!("…{path}"),
            _ => path.into_owned(),
        };
        let resolved = match (record.path_kind, record.path_status) {
            (_, path_status::ERROR) => Resolved::Nothing,
            (path_kind::FILE, _) => Resolved::File(path),
            (path_kind::BASE, _) => Resolved::Base(path),
            _ => Resolved::Nothing,
        };
        Some(Self {
            ktime: record.header.ktime,
            pid: record.pid,
            tid: record.tid,
            syscall: record.syscall,
            op: match (record.op, record.name_index) {
                (op::TRUNCATE, _) => FileOp::Truncate,
                (op::UNLINK, _) => FileOp::Unlink,
                (op::RENAME, 0) => FileOp::RenameFrom,
                (op::RENAME, _) => FileOp::RenameTo,
                _ => FileOp::Open,
            },
            name: String::from_utf8_lossy(name).into_owned(),
            name_truncated: record.name_truncated != 0,
            open_flags: record.open_flags,
            ret: record.ret,
            resolved,
        })
    }

    /// The fd a successful open installed.
    pub fn opened_fd(&self) -> Option<i64> {
        (self.op == FileOp::Open && self.ret >= 0).then_some(self.ret)
    }

    /// The absolute path: the opened file's, else the name made absolute against its base and
    /// cleaned of `.` and `..` (by name: a `..` after a symlink may mean another directory).
    pub fn path(&self) -> String {
        match &self.resolved {
            Resolved::File(path) => path.clone(),
            Resolved::Base(base) => clean(&format!("{base}/{}", self.name)),
            Resolved::Nothing if self.name.starts_with('/') => clean(&self.name),
            Resolved::Nothing => self.name.clone(),
        }
    }

    /// What the call did to the file, as `access` names.
    pub fn access(&self) -> Vec<&'static str> {
        match self.op {
            FileOp::Truncate => vec![access::TRUNCATE],
            FileOp::Unlink => vec![access::UNLINK],
            FileOp::RenameFrom => vec![access::RENAME_FROM],
            FileOp::RenameTo => vec![access::RENAME_TO],
            FileOp::Open => {
                let flags = self.open_flags as i32;
                let mut kinds = match flags & libc::O_ACCMODE {
                    libc::O_WRONLY => vec![access::WRITE],
                    libc::O_RDWR => vec![access::READ, access::WRITE],
                    _ => vec![access::READ],
                };
                if flags & libc::O_CREAT != 0 {
                    kinds.push(access::CREATE);
                }
                if flags & libc::O_TRUNC != 0 {
                    kinds.push(access::TRUNCATE);
                }
                kinds
            }
        }
    }
}

/// `/a/./b/../c` → `/a/c`; a relative path stays relative.
fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    if path.starts_with('/') {
        format!("/{joined}")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(name: &str, resolved: Resolved, open_flags: i32, ret: i64) -> FileAccess {
        FileAccess {
            ktime: 1,
            pid: 2,
            tid: 2,
            syscall: 257,
            op: FileOp::Open,
            name: name.into(),
            name_truncated: false,
            open_flags: open_flags as u64,
            ret,
            resolved,
        }
    }

    #[test]
    fn paths_resolved_or_made_absolute() {
        let opened = access("x", Resolved::File("/proc/1/status".into()), 0, 3);
        assert_eq!(opened.path(), "/proc/1/status");
        assert_eq!(opened.opened_fd(), Some(3));
        let failed = access("../c/./x", Resolved::Base("/a/b".into()), 0, -2);
        assert_eq!(failed.path(), "/a/c/x");
        assert_eq!(failed.opened_fd(), None);
        let root = access("x", Resolved::Base("/".into()), 0, -2);
        assert_eq!(root.path(), "/x");
        let absolute = access("/etc//x", Resolved::Nothing, 0, -13);
        assert_eq!(absolute.path(), "/etc/x");
    }

    #[test]
    fn access_from_open_flags_and_operations() {
        let flags = libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC;
        assert_eq!(
            access("x", Resolved::Nothing, flags, 3).access(),
            [
                access::READ,
                access::WRITE,
                access::CREATE,
                access::TRUNCATE
            ]
        );
        assert_eq!(
            access("x", Resolved::Nothing, libc::O_WRONLY, 3).access(),
            [access::WRITE]
        );
        let unlink = FileAccess {
            op: FileOp::Unlink,
            ..access("x", Resolved::Nothing, 0, 0)
        };
        assert_eq!(unlink.access(), [access::UNLINK]);
    }

    #[test]
    fn decodes_a_short_record() {
        // SAFETY: plain data, valid when zeroed.
        let mut record: FileRecord = unsafe { std::mem::zeroed() };
        record.pid = 7;
        record.op = op::RENAME;
        record.name_index = 1;
        record.name_len = 3;
        record.name[..3].copy_from_slice(b"new");
        record.path_kind = path_kind::BASE;
        record.path_len = 4;
        record.path[..4].copy_from_slice(b"/tmp");
        // SAFETY: viewing plain data as bytes.
        let bytes = unsafe {
            std::slice::from_raw_parts((&raw const record).cast::<u8>(), FileRecord::HEAD_LEN + 4)
        };
        let decoded = FileAccess::decode(bytes).unwrap();
        assert_eq!(decoded.op, FileOp::RenameTo);
        assert_eq!(decoded.path(), "/tmp/new");
        assert!(FileAccess::decode(&bytes[..10]).is_none());
    }
}
