//! String selector matching through the LPM tries: one lookup answers prefix, equality (the
//! longest stored prefix is the whole string) and, on reversed tails, postfix.
use core::ffi::c_void;

use aya_ebpf::helpers::generated::bpf_probe_read_kernel;
use tetrascope_shared::{
    policy::{MATCH_LEN, POSTFIX_LEN, STRING_AREA, StringArg, op},
    policy_semantics::{NO_PREFIX, string_verdict},
};

use super::{MATCH_KEY, POSTFIXES, STRINGS};

/// Whether the string of `len` bytes (forward at `forward`, reversed tail at `tail`) passes the
/// filter `filter` with operator `operator`.
#[inline(always)]
pub fn matches(operator: u32, filter: u32, forward: *const u8, tail: *const u8, len: u32) -> bool {
    if matches!(operator, op::POSTFIX | op::NOT_POSTFIX) {
        let ends = lookup(filter, tail, len, POSTFIX_LEN, true).is_some();
        return string_verdict(operator, NO_PREFIX, ends, len);
    }
    let prefix = lookup(filter, forward, len, MATCH_LEN, false).unwrap_or(NO_PREFIX);
    string_verdict(operator, prefix, false, len)
}

/// Looks the first `min(len, limit)` bytes at `data` up under `filter`; the stored length of the
/// longest matching entry.
#[inline(always)]
fn lookup(filter: u32, data: *const u8, len: u32, limit: usize, reversed: bool) -> Option<u32> {
    let key = MATCH_KEY.get_ptr_mut(0)?;
    let mut count = len as usize;
    if count > limit {
        count = limit;
    }
    // A mask the verifier can bound, then the real limit.
    let count = count & 511;
    if count > MATCH_LEN {
        return None;
    }
    unsafe {
        (*key).data.filter = filter;
        bpf_probe_read_kernel(
            (&raw mut (*key).data.data) as *mut c_void,
            count as u32,
            data as *const c_void,
        );
        (*key).prefix_len = (32 + 8 * count) as u32;
    }
    let map = if reversed { &POSTFIXES } else { &STRINGS };
    map.get(unsafe { &*key }).copied()
}

/// Writes the last `POSTFIX_LEN` bytes of `bytes[start..start + len]` reversed into `tail`.
#[inline(always)]
pub fn reverse_tail(bytes: *const u8, start: usize, len: usize, tail: *mut u8) {
    let end = start + len;
    for i in 0..POSTFIX_LEN {
        if i >= len {
            break;
        }
        let at = (end - 1 - i) & (STRING_AREA - 1);
        unsafe { *tail.add(i) = *bytes.add(at) };
    }
}

/// A string argument's forward bytes (from `start`).
#[inline(always)]
pub fn forward(arg: *const StringArg) -> *const u8 {
    unsafe {
        let start = ((*arg).start as usize) & (STRING_AREA - 1);
        ((&raw const (*arg).bytes) as *const u8).add(start)
    }
}
