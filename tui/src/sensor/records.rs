//! Decoding of the probes' ring-buffer records into owned userspace values.
use std::mem::size_of;

use tetrascope_shared::{
    CloneRecord, ExecRecord, ExitRecord, PathBuf, RECORD_CLONE, RECORD_EXEC, RECORD_EXIT,
    RecordHeader, exec_flags,
    files::RECORD_FILE,
    path_status,
    policy::{HitRecord, MAX_HOOK_ARGS, RECORD_HIT, STRING_AREA},
    syscalls::{RECORD_SLOT, SlotRecord},
};

use super::file_access::FileAccess;
use super::image::{ProcessImage, ProcessOrigin};

fn policy_hit(record: &HitRecord) -> PolicyHit {
    let args = (0..MAX_HOOK_ARGS)
        .map(|i| {
            let text = record
                .strings
                .get(record.string_slot[i] as usize)
                .map(|string| {
                    let start = (string.start as usize).min(STRING_AREA);
                    let end = (start + string.len as usize).min(STRING_AREA);
                    (string.bytes[start..end].to_vec(), string.status)
                });
            (record.values[i], text)
        })
        .collect();
    PolicyHit {
        ktime: record.header.ktime,
        pid: record.pid,
        tid: record.tid,
        hook: record.hook,
        selector: record.selector,
        outcome: record.outcome,
        signal: record.signal,
        syscall: record.syscall,
        ret: record.ret,
        args,
    }
}

/// One thing the sensor saw happen, in kernel order.
#[derive(Clone, Debug, PartialEq)]
pub enum SensorRecord {
    Exec(ProcessImage),
    /// A new process (not a thread) `pid`, forked by `ppid`, at `ktime`.
    Clone {
        ktime: u64,
        pid: u32,
        ppid: u32,
    },
    /// The last thread of `pid` exited; `exit_code` as the kernel keeps it (status << 8 | signal).
    Exit {
        ktime: u64,
        pid: u32,
        exit_code: u32,
    },
    /// A policy hook's selector matched.
    Hit(PolicyHit),
    /// Process `pid` got the syscall counter slot `slot` (for its current image).
    Slot {
        ktime: u64,
        pid: u32,
        slot: u32,
    },
    /// A file call finished.
    File(FileAccess),
}

/// A policy hit, decoded from the probes' `HitRecord`.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyHit {
    pub ktime: u64,
    pub pid: u32,
    pub tid: u32,
    pub hook: u32,
    /// 1-based index of the matching selector; 0 for a hook without selectors.
    pub selector: u32,
    /// `policy::outcome` bits.
    pub outcome: u32,
    pub signal: u32,
    pub syscall: u32,
    pub ret: i64,
    /// Each argument's value, and its bytes for strings, paths (with the path status) and
    /// buffers (with the buffer's full length).
    pub args: Vec<(u64, Option<Captured>)>,
}

/// The bytes the probes captured of an argument, and its path status or full length.
pub type Captured = (Vec<u8>, u32);

#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    Short { kind: u32, len: usize },
    UnknownKind(u32),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Short { kind, len } => write!(f, "record of kind {kind} is short ({len} bytes)"),
            Self::UnknownKind(kind) => write!(f, "unknown record kind {kind}"),
        }
    }
}

/// Reads a `T` out of the record bytes (the ring buffer gives no alignment promise to Rust).
fn read<T: Copy>(bytes: &[u8], kind: u32) -> Result<T, DecodeError> {
    if bytes.len() < size_of::<T>() {
        return Err(DecodeError::Short {
            kind,
            len: bytes.len(),
        });
    }
    // SAFETY: length checked; T is a plain-data #[repr(C)] record for which every bit pattern is valid.
    Ok(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

/// Reads a record of which the probes sent only the first `head_len` bytes and the used part of
/// its tail; the rest reads as zeros. `None` when even the head is missing.
pub(super) fn read_trimmed<T: Copy>(bytes: &[u8], head_len: usize) -> Option<T> {
    if bytes.len() < head_len {
        return None;
    }
    // SAFETY: T is a plain-data #[repr(C)] record, valid when zeroed.
    let mut record: T = unsafe { std::mem::zeroed() };
    let len = bytes.len().min(size_of::<T>());
    // SAFETY: at most size_of::<T>() bytes into the record.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), (&raw mut record).cast::<u8>(), len) };
    Some(record)
}

pub fn decode(bytes: &[u8]) -> Result<SensorRecord, DecodeError> {
    let header: RecordHeader = read(bytes, 0)?;
    let short = || DecodeError::Short {
        kind: header.kind,
        len: bytes.len(),
    };
    match header.kind {
        RECORD_EXEC => read_trimmed::<ExecRecord>(bytes, ExecRecord::HEAD_LEN)
            .map(|record| SensorRecord::Exec(exec_image(&record)))
            .ok_or_else(short),
        RECORD_CLONE => {
            let r: CloneRecord = read(bytes, header.kind)?;
            Ok(SensorRecord::Clone {
                ktime: r.header.ktime,
                pid: r.pid,
                ppid: r.ppid,
            })
        }
        RECORD_EXIT => {
            let r: ExitRecord = read(bytes, header.kind)?;
            Ok(SensorRecord::Exit {
                ktime: r.header.ktime,
                pid: r.pid,
                exit_code: r.exit_code,
            })
        }
        RECORD_HIT => Ok(SensorRecord::Hit(policy_hit(&read::<HitRecord>(
            bytes,
            header.kind,
        )?))),
        RECORD_SLOT => {
            let r: SlotRecord = read(bytes, header.kind)?;
            Ok(SensorRecord::Slot {
                ktime: r.header.ktime,
                pid: r.pid,
                slot: r.slot,
            })
        }
        RECORD_FILE => FileAccess::decode(bytes)
            .map(SensorRecord::File)
            .ok_or_else(short),
        other => Err(DecodeError::UnknownKind(other)),
    }
}

fn exec_image(r: &ExecRecord) -> ProcessImage {
    let filename = lossy(&r.filename[..(r.filename_len as usize).min(r.filename.len())]);
    let args = &r.args[..(r.args_len as usize).min(r.args.len())];
    let cwd =
        (r.flags & (exec_flags::NO_CWD | exec_flags::ERROR_CWD) == 0).then(|| join_path(&r.cwd));
    let mut argv = split_argv(args);
    if !argv.is_empty() {
        argv.remove(0); // argv[0]: Tetragon's `arguments` start after it
    }
    ProcessImage {
        ktime: r.header.ktime,
        pid: r.pid,
        ppid: r.ppid,
        uid: r.euid,
        auid: r.auid,
        ns_pid: r.ns_pid,
        binary: filename,
        args: argv,
        cwd,
        origin: ProcessOrigin::Exec,
        error_flags: r.flags,
        ns: r.ns,
        cgroup_id: r.cgroup_id,
        docker: String::new(),
    }
}

/// Splits a NUL-separated argument vector; a trailing NUL ends the last one.
pub fn split_argv(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes.split(|b| *b == 0).map(lossy).collect()
}

/// Joins leaf-first, NUL-terminated components into an absolute path. A truncated walk keeps
/// the components it has, under a leading "…" marker component.
fn join_path(buf: &PathBuf) -> String {
    let used = &buf.bytes[..(buf.len as usize).min(buf.bytes.len())];
    let mut components: Vec<&[u8]> = used.split(|b| *b == 0).filter(|c| !c.is_empty()).collect();
    components.reverse();
    let mut path = String::new();
    if buf.status == path_status::TRUNCATED {
        path.push('…');
    }
    for component in components {
        path.push('/');
        path.push_str(&String::from_utf8_lossy(component));
    }
    if path.is_empty() {
        path.push('/');
    }
    path
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tetrascope_shared::{NAME_SLOT, PATH_AREA};

    fn path_buf(leaf_first: &[&str], status: u32) -> PathBuf {
        let mut buf = PathBuf {
            status,
            components: leaf_first.len() as u32,
            len: 0,
            _pad: 0,
            bytes: [0; PATH_AREA + NAME_SLOT],
        };
        for c in leaf_first {
            let at = buf.len as usize;
            buf.bytes[at..at + c.len()].copy_from_slice(c.as_bytes());
            buf.len += c.len() as u32 + 1;
        }
        buf
    }

    #[test]
    fn joins_components_leaf_first() {
        assert_eq!(join_path(&path_buf(&["b", "a", "tmp"], 0)), "/tmp/a/b");
        assert_eq!(join_path(&path_buf(&[], 0)), "/");
        assert_eq!(
            join_path(&path_buf(&["c", "b"], path_status::TRUNCATED)),
            "…/b/c"
        );
    }

    #[test]
    fn splits_argv_with_and_without_trailing_nul() {
        assert_eq!(split_argv(b"bash\0-c\0pwd -L\0"), ["bash", "-c", "pwd -L"]);
        assert_eq!(split_argv(b"bash\0-c"), ["bash", "-c"]);
        assert!(split_argv(b"").is_empty());
        assert_eq!(split_argv(b"a\0\0b\0"), ["a", "", "b"]);
    }

    #[test]
    fn short_and_unknown_records_are_errors() {
        assert_eq!(
            decode(&[1, 0, 0]),
            Err(DecodeError::Short { kind: 0, len: 3 })
        );
        let mut unknown = [0u8; 16];
        unknown[0] = 99;
        assert_eq!(decode(&unknown), Err(DecodeError::UnknownKind(99)));
    }

    #[test]
    fn decodes_an_exit_record() {
        let record = ExitRecord {
            header: RecordHeader {
                kind: RECORD_EXIT,
                cpu: 1,
                ktime: 42,
            },
            pid: 7,
            tid: 8,
            exit_code: 9,
            _pad: 0,
        };
        // SAFETY: viewing a plain #[repr(C)] value as bytes.
        let bytes = unsafe {
            std::slice::from_raw_parts(
                (&record as *const ExitRecord).cast::<u8>(),
                size_of::<ExitRecord>(),
            )
        };
        assert_eq!(
            decode(bytes),
            Ok(SensorRecord::Exit {
                ktime: 42,
                pid: 7,
                exit_code: 9
            })
        );
    }
}
