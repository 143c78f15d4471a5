//! A recording of the live stream, as `record`, `getevents --record` and the UI's record key
//! make it.
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{CaptureOptions, Header, RecordedPolicy, Recorder, RecorderOptions, Summary};
use crate::{
    event::Event,
    policy::{
        model::Mode,
        store::{PolicyEntry, PolicyStatus, PolicyStore},
    },
    source::local::LocalSource,
};

/// A recording of the live stream, as `record` and `getevents --record` make it.
pub struct LiveRecording {
    recorder: Recorder,
    path: PathBuf,
    /// The policies loaded when recording began went into the sidecar.
    policies_noted: bool,
}

impl LiveRecording {
    pub fn create(path: &Path, node_name: &str) -> Result<Self> {
        let header = Header::new(CaptureOptions {
            source: "local".into(),
            node_name: node_name.to_string(),
            args: std::env::args().collect(),
        });
        let recorder = Recorder::create(path, header, RecorderOptions::default())
            .with_context(|| format!("creating {}", path.display()))?;
        Ok(Self {
            recorder,
            path: path.to_path_buf(),
            policies_noted: false,
        })
    }

    /// Writes a batch (every event: filters apply to what is shown, not to what is kept) and
    /// hands it to the OS at once: batches come every 50 ms at most, and a recorder killed with
    /// SIGKILL then loses nothing it had read but a partly written last line.
    /// The first batch also notes the policies loaded at that moment; later changes are the
    /// caller's to note ([`LiveRecording::note_policy`]).
    pub fn record(&mut self, events: &[Event], source: &LocalSource) -> Result<()> {
        if !self.policies_noted {
            self.policies_noted = true;
            for policy in recorded_policies(source.policies()) {
                self.recorder.note_policy("loaded", policy)?;
            }
        }
        let counters = source.counters();
        self.recorder
            .set_counter("kernel_lost", counters.kernel_lost);
        self.recorder.set_counter("undecodable", counters.malformed);
        self.recorder
            .set_counter("file_records_dropped", counters.file_records_dropped);
        for event in events {
            self.recorder.write(event)?;
        }
        self.recorder.flush()?;
        Ok(())
    }

    /// Notes a policy change between the events recorded so far and the next ones.
    pub fn note_policy(&mut self, change: &str, policy: RecordedPolicy) -> Result<()> {
        self.recorder.note_policy(change, policy)?;
        self.recorder.flush()?;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Events and bytes written so far.
    pub fn stats(&self) -> Summary {
        self.recorder.stats()
    }

    pub fn finish(self) -> Result<Summary> {
        Ok(self.recorder.finish()?)
    }
}

/// Every policy of the store as a recording keeps it.
pub fn recorded_policies(store: &PolicyStore) -> Vec<RecordedPolicy> {
    store.entries().iter().map(recorded_policy).collect()
}

pub fn recorded_policy(entry: &PolicyEntry) -> RecordedPolicy {
    RecordedPolicy {
        name: entry.name().to_owned(),
        enabled: entry.status == PolicyStatus::Enabled,
        mode: match entry.mode {
            Mode::Enforce => "enforce",
            Mode::Monitor => "monitor",
        }
        .into(),
        source: entry.source.to_string(),
        problems: entry.problems.clone(),
        yaml: entry.policy.yaml.clone(),
    }
}
