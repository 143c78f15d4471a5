//! Syscall counting on `raw_syscalls:sys_enter`: every syscall of every process pays for this
//! program while it is attached, so it does no hashing and writes no record. One array lookup
//! finds the process's counter slot, one per-CPU array lookup its row (kernel.md §4a: a per-(tgid,
//! nr) per-CPU hash costs ~225 ns a syscall). A process gets a slot at its first syscall from a
//! queue userspace fills; the lifecycle programs take it back at exec and exit, so each exec'd
//! image counts in a slot of its own.
use aya_ebpf::{
    helpers::bpf_get_current_task_btf,
    macros::{map, raw_tracepoint},
    maps::{Array, PerCpuArray, Queue},
    programs::RawTracePointContext,
};
use tetrascope_shared::{
    Offsets,
    syscalls::{
        CounterRow, NR_OTHER, NR_PER_ABI, RECORD_SLOT, ROW_LEN, SlotEntry, SlotRecord,
        TGIDS_PER_ENTRY, UNATTRIBUTED_SLOT,
    },
};

use crate::{emit, kernel::off};

/// `TS_COMPAT` of x86's `thread_info.status`: set while a task runs a 32-bit syscall.
const TS_COMPAT: u32 = 0x0002;

/// Each process's slot by tgid, `TGIDS_PER_ENTRY` to an entry; 0 when it has none. Sized by
/// userspace to cover `pid_max`.
#[map]
static SLOT_OF: Array<SlotEntry> = Array::with_max_entries(1, 0);

/// Counter rows by slot, per CPU. Sized by userspace.
#[map]
static COUNTS: PerCpuArray<CounterRow> = PerCpuArray::with_max_entries(1, 0);

/// Slots free to hand out: userspace pushes them at start and again once it has read the last
/// counts of an image that ended.
#[map]
static FREE_SLOTS: Queue<u32> = Queue::with_max_entries(1, 0);

#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn count_syscall(ctx: RawTracePointContext) -> i32 {
    let nr: i64 = ctx.arg(1);
    // A BTF pointer: its fields are plain loads, not probe reads.
    let task = unsafe { bpf_get_current_task_btf() } as usize;
    let tgid = load(task, off!(task_tgid));
    let mut slot = slot_of(tgid);
    if slot == UNATTRIBUTED_SLOT {
        slot = assign(tgid);
    }
    let Some(row) = COUNTS.get_ptr_mut(slot) else {
        return 0;
    };
    let mut index = if (nr as u64) < NR_PER_ABI as u64 {
        nr as usize
    } else {
        NR_OTHER
    };
    if compat(task) {
        index += NR_PER_ABI;
    }
    count(row, index);
    0
}

/// Adds one to the counter at `index` of a row the caller found in the map, and marks it.
#[inline(always)]
fn count(row: *mut CounterRow, index: usize) {
    let index = index & (ROW_LEN - 1);
    unsafe {
        (*row).counts[index] += 1;
        (*row).touched[index / 64] |= 1 << (index % 64);
    }
}

/// Whether the current syscall is a compat (32-bit) one.
#[inline(always)]
fn compat(task: usize) -> bool {
    let offset = off!(task_ti_status);
    // A constant to the verifier (read-only globals), so the load is only there when it is valid.
    offset != Offsets::ABSENT as usize && load(task, offset) & TS_COMPAT != 0
}

#[inline(always)]
fn load(task: usize, offset: usize) -> u32 {
    unsafe { *((task + offset) as *const u32) }
}

#[inline(always)]
fn slot_of(tgid: u32) -> u32 {
    SLOT_OF
        .get(tgid / TGIDS_PER_ENTRY as u32)
        .map_or(UNATTRIBUTED_SLOT, |entry| {
            entry[tgid as usize % TGIDS_PER_ENTRY] as u32
        })
}

/// Gives the process a slot, and tells userspace which; the unattributed slot when none is free
/// or the ring is full (a slot userspace never heard of would never come back). Either way the
/// process's next syscall tries again.
#[inline(never)]
fn assign(tgid: u32) -> u32 {
    let Ok(Some(slot)) = FREE_SLOTS.pop() else {
        return UNATTRIBUTED_SLOT;
    };
    let Some(mut entry) = emit::try_reserve::<SlotRecord>() else {
        let _ = FREE_SLOTS.push(slot, 0);
        return UNATTRIBUTED_SLOT;
    };
    let record = unsafe { &mut *entry.as_mut_ptr() };
    record.header = emit::header(RECORD_SLOT);
    record.pid = tgid;
    record.slot = slot;
    emit::submit(entry);
    set_slot(tgid, slot);
    slot
}

/// The process's image ended (exec or exit): its next syscall takes a new slot.
#[inline(always)]
pub fn forget(tgid: u32) {
    set_slot(tgid, UNATTRIBUTED_SLOT);
}

/// A store of two bytes: processes sharing the entry never overwrite each other.
#[inline(always)]
fn set_slot(tgid: u32, slot: u32) {
    if let Some(entry) = SLOT_OF.get_ptr_mut(tgid / TGIDS_PER_ENTRY as u32) {
        unsafe { (*entry)[tgid as usize % TGIDS_PER_ENTRY] = slot as u16 };
    }
}
