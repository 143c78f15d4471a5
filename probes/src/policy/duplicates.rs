//! Followed fds stay followed through `dup`, `dup2`, `dup3` and `fcntl(F_DUPFD)`: a shell's
//! `read x < FILE` opens FILE, moves it to fd 0 and closes the original. Tetragon's FollowFD
//! loses the file there; tetrascope carries it over (and forgets an fd that dup2 replaced).
use aya_ebpf::{
    helpers::bpf_get_current_pid_tgid,
    macros::{map, tracepoint},
    maps::LruHashMap,
    programs::TracePointContext,
};
use tetrascope_shared::policy::FdKey;

use super::{
    FOLLOWED,
    sites::{SYSCALL_ARGS, field},
};

const F_DUPFD: u64 = 0;
const F_DUPFD_CLOEXEC: u64 = 1030;

/// The fd being duplicated, by pid_tgid, from entry to exit.
#[map]
static DUPLICATING: LruHashMap<u64, u32> = LruHashMap::with_max_entries(4096, 0);

#[tracepoint]
pub fn policy_dup_enter(ctx: TracePointContext) -> u32 {
    remember(&ctx);
    0
}

#[tracepoint]
pub fn policy_fcntl_enter(ctx: TracePointContext) -> u32 {
    let command = field::<u64>(&ctx, SYSCALL_ARGS + 8);
    if command == F_DUPFD || command == F_DUPFD_CLOEXEC {
        remember(&ctx);
    }
    0
}

#[inline(always)]
fn remember(ctx: &TracePointContext) {
    let old = field::<u64>(ctx, SYSCALL_ARGS);
    let _ = DUPLICATING.insert(bpf_get_current_pid_tgid(), old as u32, 0);
}

#[tracepoint]
pub fn policy_dup_exit(ctx: TracePointContext) -> u32 {
    let ret = field::<i64>(&ctx, SYSCALL_ARGS);
    let pid_tgid = bpf_get_current_pid_tgid();
    let Some(old) = (unsafe { DUPLICATING.get(pid_tgid) }).copied() else {
        return 0;
    };
    let _ = DUPLICATING.remove(pid_tgid);
    if ret < 0 || ret as u32 == old {
        return 0;
    }
    let tgid = (pid_tgid >> 32) as u32;
    let new = FdKey {
        tgid,
        fd: ret as u32,
    };
    let from = FdKey { tgid, fd: old };
    match unsafe { FOLLOWED.get(&from) } {
        Some(path) => {
            let _ = FOLLOWED.insert(&new, path, 0);
        }
        None => {
            // dup2 onto a followed fd replaced its file.
            let _ = FOLLOWED.remove(&new);
        }
    }
    0
}
