//! The records of the `syscalls:sys_enter_*` / `sys_exit_*` tracepoints.
use aya_ebpf::{EbpfContext, programs::TracePointContext};

/// `int __syscall_nr` at 8, then the arguments (or `long ret`) from 16, 8 bytes each. Userspace
/// checks this layout in each format file before attaching.
pub const SYSCALL_NR: usize = 8;
pub const SYSCALL_ARGS: usize = 16;

/// A field of the tracepoint record, read straight from the context (cheaper than a probe read
/// on the hot path: this runs on every call of a hooked syscall). The kernel refuses to attach a
/// program that reads past the smallest record it is attached to, so this is only for fields
/// every such record has.
#[inline(always)]
pub fn field<T: Copy>(ctx: &TracePointContext, offset: usize) -> T {
    unsafe { core::ptr::read_unaligned((ctx.as_ptr() as *const u8).add(offset) as *const T) }
}

/// All six argument slots in one probe read: a syscall with fewer arguments has a shorter
/// record, and the read past it stays inside the kernel's trace buffer.
#[inline(always)]
pub fn arguments(ctx: &TracePointContext) -> [u64; 6] {
    let args = ctx.as_ptr() as usize + SYSCALL_ARGS;
    unsafe { aya_ebpf::helpers::bpf_probe_read_kernel(args as *const [u64; 6]) }.unwrap_or([0; 6])
}
