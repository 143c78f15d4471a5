//! Process lifecycle: exec, new processes and exits, from tracepoints.
use core::ffi::c_void;

use aya_ebpf::{
    EbpfContext,
    helpers::{
        bpf_get_current_pid_tgid, bpf_get_current_task, bpf_probe_read_kernel_str_bytes,
        generated::{bpf_get_current_cgroup_id, bpf_probe_read_user},
    },
    macros::{map, tracepoint},
    maps::PerCpuArray,
    programs::TracePointContext,
};
use tetrascope_shared::{
    ARGS_LEN, CloneRecord, ExecRecord, ExitRecord, NAME_SLOT, PATH_AREA, RECORD_CLONE, RECORD_EXEC,
    RECORD_EXIT, exec_flags, path_status,
};

use crate::{
    emit,
    kernel::{self, kread, off, tp_field},
    path, syscalls,
};

pub const CLONE_THREAD: u64 = 0x10000;

/// The exec record is built here (it is larger than the stack) and only its used part is copied
/// into the ring.
#[map]
static EXEC_RECORD: PerCpuArray<ExecRecord> = PerCpuArray::with_max_entries(1, 0);

const PATH_BYTES: usize = PATH_AREA + NAME_SLOT;

#[tracepoint]
pub fn sched_process_exec(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    syscalls::forget((pid_tgid >> 32) as u32);
    let Some(record) = EXEC_RECORD.get_ptr_mut(0) else {
        return 0;
    };
    let rec = unsafe { &mut *record };
    let task = unsafe { bpf_get_current_task() } as usize;
    rec.header = emit::header(RECORD_EXEC);
    rec.cgroup_id = unsafe { bpf_get_current_cgroup_id() };
    rec.pid = (pid_tgid >> 32) as u32;
    // After de_thread() the exec'ing thread is the leader; the tracepoint's old_pid is its old tid.
    rec.old_tid = unsafe { ctx.read_at::<i32>(tp_field!(exec_old_pid)) }.unwrap_or(0) as u32;
    rec.ppid = kernel::parent_tgid(task).unwrap_or(0);
    rec.euid = kernel::euid(task).unwrap_or(u32::MAX);
    rec.auid = kernel::loginuid(task);
    rec.ns_pid = kernel::namespace_pid(task).unwrap_or(0);
    rec.flags = 0;
    kernel::namespaces(task, &mut rec.ns);

    rec.filename_len = 0;
    let filename_loc = unsafe { ctx.read_at::<u32>(tp_field!(exec_filename)) }.unwrap_or(0);
    let filename = ctx.as_ptr() as usize + (filename_loc & 0xffff) as usize;
    match unsafe { bpf_probe_read_kernel_str_bytes(filename as *const u8, &mut rec.filename) } {
        Ok(name) => rec.filename_len = name.len() as u32,
        Err(_) => rec.flags |= exec_flags::ERROR_FILENAME,
    }

    read_args(task, rec);
    read_cwd(task, rec);
    emit::output_bytes(record as *const u8, ExecRecord::HEAD_LEN + cwd_len(rec));
    0
}

/// The bytes of `cwd` in use, bounded where the verifier sees it: read back from memory, so the
/// compiler cannot drop the bound on what it knows and the verifier does not.
#[inline(always)]
fn cwd_len(rec: &ExecRecord) -> usize {
    let len = unsafe { core::ptr::read_volatile(&rec.cwd.len) } as usize;
    if len > PATH_BYTES { PATH_BYTES } else { len }
}

/// Copies `mm->arg_start..arg_end` (argv, NUL-separated), truncated to `ARGS_LEN`.
#[inline(always)]
fn read_args(task: usize, rec: &mut ExecRecord) {
    rec.args_len = 0;
    let bounds = (|| -> Result<(u64, u64), i32> {
        let mm: usize = kread(task, off!(task_mm))?;
        Ok((kread(mm, off!(mm_arg_start))?, kread(mm, off!(mm_arg_end))?))
    })();
    let Ok((start, end)) = bounds else {
        rec.flags |= exec_flags::ERROR_ARGS;
        return;
    };
    let mut len = end.saturating_sub(start) as usize;
    if len > ARGS_LEN {
        len = ARGS_LEN;
        rec.flags |= exec_flags::TRUNC_ARGS;
    }
    let ret = unsafe {
        bpf_probe_read_user(
            rec.args.as_mut_ptr() as *mut c_void,
            len as u32,
            start as *const c_void,
        )
    };
    if ret < 0 {
        rec.flags |= exec_flags::ERROR_ARGS;
    } else {
        rec.args_len = len as u32;
    }
}

/// Resolves `task->fs->pwd` against `task->fs->root`.
#[inline(always)]
fn read_cwd(task: usize, rec: &mut ExecRecord) {
    let fs: usize = kread(task, off!(task_fs)).unwrap_or(0);
    if fs == 0 {
        rec.flags |= exec_flags::NO_CWD;
        rec.cwd.status = path_status::ERROR;
        rec.cwd.len = 0;
        rec.cwd.components = 0;
        return;
    }
    path::resolve(fs + off!(fs_pwd), fs + off!(fs_root), &raw mut rec.cwd);
    if rec.cwd.status == path_status::ERROR {
        rec.flags |= exec_flags::ERROR_CWD;
    }
}

#[tracepoint]
pub fn task_newtask(ctx: TracePointContext) -> u32 {
    let clone_flags = unsafe { ctx.read_at::<u64>(tp_field!(newtask_clone_flags)) }.unwrap_or(0);
    if clone_flags & CLONE_THREAD != 0 {
        return 0;
    }
    let pid = unsafe { ctx.read_at::<i32>(tp_field!(newtask_pid)) }.unwrap_or(0) as u32;
    // A pid reused before an exit was seen must not count into the old process's slot.
    syscalls::forget(pid);
    let Some(mut entry) = emit::reserve::<CloneRecord>() else {
        return 0;
    };
    let rec = unsafe { &mut *entry.as_mut_ptr() };
    rec.header = emit::header(RECORD_CLONE);
    rec.pid = pid;
    // The tracepoint runs in the parent.
    rec.ppid = (bpf_get_current_pid_tgid() >> 32) as u32;
    emit::submit(entry);
    0
}

#[tracepoint]
pub fn sched_process_exit(_ctx: TracePointContext) -> u32 {
    let task = unsafe { bpf_get_current_task() } as usize;
    if !kernel::group_dead(task).unwrap_or(true) {
        return 0;
    }
    let pid_tgid = bpf_get_current_pid_tgid();
    syscalls::forget((pid_tgid >> 32) as u32);
    let Some(mut entry) = emit::reserve::<ExitRecord>() else {
        return 0;
    };
    let rec = unsafe { &mut *entry.as_mut_ptr() };
    rec.header = emit::header(RECORD_EXIT);
    rec.pid = (pid_tgid >> 32) as u32;
    rec.tid = pid_tgid as u32;
    rec.exit_code = kread::<i32>(task, off!(task_exit_code)).unwrap_or(0) as u32;
    rec._pad = 0;
    emit::submit(entry);
    0
}
