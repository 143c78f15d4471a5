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
    let mut args = [0; 6];
    read_arguments(ctx, &mut args);
    args
}

/// As [`arguments`], into `out` (per-CPU memory spares the stack); zeroes when unreadable.
#[inline(always)]
pub fn read_arguments(ctx: &TracePointContext, out: &mut [u64; 6]) {
    let args = ctx.as_ptr() as usize + SYSCALL_ARGS;
    let read = unsafe {
        aya_ebpf::helpers::generated::bpf_probe_read_kernel(
            out.as_mut_ptr() as *mut core::ffi::c_void,
            size_of::<[u64; 6]>() as u32,
            args as *const core::ffi::c_void,
        )
    };
    if read != 0 {
        *out = [0; 6];
    }
}
