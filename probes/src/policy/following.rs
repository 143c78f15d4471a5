//! Which processes have followed fds, one byte per tgid in an array: the hot path (every call
//! of a hooked `read`) asks this before any hash lookup. Bytes, not bits: a byte store needs no
//! read-modify-write, so two CPUs marking neighbours cannot lose each other's mark.
use aya_ebpf::{macros::map, maps::Array};

const PER_ENTRY: usize = 64;
/// Covers pid_max's largest value on 64-bit kernels (2^22).
const ENTRIES: u32 = (1 << 22) / PER_ENTRY as u32;

#[map]
static FOLLOWING: Array<[u8; PER_ENTRY]> = Array::with_max_entries(ENTRIES, 0);

/// Whether `tgid` may have followed fds.
#[inline(always)]
pub fn any(tgid: u32) -> bool {
    FOLLOWING
        .get(tgid / PER_ENTRY as u32)
        .is_none_or(|bytes| bytes[tgid as usize % PER_ENTRY] != 0)
}

#[inline(always)]
pub fn mark(tgid: u32, following: bool) {
    if let Some(bytes) = FOLLOWING.get_ptr_mut(tgid / PER_ENTRY as u32) {
        unsafe { (*bytes)[tgid as usize % PER_ENTRY] = following as u8 };
    }
}
