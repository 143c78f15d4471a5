//! What selectors need to know of each process, kept from exec to exit: the binary (for
//! matchBinaries) and the pids at exec (for matchPIDs with followForks, which forks inherit).
use core::ffi::c_void;

use aya_ebpf::{
    helpers::{
        bpf_get_current_pid_tgid, bpf_get_current_task,
        generated::{bpf_loop, bpf_probe_read_kernel},
    },
    macros::tracepoint,
    programs::TracePointContext,
};
use tetrascope_shared::{
    NS_RECORD_SLOTS, NS_SLOTS,
    policy::{MATCH_LEN, ProcessInfo},
};

use super::{FOLLOW_BINARIES, FOLLOW_LIVE, PATH_SCRATCH, PROC_SCRATCH, PROCS, following, strings};
use crate::{
    kernel::{self, kread, off, tp_field},
    path,
};

#[tracepoint]
pub fn policy_exec(_ctx: TracePointContext) -> u32 {
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    let task = unsafe { bpf_get_current_task() } as usize;
    let (Some(info), Some(binary)) = (PROC_SCRATCH.get_ptr_mut(0), PATH_SCRATCH.get_ptr_mut(0))
    else {
        return 0;
    };
    let exe = (|| -> Result<usize, i32> {
        let mm: usize = kread(task, off!(task_mm))?;
        kread(mm, off!(mm_exe_file))
    })();
    let (Ok(exe), Ok(root)) = (exe, kernel::fs_root(task)) else {
        return 0;
    };
    path::resolve_forwards(exe + off!(file_f_path), root, binary);
    unsafe {
        let len = (*binary).len as usize;
        (*info).exec_pid = tgid;
        (*info).exec_ns_pid = kernel::namespace_pid(task).unwrap_or(tgid);
        (*info).binary_len = len as u32;
        baseline(task, info, true, true);
        // followChildren marks survive the exec.
        (*info).follow = PROCS.get(tgid).map_or(0, |p| p.follow) & live_follow_bits();
        (*info).binary = [0; MATCH_LEN];
        let start = (*binary).start as usize;
        let bytes = (&raw const (*binary).bytes) as *const u8;
        bpf_probe_read_kernel(
            (&raw mut (*info).binary) as *mut c_void,
            len.min(MATCH_LEN) as u32,
            strings::forward(binary) as *const c_void,
        );
        strings::reverse_tail(bytes, start, len, (&raw mut (*info).binary_tail) as *mut u8);
        let _ = PROCS.insert(tgid, &*info, 0);
    }
    0
}

/// A new process (not a thread) starts as its parent: same binary, same exec-time pids, same
/// followChildren marks, plus those of the parent's binary. Its namespaces and capabilities are
/// recorded as the fork gives them (the parent's now, as Tetragon records them at fork); those
/// the clone makes new are unknown.
#[tracepoint]
pub fn policy_fork(ctx: TracePointContext) -> u32 {
    let clone_flags = unsafe { ctx.read_at::<u64>(tp_field!(newtask_clone_flags)) }.unwrap_or(0);
    if clone_flags & crate::lifecycle::CLONE_THREAD != 0 {
        return 0;
    }
    let parent = (bpf_get_current_pid_tgid() >> 32) as u32;
    let child = unsafe { ctx.read_at::<i32>(tp_field!(newtask_pid)) }.unwrap_or(0) as u32;
    if let Some(info) = unsafe { PROCS.get(parent) } {
        let _ = PROCS.insert(child, info, 0);
        if let Some(entry) = PROCS.get_ptr_mut(child) {
            let live = live_follow_bits();
            // Without followChildren selectors, no lookup (it hashes the whole path).
            let own = match live {
                0 => 0,
                _ => unsafe { FOLLOW_BINARIES.get(&info.binary) }.map_or(0, |bits| *bits),
            };
            unsafe { (*entry).follow = ((*entry).follow | own) & live };
            let task = unsafe { bpf_get_current_task() } as usize;
            baseline(task, entry, true, true);
            forked_namespaces(entry, clone_flags);
        }
    }
    0
}

/// The child's namespaces against the parent's: its pid namespace is the parent's for
/// children; those `clone_flags` make new are unknown (0), and so are its capabilities in a new
/// user namespace.
#[inline(always)]
fn forked_namespaces(entry: *mut ProcessInfo, clone_flags: u64) {
    const NEW: [(u64, usize, usize); 7] = [
        (0x0400_0000, 0, 0),        // CLONE_NEWUTS
        (0x0800_0000, 1, 1),        // CLONE_NEWIPC
        (0x0002_0000, 2, 2),        // CLONE_NEWNS
        (0x2000_0000, 3, NS_SLOTS), // CLONE_NEWPID: for children, and its own
        (0x4000_0000, 4, 4),        // CLONE_NEWNET
        (0x0000_0080, 5, 6),        // CLONE_NEWTIME: its own, for children
        (0x0200_0000, 7, 7),        // CLONE_NEWCGROUP
    ];
    let ns = unsafe { &mut (*entry).ns };
    ns[NS_SLOTS] = ns[3];
    for (flag, a, b) in NEW {
        if clone_flags & flag != 0 {
            ns[a] = 0;
            ns[b] = 0;
        }
    }
    // CLONE_NEWUSER
    if clone_flags & 0x1000_0000 != 0 {
        ns[NS_SLOTS + 1] = 0;
        unsafe { (*entry).caps_known = 0 };
    }
}

/// Records the task's namespaces and (or) capabilities in a process's entry: the baseline that
/// matchNamespaceChanges and matchCapabilityChanges compare with.
#[inline(always)]
fn baseline(task: usize, info: *mut ProcessInfo, namespaces: bool, caps: bool) {
    unsafe {
        if namespaces {
            kernel::namespaces(task, &mut (*info).ns);
        }
        if caps {
            for set in 0..3 {
                (*info).caps[set] = kernel::capabilities(task, set).unwrap_or(0);
            }
            (*info).caps_known = 1;
        }
    }
}

/// A new baseline for the process `tgid` (after a change was told).
#[inline(never)]
pub(super) fn record_baseline(tgid: u32, task: usize, namespaces: bool, caps: bool) {
    if namespaces {
        let mut walk = Rebase {
            task: task as u64,
            tgid,
            _pad: 0,
        };
        // One round verified for all the namespaces, in the programs that evaluate hooks.
        unsafe {
            bpf_loop(
                NS_RECORD_SLOTS as u32,
                rebase_namespace_nth as *mut c_void,
                &raw mut walk as *mut c_void,
                0,
            )
        };
    }
    if caps && let Some(entry) = PROCS.get_ptr_mut(tgid) {
        baseline(task, entry, false, true);
    }
}

#[repr(C)]
struct Rebase {
    task: u64,
    tgid: u32,
    _pad: u32,
}

/// `bpf_loop` round: records namespace `index` of the task as the process's baseline.
#[inline(never)]
extern "C" fn rebase_namespace_nth(index: u64, walk: *mut c_void) -> i64 {
    let walk = unsafe { &*(walk as *const Rebase) };
    let slot = (index as usize) & 15;
    if slot >= NS_RECORD_SLOTS {
        return 1;
    }
    let Some(entry) = PROCS.get_ptr_mut(walk.tgid) else {
        return 1;
    };
    let inum = kernel::namespace_inum(walk.task as usize, slot).unwrap_or(0);
    unsafe { (*entry).ns[slot] = inum };
    0
}

#[inline(always)]
fn live_follow_bits() -> u64 {
    FOLLOW_LIVE.get(0).copied().unwrap_or(0)
}

#[tracepoint]
pub fn policy_exit(_ctx: TracePointContext) -> u32 {
    let task = unsafe { bpf_get_current_task() } as usize;
    if kernel::group_dead(task).unwrap_or(false) {
        let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
        let _ = PROCS.remove(tgid);
        // Its fds are gone; a process that reuses the pid starts clean.
        following::mark(tgid, false);
    }
    0
}
