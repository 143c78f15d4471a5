//! The site of `tracepoints:` hooks with `raw: true`: one raw tracepoint program for every such
//! tracepoint; the attach cookie (kernels from 6.10) names its slot in `PROBE_SITES`, and the
//! hooks read the tracepoint's arguments as the kernel passes them (`TP_PROTO`: kernel pointers
//! and integers), typed by the policy.
use aya_ebpf::{
    EbpfContext,
    helpers::{bpf_probe_read_kernel, generated::bpf_get_attach_cookie},
    macros::raw_tracepoint,
    programs::RawTracePointContext,
};
use tetrascope_shared::policy::site;

use super::sites::{new_call, run};

/// Arguments read: a raw tracepoint passes at most 12, policies index the first ones.
const RAW_ARGS: usize = 6;

#[raw_tracepoint]
pub fn policy_raw_tracepoint(ctx: RawTracePointContext) -> i32 {
    let slot = unsafe { bpf_get_attach_cookie(ctx.as_ptr()) } as u32;
    let Some(call) = new_call(slot) else {
        return 0;
    };
    // Read through probe reads: a direct context access past the tracepoint's own arguments
    // would make the attachment fail, and the count differs between tracepoints.
    let args = ctx.as_ptr() as *const u64;
    for (i, raw) in call.raw.iter_mut().take(RAW_ARGS).enumerate() {
        *raw = unsafe { bpf_probe_read_kernel(args.wrapping_add(i)) }.unwrap_or(0);
    }
    run(site::PROBE, slot);
    0
}
