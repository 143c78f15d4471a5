//! The ring buffer to userspace, the lost-record counter and batched wake-ups.
use aya_ebpf::{
    bindings::{BPF_RB_AVAIL_DATA, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP},
    macros::map,
    maps::{PerCpuArray, RingBuf, ring_buf::RingBufEntry},
};
use tetrascope_shared::RING_BYTES;

#[map]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BYTES, 0);

/// Records that could not be reserved because the ring was full (slot 0, per CPU).
#[map]
pub static LOST: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

/// Reserves a record, counting a miss when the ring is full.
#[inline(always)]
pub fn reserve<T: 'static>() -> Option<RingBufEntry<T>> {
    let entry = EVENTS.reserve::<T>(0);
    if entry.is_none() {
        count_lost();
    }
    entry
}

/// Copies a record built elsewhere (per-CPU scratch) into the ring.
#[inline(always)]
pub fn output<T>(record: &T) {
    if EVENTS.output::<T>(record, wakeup_flags()).is_err() {
        count_lost();
    }
}

#[inline(always)]
fn count_lost() {
    if let Some(lost) = LOST.get_ptr_mut(0) {
        unsafe { *lost += 1 };
    }
}

/// Submits without waking the reader unless an eighth of the ring is waiting: a forced wake-up
/// costs ~17 µs on our VMs (kernel.md §4b); the reader also drains on a short timer.
#[inline(always)]
pub fn submit<T>(entry: RingBufEntry<T>) {
    entry.submit(wakeup_flags());
}

#[inline(always)]
fn wakeup_flags() -> u64 {
    let waiting = EVENTS.query(BPF_RB_AVAIL_DATA as u64);
    let flags = if waiting >= (RING_BYTES / 8) as u64 {
        BPF_RB_FORCE_WAKEUP
    } else {
        BPF_RB_NO_WAKEUP
    };
    flags as u64
}
