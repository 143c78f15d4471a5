//! A process image as the sensor knows it: from an exec record or from the /proc walk.
use tetrascope_shared::NS_RECORD_SLOTS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessOrigin {
    /// Seen exec'ing by the probes.
    Exec,
    /// Already running at start-up, read from /proc (Tetragon's `procFS` flag).
    ProcFs,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProcessImage {
    /// Boot-clock nanoseconds of the exec (or the process start, for /proc): part of the exec_id.
    pub ktime: u64,
    pub pid: u32,
    pub ppid: u32,
    /// Effective uid.
    pub uid: u32,
    /// Audit login uid; `u32::MAX` when unset.
    pub auid: u32,
    /// The pid in the process's own pid namespace (its container's view), 0 when unknown.
    pub ns_pid: u32,
    /// The program as exec spelled it (may be relative to `cwd`).
    pub binary: String,
    /// argv without argv[0].
    pub args: Vec<String>,
    /// None when the working directory could not be read.
    pub cwd: Option<String>,
    pub origin: ProcessOrigin,
    /// `tetrascope_shared::exec_flags` bits (truncated or unreadable parts).
    pub error_flags: u32,
    /// Namespace inode numbers in `ExecRecord::ns` order, 0 where unknown.
    pub ns: [u32; NS_RECORD_SLOTS],
    /// The cgroup v2 id (directory inode) of the process, 0 where unknown.
    pub cgroup_id: u64,
    /// The process's `docker` field (its container's id, shortened), filled in by a source
    /// that maps containers; empty otherwise.
    pub docker: String,
}
