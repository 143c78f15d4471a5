//! The syscall counter in the kernel: its program on `raw_syscalls:sys_enter`, attached and
//! detached at run time, its per-CPU counter rows and the queue of free slots.
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use aya::{
    Ebpf, EbpfLoader,
    maps::{MapData, PerCpuArray, Queue},
    programs::{RawTracePoint, raw_trace_point::RawTracePointLinkId},
};
use tetrascope_shared::syscalls::{
    CounterRow, MAX_SLOTS, ROW_LEN, TGIDS_PER_ENTRY, UNATTRIBUTED_SLOT,
};

const PROGRAM: &str = "count_syscall";
/// Counter memory aimed at, over all CPUs: 4 KiB a slot on each CPU.
const COUNTER_BUDGET: usize = 32 << 20;
/// pid_max's ceiling on 64-bit kernels, when /proc does not say.
const PID_MAX_LIMIT: u32 = 1 << 22;

/// How big the counter maps are made.
#[derive(Clone, Copy, Debug)]
pub(super) struct CounterSizes {
    /// Counter slots (slot 0, the unattributed one, included).
    slots: u32,
    /// Entries of the per-process slot table.
    slot_table: u32,
}

impl CounterSizes {
    /// As many slots as the budget gives on this machine's CPUs (at least 128, at most 4096),
    /// and a slot table that covers `pid_max`.
    pub(super) fn for_this_machine() -> Self {
        let cpus = aya::util::nr_cpus().unwrap_or(1).max(1);
        let row = std::mem::size_of::<CounterRow>();
        let slots = (COUNTER_BUDGET / (row * cpus)).clamp(128, 4096) as u32;
        let pid_max = std::fs::read_to_string("/proc/sys/kernel/pid_max")
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(PID_MAX_LIMIT);
        Self {
            slots: slots.min(MAX_SLOTS),
            slot_table: pid_max.div_ceil(TGIDS_PER_ENTRY as u32),
        }
    }

    pub(super) fn apply(&self, loader: &mut EbpfLoader) {
        loader
            .map_max_entries("COUNTS", self.slots)
            .map_max_entries("FREE_SLOTS", self.slots)
            .map_max_entries("SLOT_OF", self.slot_table);
    }
}

pub(super) struct SyscallCounter {
    counts: PerCpuArray<MapData, CounterRow>,
    free: Queue<MapData, u32>,
    link: Option<RawTracePointLinkId>,
}

impl SyscallCounter {
    /// Takes the maps, hands every slot but the unattributed one to the probes, and verifies
    /// the program (attaching it is [`SyscallCounter::set_attached`]'s).
    pub(super) fn take(ebpf: &mut Ebpf, sizes: CounterSizes) -> Result<Self> {
        let mut map = |name: &str| {
            ebpf.take_map(name)
                .ok_or_else(|| anyhow!("map {name} missing from the probes object"))
        };
        let counts = PerCpuArray::try_from(map("COUNTS")?)?;
        let mut free = Queue::try_from(map("FREE_SLOTS")?)?;
        for slot in (UNATTRIBUTED_SLOT + 1)..sizes.slots {
            free.push(slot, 0)
                .context("filling the free counter slots")?;
        }
        program(ebpf)?
            .load()
            .with_context(|| format!("verifying {PROGRAM}"))?;
        Ok(Self {
            counts,
            free,
            link: None,
        })
    }

    pub(super) fn attached(&self) -> bool {
        self.link.is_some()
    }

    /// Attaches or detaches the counting program: detached, syscalls pay nothing for it.
    pub(super) fn set_attached(&mut self, ebpf: &mut Ebpf, on: bool) -> Result<()> {
        match (on, self.link.take()) {
            (true, None) => {
                self.link = Some(
                    program(ebpf)?
                        .attach("sys_enter")
                        .with_context(|| format!("attaching {PROGRAM} to sys_enter"))?,
                );
            }
            (false, Some(link)) => program(ebpf)?.detach(link)?,
            (_, link) => self.link = link,
        }
        Ok(())
    }

    /// Time spent in the counting program and its runs, as the kernel keeps them while
    /// `kernel.bpf_stats_enabled` is 1.
    pub(super) fn run_stats(&self, ebpf: &Ebpf) -> Option<(Duration, u64)> {
        let program: &RawTracePoint = ebpf.program(PROGRAM)?.try_into().ok()?;
        let info = program.info().ok()?;
        Some((info.run_time(), info.run_count()))
    }

    /// A slot's counted counters as (index, count summed over the CPUs), modulo 2^32 like the
    /// counters themselves: the difference of two reads is exact as long as fewer than 2^32
    /// calls came between.
    pub(super) fn row(&self, slot: u32) -> Result<Vec<(usize, u32)>> {
        let per_cpu = self.counts.get(&slot, 0)?;
        let mut touched = [0u64; ROW_LEN / 64];
        for row in per_cpu.iter() {
            for (word, cpu) in touched.iter_mut().zip(&row.touched) {
                *word |= cpu;
            }
        }
        let mut counts = Vec::new();
        for (at, mut word) in touched.into_iter().enumerate() {
            while word != 0 {
                let index = at * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                let sum = per_cpu
                    .iter()
                    .fold(0u32, |sum, row| sum.wrapping_add(row.counts[index]));
                counts.push((index, sum));
            }
        }
        Ok(counts)
    }

    /// Hands a slot back to the probes. Its counters go on from where they are: the next
    /// owner's calls are the difference from the last read.
    pub(super) fn recycle(&mut self, slot: u32) -> Result<()> {
        self.free.push(slot, 0)?;
        Ok(())
    }
}

fn program(ebpf: &mut Ebpf) -> Result<&mut RawTracePoint> {
    Ok(ebpf
        .program_mut(PROGRAM)
        .ok_or_else(|| anyhow!("program {PROGRAM} missing from the probes object"))?
        .try_into()?)
}
