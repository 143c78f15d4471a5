//! The ring buffer to userspace, the lost-record counter and batched wake-ups.
use aya_ebpf::{
    bindings::{BPF_RB_AVAIL_DATA, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP},
    helpers::{bpf_get_smp_processor_id, bpf_ktime_get_boot_ns},
    macros::map,
    maps::{PerCpuArray, RingBuf, ring_buf::RingBufEntry},
};
use tetrascope_shared::{RING_BYTES, RecordHeader};

#[map]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(RING_BYTES, 0);

/// Records that could not be reserved because the ring was full (slot 0, per CPU).
#[map]
pub static LOST: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

/// The header of a record of `kind` happening now.
#[inline(always)]
pub fn header(kind: u32) -> RecordHeader {
    RecordHeader {
        kind,
        cpu: unsafe { bpf_get_smp_processor_id() },
        ktime: unsafe { bpf_ktime_get_boot_ns() },
    }
}

/// Reserves a record, counting a miss when the ring is full.
#[inline(always)]
pub fn reserve<T: 'static>() -> Option<RingBufEntry<T>> {
    let entry = EVENTS.reserve::<T>(0);
    if entry.is_none() {
        count_lost();
    }
    entry
}

/// Reserves a record that its sender tries again later when the ring is full: not a loss.
#[inline(always)]
pub fn try_reserve<T: 'static>() -> Option<RingBufEntry<T>> {
    EVENTS.reserve::<T>(0)
}

/// Copies a record built elsewhere (per-CPU scratch) into the ring.
#[inline(always)]
pub fn output<T>(record: &T) {
    if EVENTS.output::<T>(record, wakeup_flags()).is_err() {
        count_lost();
    }
}

/// Copies the first `len` bytes of a record built elsewhere into the ring (records whose tail
/// is mostly unused, such as paths). `len` must be bounded by the caller for the verifier.
#[inline(always)]
pub fn output_bytes(record: *const u8, len: usize) {
    let bytes = unsafe { core::slice::from_raw_parts(record, len) };
    if EVENTS.output::<[u8]>(bytes, wakeup_flags()).is_err() {
        count_lost();
    }
}

#[inline(always)]
fn count_lost() {
    if let Some(lost) = LOST.get_ptr_mut(0) {
        unsafe { *lost += 1 };
    }
}

/// Submits without waking the reader unless `WAKE_AT` bytes are waiting: a forced wake-up costs
/// ~17 µs on our VMs (kernel.md §4b); the reader also drains on a short timer.
#[inline(always)]
pub fn submit<T>(entry: RingBufEntry<T>) {
    entry.submit(wakeup_flags());
}

/// Bytes waiting in the ring for the reader.
#[inline(always)]
pub fn backlog() -> u64 {
    EVENTS.query(BPF_RB_AVAIL_DATA as u64)
}

/// Wakes the reader as the backlog crosses `WAKE_AT`: only records that land in the band just past
/// it do, not every record while the reader works through a flood. The band is wider than the
/// largest record, so a crossing always lands in it; a wake-up missed in a race waits for the
/// reader's timer.
#[inline(always)]
fn wakeup_flags() -> u64 {
    let waiting = backlog();
    let flags = if waiting >= WAKE_AT && waiting < WAKE_AT + WAKE_BAND {
        BPF_RB_FORCE_WAKEUP
    } else {
        BPF_RB_NO_WAKEUP
    };
    flags as u64
}

/// A sixty-fourth of the ring (256 KiB): well below the backlog at which file records are left
/// out (`FILE_BACKLOG_MAX`), so that the reader is at work before a burst of opens gets there.
/// Even a storm of 2,000 exec/s crosses it only ~40 times a second.
const WAKE_AT: u64 = (RING_BYTES / 64) as u64;
/// Larger than any record (an exec record is at most ~5.7 KiB, a file record ~4.4 KiB).
const WAKE_BAND: u64 = 16 * 1024;
