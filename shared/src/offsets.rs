//! Kernel structure offsets and tracepoint field offsets, resolved by userspace at start-up (from
//! BTF and tracefs) and written into the probes' read-only globals before load. aya has no CO-RE
//! relocations for Rust programs, so nothing here may be hard-coded for one kernel.

/// Namespaces reached through `task->nsproxy`, in the order of [`Offsets::nsproxy_ns`]:
/// uts, ipc, mnt, pid_for_children, net, time, time_for_children, cgroup.
pub const NS_SLOTS: usize = 8;

/// Byte offsets of the kernel structure members the probes read. A value of
/// [`Offsets::ABSENT`] marks a member this kernel does not have (e.g. `loginuid` without audit).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Offsets {
    pub task_real_parent: u32,
    pub task_tgid: u32,
    pub task_exit_code: u32,
    pub task_cred: u32,
    pub task_nsproxy: u32,
    pub task_thread_pid: u32,
    pub task_mm: u32,
    pub task_fs: u32,
    pub task_loginuid: u32,
    pub task_signal: u32,
    pub signal_live: u32,
    pub mm_arg_start: u32,
    pub mm_arg_end: u32,
    pub fs_pwd: u32,
    pub fs_root: u32,
    pub path_mnt: u32,
    pub path_dentry: u32,
    pub dentry_d_parent: u32,
    pub dentry_d_name: u32,
    pub qstr_name: u32,
    pub vfsmount_mnt_root: u32,
    pub mount_mnt: u32,
    pub mount_mnt_parent: u32,
    pub mount_mnt_mountpoint: u32,
    pub cred_euid: u32,
    /// `cred.uid`, the first of its eight ids (uid, gid, suid, sgid, euid, egid, fsuid, fsgid),
    /// and `cred.securebits`: a `cred` kprobe argument.
    pub cred_uid: u32,
    pub cred_securebits: u32,
    /// `struct sock` (its `sock_common` first): a `sock` kprobe argument.
    pub sock_family: u32,
    pub sock_state: u32,
    pub sock_daddr: u32,
    pub sock_saddr: u32,
    pub sock_dport: u32,
    pub sock_sport: u32,
    pub sock_v6_daddr: u32,
    pub sock_v6_saddr: u32,
    pub sock_protocol: u32,
    pub sock_type: u32,
    /// `socket.sk`: a `socket` kprobe argument's sock; `file.f_inode`, `inode.i_mode` and
    /// `file.private_data`: the socket of a socket fd.
    pub socket_sk: u32,
    pub file_f_inode: u32,
    pub inode_i_mode: u32,
    /// `dentry.d_inode`: the file mode of a path argument (FileType).
    pub dentry_d_inode: u32,
    pub file_private_data: u32,
    pub cred_user_ns: u32,
    pub user_ns_ns: u32,
    pub ns_common_inum: u32,
    pub pid_level: u32,
    pub pid_numbers: u32,
    pub upid_ns: u32,
    pub upid_size: u32,
    pub pid_ns_ns: u32,
    pub upid_nr: u32,
    pub task_files: u32,
    pub files_fdt: u32,
    pub fdtable_fd: u32,
    pub fdtable_max_fds: u32,
    pub file_f_path: u32,
    pub mm_exe_file: u32,
    /// `linux_binprm.file` and `kiocb.ki_filp`: the files of those kprobe arguments.
    pub binprm_file: u32,
    pub kiocb_filp: u32,
    /// `task_struct.thread_info.status` (x86: `TS_COMPAT` marks a compat syscall); `ABSENT`
    /// on architectures whose compat syscalls the probes do not tell apart.
    pub task_ti_status: u32,
    /// `cred.cap_effective`, `cap_inheritable`, `cap_permitted` (capability selector sets).
    pub cred_caps: [u32; 3],
    /// Offsets of the namespace pointers inside `struct nsproxy` (see [`NS_SLOTS`]).
    pub nsproxy_ns: [u32; NS_SLOTS],
    /// Offset of the `struct ns_common ns` member inside each of those namespace structs.
    pub ns_struct_ns: [u32; NS_SLOTS],
}

impl Offsets {
    pub const ABSENT: u32 = u32::MAX;
}

/// Field offsets inside the tracepoint records, from `events/*/*/format` in tracefs.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TracepointFields {
    /// `sched_process_exec`: the `__data_loc char[] filename` word.
    pub exec_filename: u32,
    /// `sched_process_exec`: `pid_t old_pid`, the tid that called exec.
    pub exec_old_pid: u32,
    /// `task_newtask`: `pid_t pid` of the new task.
    pub newtask_pid: u32,
    /// `task_newtask`: `u64 clone_flags`.
    pub newtask_clone_flags: u32,
}

#[cfg(feature = "user")]
unsafe impl aya::Pod for Offsets {}
#[cfg(feature = "user")]
unsafe impl aya::Pod for TracepointFields {}
