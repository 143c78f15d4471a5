//! The site of `uprobes:` hooks: one program attached at every uprobe location; the attach
//! cookie names the location's slot in `UPROBE_SITES`, and the hooks read the argument
//! registers (x86_64: rdi, rsi, rdx, rcx, r8, r9).
use aya_ebpf::{
    EbpfContext, helpers::generated::bpf_get_attach_cookie, macros::uprobe, programs::ProbeContext,
};
use tetrascope_shared::policy::site;

use super::{evaluate::Call, sites::run};

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
