//! The process table: turns sensor records into Tetragon exec/exit events with lineage.
//!
//! Lineage follows Tetragon (tetragon.md §6): a fork creates a *clone* entry (not exported) whose
//! parent is the forking image; an exec after a fork replaces the clone entry and takes its
//! parent (flags `execve clone`); an exec without a fork (same PID) becomes a child of the image
//! it replaced (flags `execve`). Entries are reference-counted (one for the living image, one per
//! child image naming it) and deleted a grace period after the count reaches zero, so late
//! events and children can still name them.
use std::collections::{BTreeMap, HashMap, VecDeque};

use tetrascope_shared::{NS_RECORD_SLOTS, NS_SLOTS};

use super::{
    clock::BootClock,
    exec_id::exec_id,
    flags::{self, flag_string},
    signals::signal_name,
};
use crate::{
    event::{Event, EventBody, Namespace, Namespaces, Process, ProcessExec, ProcessExit},
    sensor::{ProcessImage, ProcessOrigin, SensorRecord},
};

/// How long an unreferenced entry stays resolvable (Tetragon's cache GC runs every 30 s).
const GRACE_NS: u64 = 30_000_000_000;
/// A /proc entry and a clone record this close together describe the same process start (the
/// walk runs while the probes are already attached; /proc start times have tick resolution).
const SEED_RACE_NS: u64 = 50_000_000;
pub const DEFAULT_CAPACITY: usize = 65_536;

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
struct ExecKey {
    ktime: u64,
    pid: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Forked, has not exec'd yet.
    Cloned,
    Running,
    /// Replaced by an exec in the same process.
    Replaced,
    Exited,
}

struct Entry {
    process: Process,
    parent: Option<ExecKey>,
    stage: Stage,
    refs: u32,
}

/// Counters a user can read in the status bar or a summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelStats {
    /// Entries held (living and recently exited).
    pub tracked: usize,
    /// Entries dropped before their grace period ended because the table was full.
    pub evicted: u64,
    /// Exits of processes the table never knew (e.g. kernel threads).
    pub unknown_exits: u64,
}

pub struct ProcessTable {
    node_name: String,
    clock: BootClock,
    host_ns: [u32; NS_RECORD_SLOTS],
    entries: HashMap<ExecKey, Entry>,
    /// The newest image of each living PID.
    current: HashMap<u32, ExecKey>,
    /// Entries whose count reached zero, oldest first, with the time they did.
    released: VecDeque<(u64, ExecKey)>,
    capacity: usize,
    stats: ModelStats,
}

impl ProcessTable {
    /// `host_ns`: the namespaces of PID 1, to tell host namespaces from others.
    pub fn new(node_name: String, clock: BootClock, host_ns: [u32; NS_RECORD_SLOTS]) -> Self {
        Self {
            node_name,
            clock,
            host_ns,
            entries: HashMap::new(),
            current: HashMap::new(),
            released: VecDeque::new(),
            capacity: DEFAULT_CAPACITY,
            stats: ModelStats::default(),
        }
    }

    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    pub fn stats(&self) -> ModelStats {
        ModelStats {
            tracked: self.entries.len(),
            ..self.stats
        }
    }

    /// The newest image of a living process.
    pub fn current(&self, pid: u32) -> Option<&Process> {
        self.current
            .get(&pid)
            .and_then(|key| self.entries.get(key))
            .map(|e| &e.process)
    }

    /// Adds the processes found by the /proc walk, linked to their real parents. No events:
    /// Tetragon does not export its start-up snapshot either.
    pub fn seed(&mut self, images: Vec<ProcessImage>) {
        let keys: HashMap<u32, ExecKey> = images
            .iter()
            .map(|i| {
                (
                    i.pid,
                    ExecKey {
                        ktime: i.ktime,
                        pid: i.pid,
                    },
                )
            })
            .collect();
        for image in &images {
            self.current.insert(image.pid, keys[&image.pid]);
        }
        // Parents first, so a child can copy its parent's exec_id.
        let mut ordered: Vec<&ProcessImage> = images.iter().collect();
        ordered.sort_by_key(|i| i.ktime);
        for image in ordered {
            let parent = keys
                .get(&image.ppid)
                .copied()
                .filter(|p| p.pid != image.pid);
            if let Some(p) = parent {
                self.retain(p);
            }
            let process = self.build_process(image, parent, 0);
            self.insert(keys[&image.pid], process, parent, Stage::Running);
        }
    }

    /// An event about something thread `tid` of the living process `pid` did at `ktime`;
    /// `body` receives the process (with that thread) and its parent.
    pub fn process_event(
        &self,
        ktime: u64,
        pid: u32,
        tid: u32,
        body: impl FnOnce(Option<Process>, Option<Process>) -> EventBody,
    ) -> Event {
        let entry = self.current.get(&pid).and_then(|key| self.entries.get(key));
        let process = entry.map(|e| Process {
            tid: Some(tid),
            ..e.process.clone()
        });
        let parent = entry
            .and_then(|e| e.parent)
            .and_then(|p| self.entries.get(&p))
            .map(|p| p.process.clone());
        self.event(ktime, body(process, parent))
    }

    /// Applies one lifecycle record; returns the event to export, if any.
    pub fn apply(&mut self, record: SensorRecord) -> Option<Event> {
        let now = match &record {
            SensorRecord::Exec(image) => image.ktime,
            SensorRecord::Clone { ktime, .. } | SensorRecord::Exit { ktime, .. } => *ktime,
            // Policy hits, counter slots and file calls are turned into events by their source.
            SensorRecord::Hit(_) | SensorRecord::Slot { .. } | SensorRecord::File(_) => {
                return None;
            }
        };
        let event = match record {
            SensorRecord::Exec(image) => Some(self.on_exec(image)),
            SensorRecord::Clone { ktime, pid, ppid } => {
                self.on_clone(ktime, pid, ppid);
                None
            }
            SensorRecord::Exit {
                ktime,
                pid,
                exit_code,
            } => self.on_exit(ktime, pid, exit_code),
            SensorRecord::Hit(_) | SensorRecord::Slot { .. } | SensorRecord::File(_) => None,
        };
        self.purge(now);
        event
    }

    fn on_clone(&mut self, ktime: u64, pid: u32, ppid: u32) {
        if let Some(existing) = self.current.get(&pid).copied() {
            if existing.ktime + SEED_RACE_NS >= ktime {
                return; // the /proc walk already has this process
            }
            // The old process's exit was never seen (a lost record): let it go quietly.
            self.end_image(existing, Stage::Exited, ktime);
        }
        let key = ExecKey { ktime, pid };
        let parent = self.current.get(&ppid).copied();
        let mut process = match parent.and_then(|p| self.entries.get(&p)) {
            Some(p) => Process {
                parent_exec_id: p.process.exec_id.clone(),
                ..p.process.clone()
            },
            None => Process::default(),
        };
        process.exec_id = exec_id(&self.node_name, ktime, pid);
        process.pid = Some(pid);
        process.tid = Some(pid);
        process.start_time = Some(self.clock.wall(ktime));
        process.flags = flag_string(flags::CLONE | if parent.is_none() { flags::MISS } else { 0 });
        if let Some(p) = parent {
            self.retain(p);
        }
        self.insert(key, process, parent, Stage::Cloned);
        self.current.insert(pid, key);
    }

    fn on_exec(&mut self, image: ProcessImage) -> Event {
        let mut extra = flags::EXECVE;
        let parent = match self.current.get(&image.pid).copied() {
            Some(prev) if self.entries[&prev].stage == Stage::Cloned => {
                extra |= flags::CLONE;
                let parent = self.entries[&prev].parent;
                // The new image takes the clone's place under the same parent.
                if let Some(p) = parent {
                    self.retain(p);
                }
                self.end_image(prev, Stage::Replaced, image.ktime);
                parent
            }
            Some(prev) => {
                self.retain(prev);
                self.end_image(prev, Stage::Replaced, image.ktime);
                Some(prev)
            }
            None => {
                let parent = self.current.get(&image.ppid).copied();
                if let Some(p) = parent {
                    self.retain(p);
                }
                parent
            }
        };
        if parent.is_none() {
            extra |= flags::MISS;
        }
        let key = ExecKey {
            ktime: image.ktime,
            pid: image.pid,
        };
        let process = self.build_process(&image, parent, extra);
        self.insert(key, process.clone(), parent, Stage::Running);
        self.current.insert(image.pid, key);
        let parent = parent
            .and_then(|p| self.entries.get(&p))
            .map(|e| e.process.clone());
        self.event(
            image.ktime,
            EventBody::ProcessExec(ProcessExec {
                process: Some(process),
                parent,
                ancestors: Vec::new(),
            }),
        )
    }

    fn on_exit(&mut self, ktime: u64, pid: u32, exit_code: u32) -> Option<Event> {
        let Some(key) = self.current.get(&pid).copied() else {
            self.stats.unknown_exits += 1;
            return None;
        };
        let entry = &self.entries[&key];
        let process = entry.process.clone();
        let parent = entry
            .parent
            .and_then(|p| self.entries.get(&p))
            .map(|e| e.process.clone());
        self.end_image(key, Stage::Exited, ktime);
        // Bits 0..6: the terminating signal (bit 7 flags a core dump); bits 8..15: the status.
        let signal = signal_name(exit_code & 0x7f).to_string();
        let status = if signal.is_empty() {
            (exit_code >> 8) & 0xff
        } else {
            0
        };
        let time = self.clock.wall(ktime);
        Some(self.event(
            ktime,
            EventBody::ProcessExit(ProcessExit {
                process: Some(process),
                parent,
                signal,
                status,
                time: Some(time),
                ancestors: Vec::new(),
            }),
        ))
    }

    fn event(&self, ktime: u64, body: EventBody) -> Event {
        Event {
            body,
            node_name: self.node_name.clone(),
            time: Some(self.clock.wall(ktime)),
            aggregation_info: None,
            cluster_name: String::new(),
            node_labels: BTreeMap::new(),
        }
    }

    /// The exported view of an image, with Tetragon's flags, paths and ids.
    fn build_process(
        &self,
        image: &ProcessImage,
        parent: Option<ExecKey>,
        mut flags: u32,
    ) -> Process {
        flags |= image.error_flags;
        if image.origin == ProcessOrigin::ProcFs {
            flags = (flags & !flags::EXECVE) | flags::PROCFS;
        }
        let cwd = image.cwd.clone().unwrap_or_default();
        if cwd == "/" {
            flags |= flags::ROOTCWD;
        }
        Process {
            exec_id: exec_id(&self.node_name, image.ktime, image.pid),
            pid: Some(image.pid),
            uid: Some(image.uid),
            binary: absolute_binary(&image.binary, &cwd),
            arguments: join_arguments(&image.args),
            flags: flag_string(flags),
            start_time: Some(self.clock.wall(image.ktime)),
            auid: Some(image.auid),
            parent_exec_id: parent
                .and_then(|p| self.entries.get(&p))
                .map(|e| e.process.exec_id.clone())
                .unwrap_or_default(),
            ns: self.namespaces(&image.ns),
            tid: Some(image.pid),
            cwd,
            docker: image.docker.clone(),
            ns_pid: (image.ns_pid != 0).then_some(image.ns_pid),
            ..Process::default()
        }
    }

    /// Adds an entry; the caller has already retained `parent` on its behalf.
    fn insert(&mut self, key: ExecKey, process: Process, parent: Option<ExecKey>, stage: Stage) {
        let entry = Entry {
            process,
            parent,
            stage,
            refs: 1,
        };
        self.entries.insert(key, entry);
    }

    fn namespaces(&self, ns: &[u32; NS_RECORD_SLOTS]) -> Option<Namespaces> {
        if ns.iter().all(|&inum| inum == 0) {
            return None;
        }
        let at = |slot: usize| {
            (ns[slot] != 0).then(|| Namespace {
                inum: ns[slot],
                is_host: ns[slot] == self.host_ns[slot],
            })
        };
        Some(Namespaces {
            uts: at(0),
            ipc: at(1),
            mnt: at(2),
            pid_for_children: at(3),
            net: at(4),
            time: at(5),
            time_for_children: at(6),
            cgroup: at(7),
            pid: at(NS_SLOTS),
            user: at(NS_SLOTS + 1),
        })
    }

    fn retain(&mut self, key: ExecKey) {
        if let Some(e) = self.entries.get_mut(&key) {
            e.refs += 1;
        }
    }

    /// The image stops living (replaced or exited): drop its own reference.
    fn end_image(&mut self, key: ExecKey, stage: Stage, now: u64) {
        if self.current.get(&key.pid) == Some(&key) {
            self.current.remove(&key.pid);
        }
        if let Some(e) = self.entries.get_mut(&key) {
            e.stage = stage;
        }
        self.release(key, now);
    }

    fn release(&mut self, key: ExecKey, now: u64) {
        if let Some(e) = self.entries.get_mut(&key) {
            e.refs = e.refs.saturating_sub(1);
            if e.refs == 0 {
                self.released.push_back((now, key));
            }
        }
    }

    /// Deletes released entries whose grace period is over, or the oldest ones while the table
    /// is over capacity; deleting an entry releases its parent.
    fn purge(&mut self, now: u64) {
        while let Some(&(released_at, key)) = self.released.front() {
            let expired = released_at + GRACE_NS <= now;
            let over = self.entries.len() > self.capacity;
            if !expired && !over {
                break;
            }
            self.released.pop_front();
            if !expired {
                self.stats.evicted += 1;
            }
            if let Some(parent) = self.entries.remove(&key).and_then(|e| e.parent) {
                self.release(parent, now);
            }
        }
    }
}

/// Tetragon's `GetBinaryAbsolutePath`: a relative program path is taken from the cwd.
fn absolute_binary(binary: &str, cwd: &str) -> String {
    if binary.starts_with('/') || cwd.is_empty() {
        return binary.to_string();
    }
    let relative = binary.strip_prefix("./").unwrap_or(binary);
    format!("{}/{relative}", cwd.trim_end_matches('/'))
}

/// Arguments joined by spaces; one holding a space is wrapped in double quotes, as Tetragon does.
fn join_arguments(args: &[String]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if arg.contains(' ') {
            out.push('"');
            out.push_str(arg);
            out.push('"');
        } else {
            out.push_str(arg);
        }
    }
    out
}

#[cfg(test)]
mod tests;
