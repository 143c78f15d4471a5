//! A recording of the live stream, as `record`, `getevents --record` and the UI's record key
//! make it.
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{CaptureOptions, Header, Recorder, RecorderOptions, Summary};
use crate::{event::Event, source::local::LocalCounters};

/// A recording of the live stream, as `record` and `getevents --record` make it.
pub struct LiveRecording {
    recorder: Recorder,
    path: PathBuf,
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
        })
    }

    /// Writes a batch (every event: filters apply to what is shown, not to what is kept) and
    /// hands it to the OS at once: batches come every 50 ms at most, and a recorder killed with
    /// SIGKILL then loses nothing it had read but a partly written last line.
    pub fn record(&mut self, events: &[Event], counters: &LocalCounters) -> Result<()> {
        self.recorder
            .set_counter("kernel_lost", counters.kernel_lost);
        self.recorder.set_counter("undecodable", counters.malformed);
        for event in events {
            self.recorder.write(event)?;
        }
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
