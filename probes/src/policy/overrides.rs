//! `Override` on kernels without `bpf_override_return`, fmod_ret or BPF LSM: a hook at a
//! syscall's entry asks for it (`request`), and a cgroup program that runs inside the syscall
//! (connect, bind, socket creation; attached at the root of the cgroup v2 tree) fails the call
//! with the policy's error. The syscall's exit removes a request no cgroup program took (a
//! connect of a Unix socket passes no inet hook), so that it never fails a later call.
use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, generated::bpf_set_retval},
    macros::{cgroup_sock, cgroup_sock_addr, map, tracepoint},
    maps::LruHashMap,
    programs::{SockAddrContext, SockContext, TracePointContext},
};
use tetrascope_shared::policy::Override;

use super::EVAL;

/// Overrides decided at a syscall's entry, by pid_tgid.
#[map]
static OVERRIDES: LruHashMap<u64, Override> = LruHashMap::with_max_entries(8192, 0);

/// Asks that the current thread's syscall (the one being evaluated) fail with `error`.
#[inline(always)]
pub(super) fn request(error: i32) {
    let syscall = EVAL.get(0).map_or(0, |eval| eval.call.syscall);
    let _ = OVERRIDES.insert(&bpf_get_current_pid_tgid(), &Override { error, syscall }, 0);
}

/// 1 lets the call go on; 0 fails it, with the requested error.
#[inline(always)]
fn verdict() -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let Some(request) = (unsafe { OVERRIDES.get(&pid_tgid) }).copied() else {
        return 1;
    };
    let _ = OVERRIDES.remove(&pid_tgid);
    // A cgroup program can only fail a call; a non-negative argError fails it with EPERM.
    if request.error < 0 {
        unsafe { bpf_set_retval(request.error) };
    }
    0
}

#[cgroup_sock_addr(connect4)]
pub fn policy_override_connect4(_ctx: SockAddrContext) -> i32 {
    verdict()
}

#[cgroup_sock_addr(connect6)]
pub fn policy_override_connect6(_ctx: SockAddrContext) -> i32 {
    verdict()
}

#[cgroup_sock_addr(bind4)]
pub fn policy_override_bind4(_ctx: SockAddrContext) -> i32 {
    verdict()
}

#[cgroup_sock_addr(bind6)]
pub fn policy_override_bind6(_ctx: SockAddrContext) -> i32 {
    verdict()
}

#[cgroup_sock(sock_create)]
pub fn policy_override_socket(_ctx: SockContext) -> i32 {
    verdict()
}

/// At the exit of a syscall whose entry may have asked for an override.
#[tracepoint]
pub fn policy_override_exit(_ctx: TracePointContext) -> u32 {
    let _ = OVERRIDES.remove(&bpf_get_current_pid_tgid());
    0
}
