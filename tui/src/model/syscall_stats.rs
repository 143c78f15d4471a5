//! Syscall statistics: counts by (ABI, syscall) for each process image and each binary, with
//! totals and the rates of the last tick. Fed by `tetrascope_syscall_stats` events, so a live
//! view and a replay build the same numbers. Bounded: beyond its capacity the least recently
//! updated image goes (counted), and its counts stay in its binary's totals.
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::event::{
    Event, EventBody, Process, TetrascopeSyscallStats, Timestamp, per_second,
    syscalls::syscall_name,
};

/// Images kept by default.
pub const DEFAULT_STATS_EXECS: usize = 20_000;

/// A syscall of an ABI (`x64`, `i386`, `arm64`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Syscall {
    pub abi: String,
    pub nr: u32,
}

impl Syscall {
    /// Its name in its ABI's table, else `abi#nr`.
    pub fn name(&self) -> String {
        syscall_name(&self.abi, self.nr.into())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{}#{}", self.abi, self.nr))
    }
}

/// Orders of views and of their syscalls: the largest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsOrder {
    /// Calls since counting began.
    Total,
    /// Calls per second in the last tick.
    Rate,
}

/// One syscall's numbers in a view.
#[derive(Clone, Debug, PartialEq)]
pub struct SyscallRow {
    pub syscall: Syscall,
    pub name: String,
    pub total: u64,
    /// Calls per second in the last tick.
    pub rate: f64,
}

/// The numbers of one image or of every image of a binary.
#[derive(Clone, Debug, PartialEq)]
pub struct StatsView {
    pub binary: String,
    /// The image's process (exec_id, pid, uid, binary, pod); for a binary, its latest image's.
    pub process: Process,
    /// Images counted (1 for an image's view).
    pub execs: usize,
    pub total: u64,
    pub rate: f64,
    /// Every image of the view has ended.
    pub ended: bool,
    /// Largest total first.
    pub syscalls: Vec<SyscallRow>,
}

impl StatsView {
    pub fn sort(&mut self, order: StatsOrder) {
        match order {
            StatsOrder::Total => self
                .syscalls
                .sort_by(|a, b| (b.total, &a.syscall).cmp(&(a.total, &b.syscall))),
            StatsOrder::Rate => self
                .syscalls
                .sort_by(|a, b| b.rate.total_cmp(&a.rate).then(a.syscall.cmp(&b.syscall))),
        }
    }

    /// Total calls of the syscall named `name`, over every ABI.
    pub fn total_of(&self, name: &str) -> u64 {
        self.syscalls
            .iter()
            .filter(|row| row.name == name)
            .map(|row| row.total)
            .sum()
    }

    fn key(&self, order: StatsOrder) -> f64 {
        match order {
            StatsOrder::Total => self.total as f64,
            StatsOrder::Rate => self.rate,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Count {
    total: u64,
    /// Calls in the image's last tick.
    last: u64,
}

#[derive(Clone, Debug, PartialEq)]
struct ExecEntry {
    process: Process,
    counts: BTreeMap<Syscall, Count>,
    last: u64,
    interval_ns: u64,
    /// Time of its last update.
    tick: Option<Timestamp>,
    ended: bool,
    seq: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SyscallStats {
    /// By exec_id; `""` holds the calls of processes that had no counter slot.
    execs: HashMap<String, ExecEntry>,
    /// exec_ids by the sequence number of their last update, least recent first.
    order: BTreeMap<u64, String>,
    by_binary: HashMap<String, BTreeSet<String>>,
    /// Totals of evicted images, by binary.
    retired: HashMap<String, BTreeMap<Syscall, u64>>,
    /// The time of the newest stats: images updated then have rates, the others are idle.
    latest: Option<Timestamp>,
    next: u64,
    capacity: usize,
    evicted: u64,
}

impl Default for SyscallStats {
    fn default() -> Self {
        Self::new(DEFAULT_STATS_EXECS)
    }
}

impl SyscallStats {
    pub fn new(capacity: usize) -> Self {
        Self {
            execs: HashMap::new(),
            order: BTreeMap::new(),
            by_binary: HashMap::new(),
            retired: HashMap::new(),
            latest: None,
            next: 0,
            capacity: capacity.max(1),
            evicted: 0,
        }
    }

    /// Takes in a `tetrascope_syscall_stats` event; false for other events.
    pub fn apply(&mut self, event: &Event) -> bool {
        let EventBody::TetrascopeSyscallStats(stats) = &event.body else {
            return false;
        };
        if event.time > self.latest {
            self.latest = event.time;
        }
        let process = stats.process.clone().unwrap_or_default();
        let exec_id = process.exec_id.clone();
        let seq = self.next;
        self.next += 1;
        match self.execs.get_mut(&exec_id) {
            Some(entry) => {
                self.order.remove(&entry.seq);
                entry.seq = seq;
            }
            None => {
                self.make_room();
                if !exec_id.is_empty() {
                    self.by_binary
                        .entry(process.binary.clone())
                        .or_default()
                        .insert(exec_id.clone());
                }
                let entry = ExecEntry {
                    process: process.clone(),
                    counts: BTreeMap::new(),
                    last: 0,
                    interval_ns: 0,
                    tick: None,
                    ended: false,
                    seq,
                };
                self.execs.insert(exec_id.clone(), entry);
            }
        }
        self.order.insert(seq, exec_id.clone());
        let entry = self.execs.get_mut(&exec_id).expect("just inserted");
        update(entry, stats, event.time);
        true
    }

    /// Evicts the least recently updated images until one more fits.
    fn make_room(&mut self) {
        while self.execs.len() >= self.capacity {
            let Some((_, exec_id)) = self.order.pop_first() else {
                return;
            };
            let Some(entry) = self.execs.remove(&exec_id) else {
                continue;
            };
            self.evicted += 1;
            let binary = entry.process.binary;
            if let Some(ids) = self.by_binary.get_mut(&binary) {
                ids.remove(&exec_id);
            }
            let retired = self.retired.entry(binary).or_default();
            for (syscall, count) in entry.counts {
                *retired.entry(syscall).or_default() += count.total;
            }
        }
    }

    /// The numbers of one image.
    pub fn for_exec(&self, exec_id: &str) -> Option<StatsView> {
        let entry = self.execs.get(exec_id)?;
        let mut view = StatsView {
            binary: entry.process.binary.clone(),
            process: entry.process.clone(),
            execs: 1,
            total: entry.counts.values().map(|count| count.total).sum(),
            rate: self.rate(entry, entry.last),
            ended: entry.ended,
            syscalls: entry
                .counts
                .iter()
                .map(|(syscall, count)| SyscallRow {
                    syscall: syscall.clone(),
                    name: syscall.name(),
                    total: count.total,
                    rate: self.rate(entry, count.last),
                })
                .collect(),
        };
        view.sort(StatsOrder::Total);
        Some(view)
    }

    /// The calls of processes that had no counter slot (none was free).
    pub fn unattributed(&self) -> Option<StatsView> {
        self.for_exec("")
    }

    /// The numbers of every image of `binary`, evicted ones' totals included.
    pub fn for_binary(&self, binary: &str) -> Option<StatsView> {
        let ids = self.by_binary.get(binary);
        let retired = self.retired.get(binary);
        if ids.is_none_or(BTreeSet::is_empty) && retired.is_none() {
            return None;
        }
        let mut rows: BTreeMap<Syscall, (u64, f64)> = BTreeMap::new();
        for (syscall, total) in retired.into_iter().flatten() {
            rows.entry(syscall.clone()).or_default().0 += total;
        }
        let entries: Vec<&ExecEntry> = ids
            .into_iter()
            .flatten()
            .filter_map(|id| self.execs.get(id))
            .collect();
        for entry in &entries {
            for (syscall, count) in &entry.counts {
                let row = rows.entry(syscall.clone()).or_default();
                row.0 += count.total;
                row.1 += self.rate(entry, count.last);
            }
        }
        let latest = entries.iter().max_by_key(|entry| entry.seq);
        let mut view = StatsView {
            binary: binary.to_owned(),
            process: latest
                .map(|entry| entry.process.clone())
                .unwrap_or_default(),
            execs: entries.len(),
            total: rows.values().map(|(total, _)| total).sum(),
            rate: entries
                .iter()
                .map(|entry| self.rate(entry, entry.last))
                .sum(),
            ended: entries.iter().all(|entry| entry.ended),
            syscalls: rows
                .into_iter()
                .map(|(syscall, (total, rate))| SyscallRow {
                    name: syscall.name(),
                    syscall,
                    total,
                    rate,
                })
                .collect(),
        };
        view.sort(StatsOrder::Total);
        Some(view)
    }

    /// The `n` binaries with the most calls (or the highest rate), largest first.
    pub fn top(&self, n: usize, order: StatsOrder) -> Vec<StatsView> {
        let binaries: BTreeSet<&String> =
            self.by_binary.keys().chain(self.retired.keys()).collect();
        let mut views: Vec<StatsView> = binaries
            .into_iter()
            .filter_map(|binary| self.for_binary(binary))
            .collect();
        views.sort_by(|a, b| {
            b.key(order)
                .total_cmp(&a.key(order))
                .then_with(|| a.binary.cmp(&b.binary))
        });
        views.truncate(n);
        for view in &mut views {
            view.sort(order);
        }
        views
    }

    /// The time of the newest statistics.
    pub fn latest_tick(&self) -> Option<Timestamp> {
        self.latest
    }

    /// Images held.
    pub fn execs(&self) -> usize {
        self.execs.len()
    }

    /// Images dropped to stay within capacity (their totals live on in their binary's).
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// `calls` of the image's last tick per second, if that tick is the newest one.
    fn rate(&self, entry: &ExecEntry, calls: u64) -> f64 {
        if entry.tick.is_some() && entry.tick == self.latest {
            per_second(calls, entry.interval_ns)
        } else {
            0.0
        }
    }
}

/// Sets an image's numbers from its latest stats: totals as sent, the tick's counts for the
/// syscalls it lists and none for the others.
fn update(entry: &mut ExecEntry, stats: &TetrascopeSyscallStats, time: Option<Timestamp>) {
    for count in entry.counts.values_mut() {
        count.last = 0;
    }
    for sent in &stats.syscalls {
        let syscall = Syscall {
            abi: sent.abi.clone(),
            nr: sent.nr,
        };
        entry.counts.insert(
            syscall,
            Count {
                total: sent.total,
                last: sent.count,
            },
        );
    }
    entry.last = stats.count;
    entry.interval_ns = stats.interval_ns;
    entry.tick = time;
    entry.ended |= stats.ended;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::SyscallCount;

    const SECOND: u64 = 1_000_000_000;

    fn stats(exec_id: &str, binary: &str, at: i64, calls: &[(&str, u32, u64, u64)]) -> Event {
        let syscalls: Vec<SyscallCount> = calls
            .iter()
            .map(|&(abi, nr, count, total)| SyscallCount {
                abi: abi.into(),
                nr,
                name: String::new(),
                count,
                total,
            })
            .collect();
        let process = (!exec_id.is_empty()).then(|| Process {
            exec_id: exec_id.into(),
            binary: binary.into(),
            ..Process::default()
        });
        Event {
            time: Some(Timestamp {
                seconds: at,
                nanos: 0,
            }),
            ..Event::new(EventBody::TetrascopeSyscallStats(TetrascopeSyscallStats {
                process,
                interval_ns: SECOND,
                count: syscalls.iter().map(|s| s.count).sum(),
                total: syscalls.iter().map(|s| s.total).sum(),
                syscalls,
                ended: false,
            }))
        }
    }

    #[test]
    fn images_keep_totals_and_last_tick_rates() {
        let mut model = SyscallStats::default();
        assert!(model.apply(&stats(
            "dd1",
            "/usr/bin/dd",
            1,
            &[("x64", 0, 10, 10), ("x64", 1, 10, 10)]
        )));
        assert!(model.apply(&stats("dd1", "/usr/bin/dd", 2, &[("x64", 0, 5, 15)])));
        let view = model.for_exec("dd1").unwrap();
        assert_eq!((view.total, view.rate), (25, 5.0));
        assert_eq!(view.total_of("read"), 15);
        assert_eq!(view.total_of("write"), 10);
        let write = view.syscalls.iter().find(|r| r.name == "write").unwrap();
        assert_eq!(write.rate, 0.0, "no writes in the last tick");
        // Another image's newer tick makes dd idle.
        model.apply(&stats("cat1", "/usr/bin/cat", 3, &[("x64", 0, 1, 1)]));
        assert_eq!(model.for_exec("dd1").unwrap().rate, 0.0);
        assert!(!model.apply(&Event::new(EventBody::Test(Default::default()))));
    }

    #[test]
    fn binaries_sum_their_images_and_rank() {
        let mut model = SyscallStats::default();
        model.apply(&stats("a", "/bin/sh", 1, &[("x64", 0, 3, 3)]));
        model.apply(&stats(
            "b",
            "/bin/sh",
            1,
            &[("x64", 0, 4, 4), ("i386", 3, 1, 1)],
        ));
        model.apply(&stats("c", "/usr/bin/dd", 1, &[("x64", 1, 100, 100)]));
        model.apply(&stats("", "", 1, &[("x64", 39, 2, 2)]));
        let sh = model.for_binary("/bin/sh").unwrap();
        assert_eq!((sh.execs, sh.total, sh.rate), (2, 8, 8.0));
        assert_eq!(sh.total_of("read"), 8, "read in both ABIs");
        let top = model.top(1, StatsOrder::Total);
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].binary, "/usr/bin/dd");
        assert_eq!(
            model.top(5, StatsOrder::Rate).len(),
            2,
            "unattributed is apart"
        );
        assert_eq!(model.unattributed().unwrap().total_of("getpid"), 2);
    }

    #[test]
    fn evicted_images_stay_in_their_binary() {
        let mut model = SyscallStats::new(2);
        model.apply(&stats("a", "/bin/sh", 1, &[("x64", 0, 3, 3)]));
        model.apply(&stats("b", "/bin/sh", 2, &[("x64", 0, 4, 4)]));
        model.apply(&stats("c", "/bin/ls", 3, &[("x64", 0, 1, 1)]));
        assert_eq!(model.evicted(), 1);
        assert!(model.for_exec("a").is_none());
        let sh = model.for_binary("/bin/sh").unwrap();
        assert_eq!((sh.execs, sh.total), (1, 7));
    }

    #[test]
    fn unknown_numbers_are_named_by_abi() {
        let syscall = Syscall {
            abi: "arm64".into(),
            nr: 63,
        };
        assert_eq!(syscall.name(), "read");
        let unknown = Syscall {
            abi: "x64".into(),
            nr: 511,
        };
        assert_eq!(unknown.name(), "x64#511");
    }
}
