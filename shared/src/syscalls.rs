//! Syscall counting: per-CPU counter rows by slot, one slot per process, handed out by the
//! probes from a queue that userspace fills and refills. No per-syscall record crosses the ring.

/// Syscall numbers counted per ABI (every ABI we name stays below 512); larger numbers, and the
/// invalid `-1`, count under [`NR_OTHER`].
pub const NR_PER_ABI: usize = 512;
pub const NR_OTHER: usize = NR_PER_ABI - 1;
/// A slot's counters: the native ABI's syscalls, then the compat ABI's (i386 on x86_64).
pub const ROW_LEN: usize = 2 * NR_PER_ABI;
/// A slot's counters, per CPU. They wrap, and are never reset: userspace diffs each read with
/// the previous one modulo 2^32 (a second's calls are far below the wrap), also across a slot's
/// owners. `touched` marks the counters ever counted, so that a read looks at a few dozen of
/// them rather than all 1,024.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CounterRow {
    pub counts: [u32; ROW_LEN],
    /// Bit `i % 64` of word `i / 64`: counter `i` was counted.
    pub touched: [u64; ROW_LEN / 64],
}

/// The slot of syscalls of processes that have none (no slot was free).
pub const UNATTRIBUTED_SLOT: u32 = 0;
/// Slots are `u16`, packed this many to an entry of the per-process slot table (64 bytes: one
/// array lookup finds a process's slot without a hash).
pub const TGIDS_PER_ENTRY: usize = 32;
pub type SlotEntry = [u16; TGIDS_PER_ENTRY];
/// The most slots a counter map can have (slot numbers are `u16`).
pub const MAX_SLOTS: u32 = 1 << 16;

pub const RECORD_SLOT: u32 = 4;

/// A process got a counter slot: from its next syscall on, its counts are in `slot`'s row.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SlotRecord {
    pub header: crate::RecordHeader,
    pub pid: u32,
    pub slot: u32,
}

#[cfg(feature = "user")]
unsafe impl aya::Pod for CounterRow {}
