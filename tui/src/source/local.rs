//! The local source: the sensor's records through the process model, as Tetragon events.
use std::path::Path;

use anyhow::Result;

use crate::{
    event::Event,
    model::{BootClock, ModelStats, ProcessTable},
    sensor::{Sensor, SensorRecord, StartupReport, procfs},
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
    records: Vec<SensorRecord>,
}

impl LocalSource {
    /// Attaches the probes first and walks /proc after, so that no process falls in between;
    /// records of processes the walk also found are reconciled by the model.
    pub fn start(node_name: String) -> Result<(Self, StartupReport, usize)> {
        let (sensor, report) = Sensor::start()?;
        let proc_root = Path::new("/proc");
        let host_ns = procfs::host_namespaces(proc_root);
        let mut table = ProcessTable::new(node_name.clone(), BootClock::now(), host_ns);
        let running = procfs::snapshot(proc_root);
        let seeded = running.len();
        table.seed(running);
        let source = Self {
            node_name,
            sensor,
            table,
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
        for record in self.records.drain(..) {
            out.extend(self.table.apply(record));
        }
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
