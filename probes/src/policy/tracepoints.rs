//! The site of `tracepoints:` hooks: one program for every tracepoint, which finds the hooks of
//! the tracepoint that fired by its id (the attach cookie: the kernel overwrites the record's
//! `common_type` before the program runs) and reads the record fields they use, as userspace
//! described them from the tracepoint's format file.
use core::ffi::c_void;

use aya_ebpf::{
    EbpfContext,
    helpers::{
        bpf_probe_read_kernel,
        generated::{bpf_get_attach_cookie, bpf_loop},
    },
    macros::tracepoint,
    programs::TracePointContext,
};
use tetrascope_shared::policy::{TRACEPOINT_FIELDS, TracepointField, field_kind, site};

use super::{
    EVAL, TRACEPOINT_SITES,
    sites::{new_call, run},
};

/// What the field reads need: the rest is in the per-CPU call (`new_call`).
#[repr(C)]
struct FieldReads {
    /// The record's address as a plain number: a context pointer cannot be stored as an
    /// argument value, nor moved by a variable offset.
    record: u64,
    id: u32,
    _pad: u32,
}

#[tracepoint]
pub fn policy_tracepoint(ctx: TracePointContext) -> u32 {
    let id = unsafe { bpf_get_attach_cookie(ctx.as_ptr()) } as u32;
    let record = ctx.as_ptr() as u64;
    // Copied by a probe read, the address loses its context-pointer type.
    let record = unsafe { read::<u64>(&raw const record as usize) };
    let Some(tracepoint) = (unsafe { TRACEPOINT_SITES.get(&id) }) else {
        return 0;
    };
    let count = tracepoint.field_count.min(TRACEPOINT_FIELDS as u32);
    if new_call(id).is_none() {
        return 0;
    }
    let mut reads = FieldReads {
        record,
        id,
        _pad: 0,
    };
    unsafe {
        bpf_loop(
            count,
            read_field_nth as *mut c_void,
            &raw mut reads as *mut c_void,
            0,
        )
    };
    run(site::TRACEPOINT, id);
    0
}

#[inline(never)]
extern "C" fn read_field_nth(index: u64, reads: *mut c_void) -> i64 {
    let reads = unsafe { &*(reads as *const FieldReads) };
    let (Some(tracepoint), Some(eval)) = (
        unsafe { TRACEPOINT_SITES.get(&reads.id) },
        EVAL.get_ptr_mut(0),
    ) else {
        return 1;
    };
    let i = (index as usize) & (TRACEPOINT_FIELDS - 1);
    unsafe { (*eval).call.raw[i] = read_field(reads.record as usize, &tracepoint.fields[i]) };
    0
}

/// A field's value as an integer, or the address of its text in the record.
#[inline(always)]
fn read_field(record: usize, field: &TracepointField) -> u64 {
    let at = record + field.offset as usize;
    match field.kind {
        field_kind::SIGNED | field_kind::UNSIGNED => {
            let signed = field.kind == field_kind::SIGNED;
            unsafe {
                match field.size {
                    1 if signed => read::<i8>(at) as i64 as u64,
                    1 => read::<u8>(at) as u64,
                    2 if signed => read::<i16>(at) as i64 as u64,
                    2 => read::<u16>(at) as u64,
                    4 if signed => read::<i32>(at) as i64 as u64,
                    4 => read::<u32>(at) as u64,
                    _ => read::<u64>(at),
                }
            }
        }
        field_kind::ADDRESS => at as u64,
        // The low 16 bits are the data's offset in the record, the high 16 its length.
        field_kind::DATA_LOC => (record + (unsafe { read::<u32>(at) } & 0xffff) as usize) as u64,
        _ => 0,
    }
}

#[inline(always)]
unsafe fn read<T: Default>(at: usize) -> T {
    unsafe { bpf_probe_read_kernel(at as *const T) }.unwrap_or_default()
}
