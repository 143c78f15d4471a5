//! The replay source: a recording (or a Tetragon export file) played back with its original
//! timing, scaled by a speed, with pause, single steps and seeking through the checkpoints.
use std::{
    io,
    path::Path,
    time::{Duration, Instant},
};

use crate::{
    event::{Event, Timestamp},
    model::ProcessView,
    record::{Checkpoint, EventReader, OpenError, ReadItem, Recording},
};

/// How a replay starts.
#[derive(Clone, Copy, Debug)]
pub struct ReplayOptions {
    /// Multiplier of the original pace; `None` plays as fast as the reader goes.
    pub speed: Option<f64>,
    pub paused: bool,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        Self {
            speed: Some(1.0),
            paused: false,
        }
    }
}

pub struct ReplaySource {
    recording: Recording,
    reader: EventReader,
    view: ProcessView,
    options: ReplayOptions,
    /// An event read but not yet due.
    pending: Option<Event>,
    /// The pending event is counted by the reader's `events_read` (it came from the recording
    /// file, not from the sidecar).
    pending_counted: bool,
    /// The wall instant at which events of time `.1` are due; re-set on pause, speed and seek.
    anchor: Option<(Instant, Timestamp)>,
}

impl ReplaySource {
    pub fn open(path: &Path, options: ReplayOptions) -> Result<Self, OpenError> {
        let recording = Recording::open(path)?;
        let reader = recording
            .events()
            .map_err(|e| OpenError::Io(e, path.to_path_buf()))?;
        Ok(Self {
            recording,
            reader,
            view: ProcessView::new(),
            options,
            pending: None,
            pending_counted: false,
            anchor: None,
        })
    }

    pub fn recording(&self) -> &Recording {
        &self.recording
    }

    /// The living processes as of the last event returned.
    pub fn view(&self) -> &ProcessView {
        &self.view
    }

    pub fn is_paused(&self) -> bool {
        self.options.paused
    }

    pub fn speed(&self) -> Option<f64> {
        self.options.speed
    }

    /// Events returned so far, counted from the start of the recording.
    pub fn position(&self) -> u64 {
        self.reader.events_read() - u64::from(self.pending.is_some() && self.pending_counted)
    }

    pub fn pause(&mut self) {
        self.options.paused = true;
    }

    pub fn resume(&mut self) {
        self.options.paused = false;
        self.anchor = None; // no burst to catch up the paused time
    }

    pub fn set_speed(&mut self, speed: Option<f64>) {
        self.options.speed = speed.filter(|s| *s > 0.0);
        self.anchor = None;
    }

    /// The next item when it is due; waits forever while paused. Cancel-safe: an event waiting
    /// for its time stays pending in `self`.
    pub async fn next(&mut self) -> io::Result<Option<ReadItem>> {
        if self.options.paused {
            std::future::pending::<()>().await;
        }
        if self.pending.is_none() {
            let before = self.reader.events_read();
            match self.reader.next_item()? {
                Some(ReadItem::Event(event)) => self.hold(event, before),
                other => return Ok(other),
            }
        }
        if let Some(due) = self.due(self.pending.as_ref().and_then(|e| e.time)) {
            tokio::time::sleep_until(due.into()).await;
        }
        Ok(self.pending.take().map(|event| self.emit(event)))
    }

    /// The next item at once, whatever the pause state and timing.
    pub fn step(&mut self) -> io::Result<Option<ReadItem>> {
        self.anchor = None;
        if let Some(event) = self.pending.take() {
            return Ok(Some(self.emit(event)));
        }
        Ok(match self.reader.next_item()? {
            Some(ReadItem::Event(event)) => Some(self.emit(event)),
            other => other,
        })
    }

    /// Keeps `event`, read when the reader had read `before` events, for later.
    fn hold(&mut self, event: Event, before: u64) {
        self.pending_counted = self.reader.events_read() > before;
        self.pending = Some(event);
    }

    fn emit(&mut self, event: Event) -> ReadItem {
        self.view.apply(&event);
        ReadItem::Event(event)
    }

    /// When an event of time `time` is due, or None when it is due now.
    fn due(&mut self, time: Option<Timestamp>) -> Option<Instant> {
        let (speed, time) = (self.options.speed?, time?);
        let (wall, origin) = *self.anchor.get_or_insert((Instant::now(), time));
        let behind_ns = time.unix_nanos() - origin.unix_nanos();
        if behind_ns <= 0 {
            return None;
        }
        Some(wall + Duration::from_secs_f64(behind_ns as f64 / 1e9 / speed))
    }

    /// Moves to the first event at or after `time`: from the nearest checkpoint when the
    /// recording has them, else from the start.
    pub fn seek_time(&mut self, time: Timestamp) -> io::Result<()> {
        let checkpoint = self.recording.checkpoint_at_or_before_time(time).cloned();
        self.restart_at(checkpoint.as_ref())?;
        self.skip_while(|event, _| event.time.is_some_and(|t| t < time))
    }

    /// The time of the recording's first event (None for an empty recording or one without
    /// times).
    pub fn first_time(&self) -> io::Result<Option<Timestamp>> {
        let mut reader = self.recording.events()?;
        while let Some(item) = reader.next_item()? {
            if let ReadItem::Event(event) = item {
                return Ok(event.time);
            }
        }
        Ok(None)
    }

    /// Moves to event number `index` (0-based, counted from the start of the recording).
    pub fn seek_event(&mut self, index: u64) -> io::Result<()> {
        let checkpoint = self.recording.checkpoint_at_or_before_event(index).cloned();
        self.restart_at(checkpoint.as_ref())?;
        self.skip_while(|_, read| read <= index)
    }

    /// Moves to a fraction (0..=1) of the recording's events. Without a sidecar summary the
    /// total is counted by reading the file once.
    pub fn seek_fraction(&mut self, fraction: f64) -> io::Result<()> {
        let total = match self.recording.summary.as_ref().map(|s| s.events) {
            Some(total) => total,
            None => self.count_events()?,
        };
        let index = (fraction.clamp(0.0, 1.0) * total as f64) as u64;
        self.seek_event(index.min(total))
    }

    fn count_events(&self) -> io::Result<u64> {
        let mut reader = self.recording.events()?;
        while reader.next_item()?.is_some() {}
        Ok(reader.events_read())
    }

    fn restart_at(&mut self, checkpoint: Option<&Checkpoint>) -> io::Result<()> {
        (self.reader, self.view) = match checkpoint {
            Some(c) => (
                self.recording.events_from(c)?,
                ProcessView::restore(c.processes.clone()),
            ),
            None => (self.recording.events()?, ProcessView::new()),
        };
        self.pending = None;
        self.anchor = None;
        Ok(())
    }

    /// Reads events into the view while `skip(event, events read so far)` holds; the first one
    /// that fails it becomes pending.
    fn skip_while(&mut self, skip: impl Fn(&Event, u64) -> bool) -> io::Result<()> {
        loop {
            let before = self.reader.events_read();
            let Some(item) = self.reader.next_item()? else {
                break;
            };
            if let ReadItem::Event(event) = item {
                if !skip(&event, self.reader.events_read()) {
                    self.hold(event, before);
                    break;
                }
                self.view.apply(&event);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::record::tests::{TempDir, at_millis, every, record, workload};

    /// A recording of the seed events and 2,000 synthetic ones (1 ms apart), checkpoints
    /// every 300 events.
    fn recorded(dir: &TempDir) -> (std::path::PathBuf, Vec<Event>) {
        let path = dir.join("replay.jsonl");
        let events = workload(2_000);
        record(&path, &events, every(300));
        (path, events)
    }

    fn fast() -> ReplayOptions {
        ReplayOptions {
            speed: None,
            paused: false,
        }
    }

    fn event_of(item: Option<ReadItem>) -> Event {
        match item {
            Some(ReadItem::Event(event)) => event,
            _ => panic!("expected an event"),
        }
    }

    fn view_after(events: &[Event]) -> ProcessView {
        let mut view = ProcessView::new();
        events.iter().for_each(|e| view.apply(e));
        view
    }

    #[tokio::test]
    async fn plays_every_event_in_order_and_keeps_the_view() {
        let dir = TempDir::new();
        let (path, events) = recorded(&dir);
        let mut replay = ReplaySource::open(&path, fast()).unwrap();
        for want in &events {
            assert_eq!(&event_of(replay.next().await.unwrap()), want);
        }
        assert!(replay.next().await.unwrap().is_none());
        assert_eq!(replay.view(), &view_after(&events));
    }

    #[tokio::test]
    async fn a_paused_replay_waits_but_steps() {
        let dir = TempDir::new();
        let (path, events) = recorded(&dir);
        let options = ReplayOptions {
            speed: Some(1.0),
            paused: true,
        };
        let mut replay = ReplaySource::open(&path, options).unwrap();
        let waited = tokio::time::timeout(Duration::from_millis(50), replay.next()).await;
        assert!(waited.is_err(), "paused: nothing comes");
        assert_eq!(event_of(replay.step().unwrap()), events[0]);
        assert_eq!(event_of(replay.step().unwrap()), events[1]);
        assert_eq!(replay.position(), 2);
        replay.resume();
        replay.set_speed(Some(1000.0));
        assert_eq!(event_of(replay.next().await.unwrap()), events[2]);
    }

    #[tokio::test]
    async fn seeks_by_time_event_and_fraction_agree_with_reading_from_the_start() {
        let dir = TempDir::new();
        let (path, events) = recorded(&dir);
        let mut replay = ReplaySource::open(&path, fast()).unwrap();

        // The synthetic events start at the third; event i+2 is at i ms.
        replay.seek_time(at_millis(1_234)).unwrap();
        assert_eq!(replay.position(), 1_236);
        assert_eq!(replay.view(), &view_after(&events[..1_236]));
        assert_eq!(event_of(replay.next().await.unwrap()), events[1_236]);

        replay.seek_event(17).unwrap();
        assert_eq!(replay.view(), &view_after(&events[..17]));
        assert_eq!(event_of(replay.next().await.unwrap()), events[17]);

        replay.seek_fraction(0.5).unwrap();
        let half = events.len() as u64 / 2;
        assert_eq!(replay.position(), half);
        assert_eq!(
            event_of(replay.next().await.unwrap()),
            events[half as usize]
        );

        replay.seek_fraction(1.0).unwrap();
        assert!(replay.next().await.unwrap().is_none(), "the end");
    }

    #[tokio::test]
    async fn a_file_without_sidecar_seeks_from_the_start() {
        let dir = TempDir::new();
        let (path, events) = recorded(&dir);
        std::fs::remove_file(crate::record::sidecar_path(&path)).unwrap();
        let mut replay = ReplaySource::open(&path, fast()).unwrap();
        replay.seek_fraction(0.25).unwrap();
        let quarter = events.len() / 4;
        assert_eq!(replay.view(), &view_after(&events[..quarter]));
        assert_eq!(event_of(replay.next().await.unwrap()), events[quarter]);
    }
}
