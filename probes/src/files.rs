//! File access: the open family, truncate, unlink and rename on their syscall tracepoints. The
//! entry keeps the arguments; the exit reads the names (their pages are resident by then,
//! kernel.md pitfall 4), resolves the opened file's path or, for a relative name, the directory
//! it is relative to, and sends one record per name.
use core::ffi::c_void;

use aya_ebpf::{
    helpers::{
        bpf_get_current_pid_tgid, bpf_get_current_task, bpf_probe_read_user_str_bytes,
        generated::{bpf_loop, bpf_probe_read_kernel, bpf_probe_read_user},
    },
    macros::{map, tracepoint},
    maps::{Array, LruHashMap, PerCpuArray},
    programs::TracePointContext,
};
use tetrascope_shared::{
    RING_BYTES,
    files::{
        AT_FDCWD, FILE_NAME_LEN, FILE_PATH_LEN, FileCall, FileRecord, NO_ARG, PendingFileCall,
        RECORD_FILE, flags_from, op, path_kind,
    },
    policy::{STRING_AREA, StringArg},
    syscalls::NR_PER_ABI,
};

use crate::{
    emit,
    kernel::{self, kread, off},
    path,
    syscall_record::{SYSCALL_ARGS, SYSCALL_NR, arguments, field},
};

/// tetrascope's own process: its /proc walk and its files are not the host's activity.
#[unsafe(no_mangle)]
pub static TETRASCOPE_TGID: u32 = 0;

/// How to read each syscall's file arguments, by syscall number (filled by userspace).
#[map]
static FILE_CALLS: Array<FileCall> = Array::with_max_entries(NR_PER_ABI as u32, 0);

/// Calls between entry and exit, by pid_tgid.
#[map]
static FILE_PENDING: LruHashMap<u64, PendingFileCall> = LruHashMap::with_max_entries(8192, 0);

/// Per-CPU: the call being finished, for the `bpf_loop` rounds that record its names.
#[map]
static FINISHING: PerCpuArray<Finishing> = PerCpuArray::with_max_entries(1, 0);

/// File records are left out while this much waits in the ring (a sixteenth: 1 MiB): the rest
/// of the ring is for process and policy records. A flood of opens (a loader searching a long
/// LD_LIBRARY_PATH, ~100 failed opens an exec) must not cost exec and exit events, and with the
/// backlog small a slow reader spends little time on file records.
const FILE_BACKLOG_MAX: u64 = (RING_BYTES / 16) as u64;

/// File records left out because `FILE_BACKLOG_MAX` was waiting (slot 0, per CPU).
#[map]
static FILE_DROPPED: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

/// Per-CPU scratch: the record being built and the path being resolved (too big for the stack).
#[map]
static FILE_RECORD: PerCpuArray<FileRecord> = PerCpuArray::with_max_entries(1, 0);
#[map]
static FILE_PATH: PerCpuArray<StringArg> = PerCpuArray::with_max_entries(1, 0);

#[repr(C)]
struct Finishing {
    call: PendingFileCall,
    ret: i64,
    pid_tgid: u64,
}

#[tracepoint]
pub fn file_enter(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let own = unsafe { core::ptr::read_volatile(&raw const TETRASCOPE_TGID) };
    if (pid_tgid >> 32) as u32 == own {
        return 0;
    }
    let syscall = field::<i32>(&ctx, SYSCALL_NR) as u32;
    let Some(call) = FILE_CALLS.get(syscall) else {
        return 0;
    };
    if call.op == op::NONE {
        return 0;
    }
    let names = if call.name_arg[1] != NO_ARG { 2 } else { 1 };
    // Left out already here, a flood costs no map update.
    if ring_crowded(names) {
        return 0;
    }
    let args = arguments(&ctx);
    let arg = |index: u8| args.get(index as usize).copied();
    let dirfd = |index: u8| arg(index).map_or(AT_FDCWD, |fd| fd as i32 as i64);
    let flags = match call.flags_from {
        flags_from::ARG => arg(call.flags_arg).unwrap_or(0) as u32 as u64,
        flags_from::OPEN_HOW => open_how_flags(arg(call.flags_arg).unwrap_or(0)),
        _ => 0,
    };
    let pending = PendingFileCall {
        syscall,
        op: call.op,
        names: [
            arg(call.name_arg[0]).unwrap_or(0),
            arg(call.name_arg[1]).unwrap_or(0),
        ],
        dirfds: [dirfd(call.dirfd_arg[0]), dirfd(call.dirfd_arg[1])],
        open_flags: flags | call.fixed_flags as u64,
    };
    let _ = FILE_PENDING.insert(pid_tgid, pending, 0);
    0
}

/// Whether `FILE_BACKLOG_MAX` is waiting in the ring; if so, counts the call's `names` records
/// as left out.
#[inline(always)]
fn ring_crowded(names: u64) -> bool {
    if emit::backlog() <= FILE_BACKLOG_MAX {
        return false;
    }
    if let Some(dropped) = FILE_DROPPED.get_ptr_mut(0) {
        unsafe { *dropped += names };
    }
    true
}

/// `struct open_how.flags`, its first member.
#[inline(always)]
fn open_how_flags(how: u64) -> u64 {
    let mut flags = 0u64;
    unsafe { bpf_probe_read_user((&raw mut flags) as *mut c_void, 8, how as *const c_void) };
    flags
}

#[tracepoint]
pub fn file_exit(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let Some(call) = (unsafe { FILE_PENDING.get(pid_tgid) }).copied() else {
        return 0;
    };
    let _ = FILE_PENDING.remove(pid_tgid);
    let names = if call.names[1] != 0 { 2 } else { 1 };
    if ring_crowded(names) {
        return 0;
    }
    let Some(finishing) = FINISHING.get_ptr_mut(0) else {
        return 0;
    };
    unsafe {
        (*finishing).call = call;
        (*finishing).ret = field::<i64>(&ctx, SYSCALL_ARGS);
        (*finishing).pid_tgid = pid_tgid;
    }
    unsafe {
        bpf_loop(
            names as u32,
            record_nth as *mut c_void,
            core::ptr::null_mut(),
            0,
        )
    };
    0
}

/// One `bpf_loop` round: records name `index` of the call being finished (kernel.md pitfall 2
/// on the callback's linkage).
#[inline(never)]
extern "C" fn record_nth(index: u64, _: *mut c_void) -> i64 {
    let (Some(finishing), Some(record), Some(path)) = (
        FINISHING.get(0),
        FILE_RECORD.get_ptr_mut(0),
        FILE_PATH.get_ptr_mut(0),
    ) else {
        return 1;
    };
    record_name(finishing, (index & 1) as usize, record, path);
    0
}

#[inline(always)]
fn record_name(
    finishing: &Finishing,
    index: usize,
    record: *mut FileRecord,
    scratch: *mut StringArg,
) {
    let call = &finishing.call;
    let rec = unsafe { &mut *record };
    rec.header = emit::header(RECORD_FILE);
    rec.pid = (finishing.pid_tgid >> 32) as u32;
    rec.tid = finishing.pid_tgid as u32;
    rec.syscall = call.syscall;
    rec.op = call.op;
    rec.name_index = index as u32;
    rec.open_flags = call.open_flags;
    rec.ret = finishing.ret;
    let name =
        unsafe { bpf_probe_read_user_str_bytes(call.names[index] as *const u8, &mut rec.name) };
    let name_len = name.map_or(0, |name| name.len());
    rec.name_len = name_len as u32;
    rec.name_truncated = (name_len >= FILE_NAME_LEN - 1) as u32;

    let task = unsafe { bpf_get_current_task() } as usize;
    let (kind, base) = if call.op == op::OPEN && finishing.ret >= 0 {
        (path_kind::FILE, file_path(task, finishing.ret))
    } else if name_len > 0 && rec.name[0] != b'/' {
        let dirfd = call.dirfds[index];
        let base = if dirfd == AT_FDCWD {
            cwd(task)
        } else {
            file_path(task, dirfd)
        };
        (path_kind::BASE, base)
    } else {
        (path_kind::NONE, None)
    };
    rec.path_kind = path_kind::NONE;
    rec.path_len = 0;
    rec.path_status = 0;
    if let (Some(base), Ok(root)) = (base, kernel::fs_root(task)) {
        path::resolve_forwards(base, root, scratch);
        copy_path(rec, scratch);
        rec.path_kind = kind;
    }
    emit::output_bytes(record as *const u8, FileRecord::HEAD_LEN + path_len(rec));
}

/// The record's path length, masked where the verifier sees it: read back from memory, so the
/// compiler cannot drop the mask on bounds it knows and the verifier does not.
#[inline(always)]
fn path_len(rec: &FileRecord) -> usize {
    unsafe { core::ptr::read_volatile(&rec.path_len) as usize & (FILE_PATH_LEN - 1) }
}

/// The `struct path` of the file at `fd`.
#[inline(always)]
fn file_path(task: usize, fd: i64) -> Option<usize> {
    let file = kernel::fd_file(task, fd as u64).ok()?;
    (file != 0).then(|| file + off!(file_f_path))
}

/// `&task->fs->pwd`
#[inline(always)]
fn cwd(task: usize) -> Option<usize> {
    let fs: usize = kread(task, off!(task_fs)).ok()?;
    (fs != 0).then(|| fs + off!(fs_pwd))
}

/// Moves the resolved path to the start of the record's path area.
#[inline(always)]
fn copy_path(rec: &mut FileRecord, scratch: *const StringArg) {
    let (start, len, status) = unsafe { ((*scratch).start, (*scratch).len, (*scratch).status) };
    let start = start as usize & (STRING_AREA - 1);
    rec.path_status = status;
    rec.path_len = len.min(FILE_PATH_LEN as u32 - 1);
    let len = path_len(rec);
    if len == 0 {
        return;
    }
    unsafe {
        bpf_probe_read_kernel(
            rec.path.as_mut_ptr() as *mut c_void,
            len as u32,
            ((&raw const (*scratch).bytes) as *const u8).add(start) as *const c_void,
        );
    }
}
