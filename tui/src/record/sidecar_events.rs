//! tetrascope's own events read back from a sidecar, in order, each due after a number of
//! recording-file events: a replay puts them back where they were in the stream.
use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

use super::format::{MetaRecord, SidecarEvent, is_sidecar_event};
use crate::event::Event;

pub(super) struct SidecarEvents {
    input: BufReader<File>,
    line: Vec<u8>,
    /// Records of fewer recording events than this are skipped (before a checkpoint).
    from: u64,
    next: Option<Box<SidecarEvent>>,
}

impl SidecarEvents {
    /// Reads `path` from byte `offset`, skipping records due before `from` events; None when
    /// there is no sidecar.
    pub(super) fn open(path: &Path, offset: u64, from: u64) -> io::Result<Option<Self>> {
        let mut file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        file.seek(SeekFrom::Start(offset))?;
        Ok(Some(Self {
            input: BufReader::new(file),
            line: Vec::with_capacity(4096),
            from,
            next: None,
        }))
    }

    /// The next event once `events` recording events have been read, if one is due by then.
    pub(super) fn due(&mut self, events: u64) -> io::Result<Option<Event>> {
        if self.next.is_none() {
            self.next = self.read_next()?;
        }
        if self.next.as_ref().is_some_and(|next| next.events <= events) {
            return Ok(self.next.take().map(|next| next.event));
        }
        Ok(None)
    }

    /// The next sidecar event record at or after `from`. Other records, a torn last line and
    /// lines that do not decode (a later revision's) are passed over: the sidecar reader
    /// reports damage when the recording opens.
    fn read_next(&mut self) -> io::Result<Option<Box<SidecarEvent>>> {
        loop {
            self.line.clear();
            if self.input.read_until(b'\n', &mut self.line)? == 0 {
                return Ok(None);
            }
            if self.line.last() != Some(&b'\n') || !is_sidecar_event(&self.line) {
                continue;
            }
            if let Ok(MetaRecord::Event(record)) = serde_json::from_slice(&self.line)
                && record.events >= self.from
            {
                return Ok(Some(record));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use crate::event::{Event, EventBody, TetrascopeSyscallStats};
    use crate::record::tests::{TempDir, every, record, workload};
    use crate::record::{ReadItem, Recording};

    /// The workload with a statistics event after every seventh event.
    fn with_stats(n: u64) -> Vec<Event> {
        let mut events = Vec::new();
        for (i, event) in workload(n).into_iter().enumerate() {
            let time = event.time;
            events.push(event);
            if i % 7 == 0 {
                let stats = TetrascopeSyscallStats {
                    count: i as u64,
                    ..TetrascopeSyscallStats::default()
                };
                events.push(Event {
                    time,
                    ..Event::new(EventBody::TetrascopeSyscallStats(stats))
                });
            }
        }
        events
    }

    fn read_all(recording: &Recording, from: Option<usize>) -> Vec<Event> {
        let mut reader = match from {
            Some(i) => recording.events_from(&recording.checkpoints[i]).unwrap(),
            None => recording.events().unwrap(),
        };
        let mut events = Vec::new();
        while let Some(item) = reader.next_item().unwrap() {
            match item {
                ReadItem::Event(event) => events.push(event),
                other => panic!("{other:?}"),
            }
        }
        events
    }

    #[test]
    fn own_events_live_in_the_sidecar_and_come_back_in_place() {
        let dir = TempDir::new();
        let path = dir.join("stats.jsonl");
        let events = with_stats(300);
        record(&path, &events, every(50));
        let main = fs::read_to_string(&path).unwrap();
        assert!(
            !main.contains("tetrascope_"),
            "the recording file is Tetragon's"
        );
        let recording = Recording::open(&path).unwrap();
        assert!(recording.sidecar_problems.is_empty());
        assert_eq!(read_all(&recording, None), events);

        // From each checkpoint: the stream after its `events` recording-file events.
        for (i, checkpoint) in recording.checkpoints.iter().enumerate() {
            let mut main_seen = 0;
            let start = events
                .iter()
                .position(|event| {
                    let reached = main_seen == checkpoint.events;
                    main_seen += u64::from(!event.event_type().is_tetrascope());
                    reached
                })
                .unwrap_or(events.len());
            assert_eq!(
                read_all(&recording, Some(i)),
                events[start..],
                "checkpoint {i}"
            );
        }
    }
}
