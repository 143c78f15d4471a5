//! The places hooks fire from: syscall entries and exits (syscall tracepoints stand in for
//! kprobes on `sys_*` functions) and the open family's exit (standing in for `fd_install`).
use core::ffi::c_void;

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, generated::bpf_loop},
    macros::tracepoint,
    programs::TracePointContext,
};
use tetrascope_shared::policy::{HOOKS_PER_SITE, HookList, PendingCall, site};

use super::{
    ENTER_HOOKS, EVAL, EXIT_HOOKS, OPEN_HOOKS, PENDING, PROBE_SITES, TRACEPOINT_SITES,
    evaluate::{Call, evaluate},
};

pub(super) use crate::syscall_record::{SYSCALL_ARGS, field};
use crate::syscall_record::{SYSCALL_NR, read_arguments};

#[tracepoint]
pub fn policy_sys_enter(ctx: TracePointContext) -> u32 {
    let syscall = field::<i32>(&ctx, SYSCALL_NR) as u32;
    let Some(call) = new_call(syscall) else {
        return 0;
    };
    let args = unsafe { &mut *(call.raw.as_mut_ptr() as *mut [u64; 6]) };
    read_arguments(&ctx, args);
    if EXIT_HOOKS.get(syscall).is_some_and(|hooks| hooks.count > 0) {
        let pending = PendingCall {
            syscall,
            _pad: 0,
            raw: *args,
        };
        let _ = PENDING.insert(bpf_get_current_pid_tgid(), pending, 0);
    }
    run(site::SYSCALL_ENTER, syscall);
    0
}

#[tracepoint]
pub fn policy_sys_exit(ctx: TracePointContext) -> u32 {
    let syscall = field::<i32>(&ctx, SYSCALL_NR) as u32;
    let ret = field::<i64>(&ctx, SYSCALL_ARGS);
    let pid_tgid = bpf_get_current_pid_tgid();
    // Read in place (a copy on the stack would cost the evaluation's callees their room).
    let Some(pending) = (unsafe { PENDING.get(pid_tgid) }) else {
        return 0;
    };
    let matched = pending.syscall == syscall;
    let call = new_call(syscall);
    if let (true, Some(call)) = (matched, call) {
        call.raw[..6].copy_from_slice(&pending.raw);
        call.ret = ret;
    }
    let _ = PENDING.remove(pid_tgid);
    if matched {
        run(site::SYSCALL_EXIT, syscall);
    }
    0
}

/// Exit of open, openat, openat2 and creat: a new fd whose file the hooks see as `fd_install`'s
/// arguments (0: the fd, 1: the file).
#[tracepoint]
pub fn policy_open_exit(ctx: TracePointContext) -> u32 {
    let syscall = field::<i32>(&ctx, SYSCALL_NR) as u32;
    let ret = field::<i64>(&ctx, SYSCALL_ARGS);
    if ret < 0 {
        return 0;
    }
    let Some(call) = new_call(syscall) else {
        return 0;
    };
    call.raw[0] = ret as u64;
    call.raw[1] = ret as u64;
    call.ret = ret;
    run(site::FD_INSTALL, 0);
    0
}

/// The call a site is about to evaluate, zeroed but for its syscall number (or tracepoint id,
/// probe slot), in per-CPU memory: on the stack it would take 80 of the 512 bytes that the
/// site, the `bpf_loop` callbacks and their callees share.
#[inline(always)]
pub(super) fn new_call(syscall: u32) -> Option<&'static mut Call> {
    let eval = EVAL.get_ptr_mut(0)?;
    let call = unsafe { &mut (*eval).call };
    call.raw = [0; 8];
    call.ret = 0;
    call.syscall = syscall;
    call._pad = 0;
    Some(call)
}

/// Evaluates the hooks listed under `index` (a syscall number, tracepoint id or probe slot) of
/// a site kind (`site::*`) on the call [`new_call`] gave.
#[inline(always)]
pub(super) fn run(site: u32, index: u32) {
    let Some(hooks) = site_hooks(site, index) else {
        return;
    };
    if hooks.count == 0 {
        return;
    }
    let Some(eval) = EVAL.get_ptr_mut(0) else {
        return;
    };
    unsafe {
        (*eval).site = site;
        (*eval).site_index = index;
    }
    let count = (hooks.count as usize).min(HOOKS_PER_SITE) as u32;
    unsafe { bpf_loop(count, evaluate_nth as *mut c_void, core::ptr::null_mut(), 0) };
}

#[inline(always)]
fn site_hooks(site: u32, index: u32) -> Option<&'static HookList> {
    match site {
        site::SYSCALL_ENTER => ENTER_HOOKS.get(index),
        site::SYSCALL_EXIT => EXIT_HOOKS.get(index),
        site::TRACEPOINT => unsafe { TRACEPOINT_SITES.get(&index) }.map(|site| &site.hooks),
        site::PROBE => PROBE_SITES.get(index),
        _ => OPEN_HOOKS.get(index),
    }
}

/// One `bpf_loop` round: verified once, however many hooks a site has (kernel.md pitfall 2 on
/// the callback's linkage).
#[inline(never)]
extern "C" fn evaluate_nth(index: u64, _: *mut c_void) -> i64 {
    let Some(eval) = EVAL.get(0) else {
        return 1;
    };
    let Some(hooks) = site_hooks(eval.site, eval.site_index) else {
        return 1;
    };
    evaluate(hooks.ids[(index as usize) % HOOKS_PER_SITE]);
    0
}
