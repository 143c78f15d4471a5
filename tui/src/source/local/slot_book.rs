//! The syscall counter's slots seen from userspace: which image each slot counts for and what
//! it counted, sent each tick as `tetrascope_syscall_stats` events. A slot whose image ended is
//! read one last time at once and handed back to the probes, so that an exec storm does not run
//! them out of slots; its counters are never reset, each read is the difference from the last.
use std::collections::{BTreeMap, HashMap};

use tetrascope_shared::syscalls::{NR_PER_ABI, ROW_LEN, UNATTRIBUTED_SLOT};

use crate::{
    event::{
        EventBody, Process, SyscallCount, TetrascopeSyscallStats,
        syscalls::{native_abi, syscall_name},
    },
    sensor::Sensor,
};

/// The ABI of the second half of a counter row.
const COMPAT_ABI: &str = if cfg!(target_arch = "x86_64") {
    "i386"
} else {
    "compat"
};

/// What an image's slots counted since the last tick.
#[derive(Default)]
struct TickCounts {
    process: Option<Process>,
    /// Calls by row index.
    calls: BTreeMap<usize, u64>,
    ended: bool,
}

/// An image's totals over its slots (a process whose threads raced for a first slot has two).
#[derive(Default)]
struct ImageTotals {
    by_index: BTreeMap<usize, u64>,
    /// Its slots still in use.
    slots: usize,
}

pub(super) struct SlotBook {
    /// The slots in use, with their images' processes (none for the unattributed slot).
    slots: BTreeMap<u32, Option<Process>>,
    /// Each slot's counters as last read (sums modulo 2^32), kept across its owners.
    last_read: HashMap<u32, Box<[u32; ROW_LEN]>>,
    /// The slots of each process's current image.
    living: HashMap<u32, Vec<u32>>,
    /// By exec_id (`""`: unattributed).
    images: HashMap<String, ImageTotals>,
    /// Calls read since the last tick, by exec_id.
    counted: BTreeMap<String, TickCounts>,
}

impl SlotBook {
    pub(super) fn new() -> Self {
        let mut book = Self {
            slots: BTreeMap::new(),
            last_read: HashMap::new(),
            living: HashMap::new(),
            images: HashMap::new(),
            counted: BTreeMap::new(),
        };
        book.add(UNATTRIBUTED_SLOT, None);
        book
    }

    /// Process `pid`'s current image (`process`) counts in `slot` from now on; an image the
    /// process table does not know counts as unattributed.
    pub(super) fn assigned(&mut self, pid: u32, slot: u32, process: Process) {
        self.living.entry(pid).or_default().push(slot);
        self.add(slot, Some(process).filter(|p| !p.exec_id.is_empty()));
    }

    fn add(&mut self, slot: u32, process: Option<Process>) {
        self.images.entry(exec_id(&process)).or_default().slots += 1;
        self.slots.insert(slot, process);
    }

    /// Process `pid`'s image ended (exec, exit, or a new process with its pid): its slots are
    /// read a last time and recycled.
    pub(super) fn image_ended(&mut self, pid: u32, sensor: &mut Sensor) {
        for slot in self.living.remove(&pid).unwrap_or_default() {
            let Some(process) = self.slots.remove(&slot) else {
                continue;
            };
            let exec_id = exec_id(&process);
            let read = self.read(slot, &process, sensor);
            if !exec_id.is_empty() {
                self.counted.entry(exec_id.clone()).or_default().ended = true;
            }
            if let Some(image) = self.images.get_mut(&exec_id) {
                image.slots -= 1;
            }
            // A slot whose last counts could not be read stays out of use rather than pass
            // them on to its next owner.
            if read {
                let _ = sensor.recycle_slot(slot);
            }
        }
    }

    /// Adds what `slot` counted since its last read to the tick counts of its image
    /// (`process`); false when it could not be read.
    fn read(&mut self, slot: u32, process: &Option<Process>, sensor: &Sensor) -> bool {
        let Ok(row) = sensor.syscall_row(slot) else {
            return false;
        };
        let counted = self
            .counted
            .entry(exec_id(process))
            .or_insert_with(|| TickCounts {
                process: process.clone(),
                ..TickCounts::default()
            });
        let last = self
            .last_read
            .entry(slot)
            .or_insert_with(|| Box::new([0; ROW_LEN]));
        for (index, now) in row {
            let calls = now.wrapping_sub(last[index]);
            if calls != 0 {
                *counted.calls.entry(index).or_default() += u64::from(calls);
                last[index] = now;
            }
        }
        true
    }

    /// Reads the slots in use: one event per image that made calls since the last tick or
    /// ended.
    pub(super) fn tick(&mut self, sensor: &Sensor, interval_ns: u64) -> Vec<EventBody> {
        let slots = std::mem::take(&mut self.slots);
        for (slot, process) in &slots {
            self.read(*slot, process, sensor);
        }
        self.slots = slots;
        let mut events = Vec::new();
        for (exec_id, counted) in std::mem::take(&mut self.counted) {
            let image = self.images.entry(exec_id.clone()).or_default();
            for (index, calls) in &counted.calls {
                *image.by_index.entry(*index).or_default() += calls;
            }
            if !counted.calls.is_empty() || counted.ended {
                events.push(EventBody::TetrascopeSyscallStats(TetrascopeSyscallStats {
                    process: counted.process,
                    interval_ns,
                    count: counted.calls.values().sum(),
                    total: image.by_index.values().sum(),
                    syscalls: counted
                        .calls
                        .iter()
                        .map(|(&index, &calls)| syscall_count(index, calls, image.by_index[&index]))
                        .collect(),
                    ended: counted.ended,
                }));
            }
            if image.slots == 0 {
                self.images.remove(&exec_id);
            }
        }
        events
    }
}

fn exec_id(process: &Option<Process>) -> String {
    process
        .as_ref()
        .map(|p| p.exec_id.clone())
        .unwrap_or_default()
}

/// Row index → (ABI, number): the native ABI's calls, then the compat ABI's.
fn syscall_count(index: usize, count: u64, total: u64) -> SyscallCount {
    let (abi, nr) = if index < NR_PER_ABI {
        (native_abi(), index)
    } else {
        (COMPAT_ABI, index - NR_PER_ABI)
    };
    SyscallCount {
        abi: abi.to_owned(),
        nr: nr as u32,
        name: syscall_name(abi, nr as i64).unwrap_or_default().to_owned(),
        count,
        total,
    }
}
