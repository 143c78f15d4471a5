//! Reads of kernel structures at offsets resolved from BTF by userspace (see `Offsets`).
use aya_ebpf::helpers::bpf_probe_read_kernel;
use tetrascope_shared::{NS_RECORD_SLOTS, NS_SLOTS, Offsets, TracepointFields};

/// Filled by the loader with `EbpfLoader::override_global` before the programs load; it lands in
/// `.rodata`, so the verifier sees the offsets as constants.
#[unsafe(no_mangle)]
pub static OFFSETS: Offsets = unsafe { core::mem::zeroed() };

#[unsafe(no_mangle)]
pub static TP_FIELDS: TracepointFields = unsafe { core::mem::zeroed() };

/// An offset from `OFFSETS`. The volatile read keeps rustc from folding the zero initialiser.
macro_rules! off {
    ($($field:tt)+) => {{
        #[allow(unused_unsafe)]
        let value = unsafe { core::ptr::read_volatile(&raw const $crate::kernel::OFFSETS.$($field)+) };
        value as usize
    }};
}
pub(crate) use off;

macro_rules! tp_field {
    ($field:ident) => {{
        #[allow(unused_unsafe)]
        let value =
            unsafe { core::ptr::read_volatile(&raw const $crate::kernel::TP_FIELDS.$field) };
        value as usize
    }};
}
pub(crate) use tp_field;

const ABSENT: usize = Offsets::ABSENT as usize;

#[inline(always)]
pub fn kread<T>(base: usize, offset: usize) -> Result<T, i32> {
    unsafe { bpf_probe_read_kernel((base + offset) as *const T) }
}

/// Whether the task is in a compat (32-bit) syscall: x86's `TS_COMPAT` in
/// `thread_info.status` (false where the offset is absent).
#[inline(always)]
pub fn in_compat_syscall(task: usize) -> bool {
    const TS_COMPAT: u32 = 0x0002;
    let offset = off!(task_ti_status);
    offset != ABSENT && kread::<u32>(task, offset).is_ok_and(|status| status & TS_COMPAT != 0)
}

/// `task->real_parent->tgid`
#[inline(always)]
pub fn parent_tgid(task: usize) -> Result<u32, i32> {
    let parent: usize = kread(task, off!(task_real_parent))?;
    kread(parent, off!(task_tgid))
}

/// `task->cred->euid`
#[inline(always)]
pub fn euid(task: usize) -> Result<u32, i32> {
    let cred: usize = kread(task, off!(task_cred))?;
    kread(cred, off!(cred_euid))
}

/// `task->loginuid`, or unset when the kernel has no audit.
#[inline(always)]
pub fn loginuid(task: usize) -> u32 {
    let offset = off!(task_loginuid);
    if offset == ABSENT {
        return u32::MAX;
    }
    kread(task, offset).unwrap_or(u32::MAX)
}

/// True when the last thread of the task's group is exiting (`signal->live` reached 0).
#[inline(always)]
pub fn group_dead(task: usize) -> Result<bool, i32> {
    let signal: usize = kread(task, off!(task_signal))?;
    let live: i32 = kread(signal, off!(signal_live))?;
    Ok(live == 0)
}

/// Namespace inode numbers: the nsproxy ones, then the active pid namespace and the user one.
#[inline(always)]
pub fn namespaces(task: usize, out: &mut [u32; NS_RECORD_SLOTS]) {
    let inum = off!(ns_common_inum);
    let nsproxy: usize = kread(task, off!(task_nsproxy)).unwrap_or(0);
    for slot in 0..NS_SLOTS {
        out[slot] = 0;
        let ptr_offset = off!(nsproxy_ns[slot]);
        if nsproxy == 0 || ptr_offset == ABSENT {
            continue;
        }
        if let Ok(ns) = kread::<usize>(nsproxy, ptr_offset) {
            if ns != 0 {
                out[slot] = kread(ns, off!(ns_struct_ns[slot]) + inum).unwrap_or(0);
            }
        }
    }
    out[NS_SLOTS] = active_pid_ns(task, inum).unwrap_or(0);
    out[NS_SLOTS + 1] = user_ns(task, inum).unwrap_or(0);
}

/// `task_active_pid_ns(task)->ns.inum`
#[inline(always)]
fn active_pid_ns(task: usize, inum: usize) -> Result<u32, i32> {
    let pid: usize = kread(task, off!(task_thread_pid))?;
    let level: u32 = kread(pid, off!(pid_level))?;
    let upid = pid + off!(pid_numbers) + (level as usize & 0x3f) * off!(upid_size);
    let ns: usize = kread(upid, off!(upid_ns))?;
    kread(ns, off!(pid_ns_ns) + inum)
}

/// `task->cred->user_ns->ns.inum`
#[inline(always)]
fn user_ns(task: usize, inum: usize) -> Result<u32, i32> {
    let cred: usize = kread(task, off!(task_cred))?;
    let ns: usize = kread(cred, off!(cred_user_ns))?;
    kread(ns, off!(user_ns_ns) + inum)
}

/// The pid of the task in its own (active) pid namespace: `thread_pid->numbers[level].nr`.
#[inline(always)]
pub fn namespace_pid(task: usize) -> Result<u32, i32> {
    let pid: usize = kread(task, off!(task_thread_pid))?;
    let level: u32 = kread(pid, off!(pid_level))?;
    let upid = pid + off!(pid_numbers) + (level as usize & 0x3f) * off!(upid_size);
    kread(upid, off!(upid_nr))
}

/// The inode number of one namespace of the task, in `ExecRecord::ns` slot order.
#[inline(always)]
pub fn namespace_inum(task: usize, slot: usize) -> Result<u32, i32> {
    let inum = off!(ns_common_inum);
    if slot == NS_SLOTS {
        return active_pid_ns(task, inum);
    }
    if slot == NS_SLOTS + 1 {
        return user_ns(task, inum);
    }
    let slot = slot & (NS_SLOTS - 1);
    let ptr_offset = off!(nsproxy_ns[slot]);
    if ptr_offset == ABSENT {
        return Err(-1);
    }
    let nsproxy: usize = kread(task, off!(task_nsproxy))?;
    let ns: usize = kread(nsproxy, ptr_offset)?;
    kread(ns, off!(ns_struct_ns[slot]) + inum)
}

/// One of the task's capability sets (0 effective, 1 inheritable, 2 permitted) as a bit mask.
#[inline(always)]
pub fn capabilities(task: usize, set: usize) -> Result<u64, i32> {
    let cred: usize = kread(task, off!(task_cred))?;
    let offset = match set {
        1 => off!(cred_caps[1]),
        2 => off!(cred_caps[2]),
        _ => off!(cred_caps[0]),
    };
    kread(cred, offset)
}

/// The `struct file *` installed at `fd` in the task's fd table (0 when none).
#[inline(always)]
pub fn fd_file(task: usize, fd: u64) -> Result<usize, i32> {
    let files: usize = kread(task, off!(task_files))?;
    let fdt: usize = kread(files, off!(files_fdt))?;
    let max_fds: u32 = kread(fdt, off!(fdtable_max_fds))?;
    if fd >= max_fds as u64 {
        return Ok(0);
    }
    let fd_array: usize = kread(fdt, off!(fdtable_fd))?;
    kread(fd_array, (fd as usize) * 8)
}

/// `&task->fs->root`, the `struct path` paths are resolved against.
#[inline(always)]
pub fn fs_root(task: usize) -> Result<usize, i32> {
    let fs: usize = kread(task, off!(task_fs))?;
    if fs == 0 {
        return Err(-1);
    }
    Ok(fs + off!(fs_root))
}
