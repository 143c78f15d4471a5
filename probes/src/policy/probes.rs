//! The site of `uprobes:` hooks and of kprobes on kernel functions: one program attached at
//! every location (uprobes and kprobes are the same program type, both see the registers); the
//! attach cookie names the location's slot in `PROBE_SITES`, and the hooks read the argument
//! registers (x86_64: rdi, rsi, rdx, rcx, r8, r9). A return probe (`return: true`) saves the
//! registers at the function's entry and evaluates its hooks at the return, the returned value
//! in raw slot `RETURN_SLOT`.
use aya_ebpf::{
    EbpfContext,
    helpers::{bpf_get_current_pid_tgid, generated::bpf_get_attach_cookie},
    macros::{map, uprobe, uretprobe},
    maps::LruHashMap,
    programs::{ProbeContext, RetProbeContext},
};
use tetrascope_shared::policy::{ProbeCall, RETURN_SLOT, site};

use super::sites::{new_call, run};

/// The registers at the entry of a return probe's function, by thread and slot (a recursive
/// call of the same function replaces its caller's).
#[map]
static PROBE_PENDING: LruHashMap<ProbeCall, [u64; 6]> = LruHashMap::with_max_entries(8192, 0);

#[uprobe]
pub fn policy_probe(ctx: ProbeContext) -> u32 {
    let slot = unsafe { bpf_get_attach_cookie(ctx.as_ptr()) } as u32;
    let Some(call) = new_call(slot) else {
        return 0;
    };
    for (i, raw) in call.raw.iter_mut().take(6).enumerate() {
        *raw = ctx.arg::<u64>(i).unwrap_or(0);
    }
    run(site::PROBE, slot);
    0
}

/// The entry of a return probe's function: its argument registers, for the return.
#[uprobe]
pub fn policy_probe_entry(ctx: ProbeContext) -> u32 {
    let key = ProbeCall {
        pid_tgid: bpf_get_current_pid_tgid(),
        slot: unsafe { bpf_get_attach_cookie(ctx.as_ptr()) } as u32,
        _pad: 0,
    };
    let mut raw = [0u64; 6];
    for (i, value) in raw.iter_mut().enumerate() {
        *value = ctx.arg::<u64>(i).unwrap_or(0);
    }
    let _ = PROBE_PENDING.insert(&key, &raw, 0);
    0
}

/// The return of a return probe's function: its hooks see the arguments of the entry and the
/// returned value.
#[uretprobe]
pub fn policy_retprobe(ctx: RetProbeContext) -> u32 {
    let key = ProbeCall {
        pid_tgid: bpf_get_current_pid_tgid(),
        slot: unsafe { bpf_get_attach_cookie(ctx.as_ptr()) } as u32,
        _pad: 0,
    };
    // Entered before the probe was attached: the arguments are not known.
    let Some(saved) = (unsafe { PROBE_PENDING.get(&key) }).copied() else {
        return 0;
    };
    let _ = PROBE_PENDING.remove(&key);
    let ret = ctx.ret::<u64>();
    let Some(call) = new_call(key.slot) else {
        return 0;
    };
    call.ret = ret as i64;
    call.raw[..6].copy_from_slice(&saved);
    call.raw[RETURN_SLOT as usize] = ret;
    run(site::PROBE, key.slot);
    0
}
