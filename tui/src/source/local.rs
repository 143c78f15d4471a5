//! The local source: the sensor's records through the process model, as Tetragon events.
use std::path::Path;

use anyhow::Result;

use crate::{
    event::Event,
    model::{BootClock, ModelStats, ProcessTable},
    policy::{
        hit_event,
        model::{Mode, TracingPolicy},
        resolve::KernelFeatures,
        store::{PolicyEntry, PolicySource, PolicyStore},
    },
    sensor::{PolicyHit, Sensor, SensorRecord, StartupReport, procfs, tracefs},
};

/// Loss and health counters of a local source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalCounters {
    /// Records the kernel could not put in the ring buffer.
    pub kernel_lost: u64,
    /// Records that could not be decoded.
    pub malformed: u64,
    pub model: ModelStats,
}

pub struct LocalSource {
    node_name: String,
    sensor: Sensor,
    table: ProcessTable,
    policies: PolicyStore,
    records: Vec<SensorRecord>,
}

impl LocalSource {
    /// Attaches the probes first and walks /proc after, so that no process falls in between;
    /// records of processes the walk also found are reconciled by the model.
    pub fn start(node_name: String) -> Result<(Self, StartupReport, usize)> {
        let (mut sensor, report) = Sensor::start()?;
        let proc_root = Path::new("/proc");
        let host_ns = procfs::host_namespaces(proc_root);
        let mut table = ProcessTable::new(node_name.clone(), BootClock::now(), host_ns);
        let running = procfs::snapshot(proc_root);
        let seeded = running.len();
        sensor.seed_processes(&running);
        table.seed(running);
        let features = KernelFeatures::probe(std::path::Path::new(tracefs::TRACEFS));
        let source = Self {
            node_name,
            sensor,
            table,
            policies: PolicyStore::new(features, host_ns),
            records: Vec::new(),
        };
        Ok((source, report, seeded))
    }

    /// Waits for the next batch of records and appends the events they make to `out`.
    pub async fn next_batch(&mut self, out: &mut Vec<Event>) -> Result<()> {
        self.sensor.next_batch(&mut self.records).await?;
        self.apply(out);
        Ok(())
    }

    /// Takes whatever is waiting, without blocking (the last drain before stopping).
    pub fn drain(&mut self, out: &mut Vec<Event>) {
        self.sensor.drain(&mut self.records);
        self.apply(out);
    }

    fn apply(&mut self, out: &mut Vec<Event>) {
        let mut records = std::mem::take(&mut self.records);
        for record in records.drain(..) {
            match record {
                SensorRecord::Hit(hit) => out.extend(self.hit_event(&hit)),
                other => out.extend(self.table.apply(other)),
            }
        }
        // Keep the buffer's capacity for the next batch.
        self.records = records;
    }

    /// The event of a posted policy hit.
    fn hit_event(&self, hit: &PolicyHit) -> Option<Event> {
        use tetrascope_shared::policy::outcome;
        if hit.outcome & outcome::POSTED == 0 {
            return None;
        }
        let meta = self.policies.hook_meta(hit.hook)?;
        Some(
            self.table
                .process_event(hit.ktime, hit.pid, hit.tid, |process, parent| {
                    hit_event::kprobe_body(meta, hit, process, parent)
                }),
        )
    }

    pub fn policies(&self) -> &PolicyStore {
        &self.policies
    }

    /// Adds a policy and loads it into the probes (see [`PolicyStore::add`]).
    pub fn add_policy(
        &mut self,
        policy: TracingPolicy,
        source: PolicySource,
        mode: Option<Mode>,
    ) -> Result<&PolicyEntry, String> {
        self.policies
            .add(policy, source, mode, Some(&mut self.sensor))
    }

    pub fn set_policy_enabled(&mut self, name: &str, enabled: bool) -> Result<(), String> {
        self.policies
            .set_enabled(name, enabled, Some(&mut self.sensor))
    }

    pub fn set_policy_mode(&mut self, name: &str, mode: Mode) -> Result<(), String> {
        self.policies.set_mode(name, mode, Some(&mut self.sensor))
    }

    pub fn disarm_all(&mut self) -> usize {
        self.policies.disarm_all(Some(&mut self.sensor))
    }

    pub fn remove_policy(&mut self, name: &str) -> Result<PolicyEntry, String> {
        self.policies.remove(name, Some(&mut self.sensor))
    }

    /// Reads the probes' per-policy counters into the store.
    pub fn refresh_policy_counters(&mut self) {
        self.policies.refresh_counters(&self.sensor);
    }

    /// The node name in this source's events.
    pub fn node_name(&self) -> &str {
        &self.node_name
    }

    pub fn counters(&self) -> LocalCounters {
        LocalCounters {
            kernel_lost: self.sensor.lost(),
            malformed: self.sensor.malformed(),
            model: self.table.stats(),
        }
    }
}
