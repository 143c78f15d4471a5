//! The site of `uprobes:` hooks: one program attached at every uprobe location; the attach
//! cookie names the location's slot in `UPROBE_SITES`, and the hooks read the argument
//! registers (x86_64: rdi, rsi, rdx, rcx, r8, r9). A return uprobe (`return: true`) saves the
//! registers at the function's entry and evaluates its hooks at the return, the returned value
//! in raw slot `RETURN_SLOT`.
use aya_ebpf::{
    EbpfContext,
    helpers::{bpf_get_current_pid_tgid, generated::bpf_get_attach_cookie},
    macros::{map, uprobe, uretprobe},
    maps::LruHashMap,
    programs::{ProbeContext, RetProbeContext},
};
use tetrascope_shared::policy::{RETURN_SLOT, UprobeCall, site};

use super::{evaluate::Call, sites::run};

/// The registers at the entry of a return uprobe's function, by thread and slot (a recursive
/// call of the same function replaces its caller's).
#[map]
static UPROBE_PENDING: LruHashMap<UprobeCall, [u64; 6]> = LruHashMap::with_max_entries(8192, 0);

#[uprobe]
pub fn policy_uprobe(ctx: ProbeContext) -> u32 {
    let slot = unsafe { bpf_get_attach_cookie(ctx.as_ptr()) } as u32;
    let mut call = Call {
        raw: [0; 8],
        ret: 0,
        syscall: slot,
        _pad: 0,
    };
    for (i, raw) in call.raw.iter_mut().take(6).enumerate() {
        *raw = ctx.arg::<u64>(i).unwrap_or(0);
    }
    run(site::UPROBE, slot, call);
    0
}

/// The entry of a return uprobe's function: its argument registers, for the return.
#[uprobe]
pub fn policy_uprobe_entry(ctx: ProbeContext) -> u32 {
    let key = UprobeCall {
        pid_tgid: bpf_get_current_pid_tgid(),
        slot: unsafe { bpf_get_attach_cookie(ctx.as_ptr()) } as u32,
        _pad: 0,
    };
    let mut raw = [0u64; 6];
    for (i, value) in raw.iter_mut().enumerate() {
        *value = ctx.arg::<u64>(i).unwrap_or(0);
    }
    let _ = UPROBE_PENDING.insert(&key, &raw, 0);
    0
}

/// The return of a return uprobe's function: its hooks see the arguments of the entry and the
/// returned value.
#[uretprobe]
pub fn policy_uretprobe(ctx: RetProbeContext) -> u32 {
    let key = UprobeCall {
        pid_tgid: bpf_get_current_pid_tgid(),
        slot: unsafe { bpf_get_attach_cookie(ctx.as_ptr()) } as u32,
        _pad: 0,
    };
    // Entered before the probe was attached: the arguments are not known.
    let Some(saved) = (unsafe { UPROBE_PENDING.get(&key) }).copied() else {
        return 0;
    };
    let _ = UPROBE_PENDING.remove(&key);
    let ret = ctx.ret::<u64>();
    let mut call = Call {
        raw: [0; 8],
        ret: ret as i64,
        syscall: key.slot,
        _pad: 0,
    };
    call.raw[..6].copy_from_slice(&saved);
    call.raw[RETURN_SLOT as usize] = ret;
    run(site::UPROBE, key.slot, call);
    0
}
