//! Writing a recording: event lines to the recording file (plain or zstd), the header,
//! checkpoints and the end record to the sidecar. Both files are only ever appended to.
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use zstd::stream::raw::{Encoder, InBuffer, Operation, OutBuffer};

use super::format::{
    Checkpoint, Header, MetaRecord, PolicyChange, RecordedPolicy, SidecarEvent, Summary,
    sidecar_path,
};
use crate::event::{Event, Timestamp, encode_json};
use crate::model::ProcessView;

/// When a [`Recorder`] flushes and checkpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecorderOptions {
    /// Longest time written events may stay in memory (checked on each write; the caller also
    /// calls [`Recorder::flush`] on a timer).
    pub flush_interval: Duration,
    /// A checkpoint after this many events (0: none by count).
    pub checkpoint_every_events: u64,
    /// A checkpoint when this much time has passed since the last one and events came since.
    pub checkpoint_interval: Duration,
}

impl Default for RecorderOptions {
    fn default() -> Self {
        Self {
            flush_interval: Duration::from_millis(200),
            checkpoint_every_events: 10_000,
            checkpoint_interval: Duration::from_secs(10),
        }
    }
}

/// zstd level: fast enough for an exec storm many times over, about 10x smaller than JSON.
const ZSTD_LEVEL: i32 = 3;
const PLAIN_BUFFER: usize = 1 << 16;
const ZSTD_OUT_BUFFER: usize = 1 << 17;

/// Writes a recording. Everything written before a [`flush`](Self::flush) (or an automatic one)
/// survives a SIGKILL of the process.
pub struct Recorder {
    sink: Sink,
    sidecar: File,
    options: RecorderOptions,
    view: ProcessView,
    line: Vec<u8>,
    meta: Vec<u8>,
    /// Bytes written to the sidecar.
    meta_len: u64,
    /// Sidecar bytes written when the recording file got its last event: sidecar events of the
    /// current event count start there.
    meta_mark: u64,
    events: u64,
    last_time: Option<Timestamp>,
    counters: BTreeMap<String, u64>,
    checkpoints: u64,
    /// Events and counters as of the last checkpoint.
    checkpoint_events: u64,
    counters_changed: bool,
    last_checkpoint: Instant,
    last_flush: Instant,
    /// Events written since the last flush.
    unflushed: bool,
    /// An I/O error happened: a file may end in a partial line, so nothing more is appended.
    failed: bool,
    finished: bool,
}

impl Recorder {
    /// Creates `path` and its sidecar (both must not exist), writes the header and a first
    /// checkpoint at offset 0. A path ending in `.zst` makes a zstd-compressed recording.
    pub fn create(path: &Path, header: Header, options: RecorderOptions) -> anyhow::Result<Self> {
        let meta_path = sidecar_path(path);
        let file = create_new(path)?;
        let sidecar = match create_new(&meta_path) {
            Ok(sidecar) => sidecar,
            Err(e) => {
                // Ours and still empty.
                let _ = fs::remove_file(path);
                return Err(e);
            }
        };
        let compressed = path.extension().is_some_and(|e| e == "zst");
        let sink = if compressed {
            match ZstdSink::new(file) {
                Ok(zstd) => Sink::Zstd(zstd),
                Err(e) => {
                    let _ = fs::remove_file(path);
                    let _ = fs::remove_file(&meta_path);
                    return Err(e).context("starting the zstd compressor");
                }
            }
        } else {
            Sink::Plain {
                file: BufWriter::with_capacity(PLAIN_BUFFER, file),
                written: 0,
            }
        };
        let now = Instant::now();
        let mut recorder = Recorder {
            sink,
            sidecar,
            options,
            view: ProcessView::new(),
            line: Vec::with_capacity(4096),
            meta: Vec::with_capacity(4096),
            meta_len: 0,
            meta_mark: 0,
            events: 0,
            last_time: None,
            counters: BTreeMap::new(),
            checkpoints: 0,
            checkpoint_events: 0,
            counters_changed: false,
            last_checkpoint: now,
            last_flush: now,
            unflushed: false,
            failed: false,
            finished: false,
        };
        let started = recorder
            .write_meta(&MetaRecord::Header(header))
            .and_then(|()| recorder.checkpoint(now));
        if let Err(e) = started {
            recorder.finished = true;
            drop(recorder);
            let _ = fs::remove_file(path);
            let _ = fs::remove_file(&meta_path);
            return Err(e).with_context(|| format!("writing {}", meta_path.display()));
        }
        Ok(recorder)
    }

    /// Notes a policy change after the events written so far.
    pub fn note_policy(&mut self, change: &str, policy: RecordedPolicy) -> io::Result<()> {
        self.usable()?;
        let record = MetaRecord::Policy(PolicyChange {
            events: self.events,
            time: Timestamp::now(),
            change: change.to_owned(),
            policy,
        });
        self.write_meta(&record)
    }

    /// Appends one event line; checkpoints or flushes when due. tetrascope's own events go to
    /// the sidecar instead: the recording file stays readable by Tetragon's tools.
    pub fn write(&mut self, event: &Event) -> io::Result<()> {
        self.usable()?;
        if event.event_type().is_tetrascope() {
            let record = MetaRecord::Event(Box::new(SidecarEvent {
                events: self.events,
                event: event.clone(),
            }));
            return self.write_meta(&record);
        }
        self.line.clear();
        encode_json(event, &mut self.line);
        if let Err(e) = self.sink.write_all(&self.line) {
            self.failed = true;
            return Err(e);
        }
        self.events += 1;
        self.meta_mark = self.meta_len;
        self.unflushed = true;
        if event.time.is_some() {
            self.last_time = event.time;
        }
        self.view.apply(event);
        let now = Instant::now();
        let by_count = self.options.checkpoint_every_events > 0
            && self.events - self.checkpoint_events >= self.options.checkpoint_every_events;
        if by_count || now.duration_since(self.last_checkpoint) >= self.options.checkpoint_interval
        {
            self.checkpoint(now)
        } else if now.duration_since(self.last_flush) >= self.options.flush_interval {
            self.flush_at(now)
        } else {
            Ok(())
        }
    }

    /// Sets a counter (e.g. `kernel_lost`) kept in the checkpoints and the summary.
    pub fn set_counter(&mut self, name: &str, value: u64) {
        match self.counters.get_mut(name) {
            Some(v) if *v == value => return,
            Some(v) => *v = value,
            None => {
                self.counters.insert(name.to_string(), value);
            }
        }
        self.counters_changed = true;
    }

    /// Writes out every event written so far (a checkpoint instead, if one is due by time).
    pub fn flush(&mut self) -> io::Result<()> {
        self.usable()?;
        let now = Instant::now();
        if self.events > self.checkpoint_events
            && now.duration_since(self.last_checkpoint) >= self.options.checkpoint_interval
        {
            self.checkpoint(now)
        } else {
            self.flush_at(now)
        }
    }

    /// Totals so far (`bytes` counts compressed output the compressor has produced).
    pub fn stats(&self) -> Summary {
        Summary {
            events: self.events,
            bytes: self.sink.bytes(),
            checkpoints: self.checkpoints,
            end_time: self.last_time,
            counters: self.counters.clone(),
        }
    }

    /// A last checkpoint (unless nothing changed since the previous one), the End record, and
    /// everything flushed.
    pub fn finish(mut self) -> io::Result<Summary> {
        self.usable()?;
        if self.events > self.checkpoint_events || self.counters_changed {
            self.checkpoint(Instant::now())?;
        } else {
            self.flush_at(Instant::now())?;
        }
        let summary = self.stats();
        self.write_meta(&MetaRecord::End(summary.clone()))?;
        self.finished = true;
        Ok(summary)
    }

    fn usable(&self) -> io::Result<()> {
        if self.failed {
            return Err(io::Error::other(
                "the recording stopped at an earlier write error",
            ));
        }
        Ok(())
    }

    fn flush_at(&mut self, now: Instant) -> io::Result<()> {
        self.last_flush = now;
        if !self.unflushed {
            return Ok(());
        }
        if let Err(e) = self.sink.flush() {
            self.failed = true;
            return Err(e);
        }
        self.unflushed = false;
        Ok(())
    }

    /// Ends the current zstd frame, flushes, then records where the next event will start:
    /// the offset always points at data already in the file.
    fn checkpoint(&mut self, now: Instant) -> io::Result<()> {
        if let Err(e) = self.sink.end_segment() {
            self.failed = true;
            return Err(e);
        }
        self.unflushed = false;
        self.last_flush = now;
        let checkpoint = Checkpoint {
            events: self.events,
            lines: self.events,
            offset: self.sink.bytes(),
            time: self.last_time,
            processes: self.view.snapshot(),
            counters: self.counters.clone(),
            meta_offset: self.meta_mark,
        };
        self.write_meta(&MetaRecord::Checkpoint(checkpoint))?;
        self.checkpoints += 1;
        self.checkpoint_events = self.events;
        self.counters_changed = false;
        self.last_checkpoint = now;
        Ok(())
    }

    /// Appends one sidecar line in a single write.
    fn write_meta(&mut self, record: &MetaRecord) -> io::Result<()> {
        self.meta.clear();
        serde_json::to_writer(&mut self.meta, record)?;
        self.meta.push(b'\n');
        if let Err(e) = self.sidecar.write_all(&self.meta) {
            self.failed = true;
            return Err(e);
        }
        self.meta_len += self.meta.len() as u64;
        Ok(())
    }
}

impl Drop for Recorder {
    /// Without [`finish`](Recorder::finish) (an error path), keeps what was written, as a crash
    /// would, but flushed.
    fn drop(&mut self) {
        if !self.finished && !self.failed && self.unflushed {
            let _ = self.sink.flush();
        }
    }
}

fn create_new(path: &Path) -> anyhow::Result<File> {
    match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(file) => Ok(file),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => bail!(
            "{} already exists: recordings are never overwritten; choose another name or remove it",
            path.display()
        ),
        Err(e) => Err(e).with_context(|| format!("creating {}", path.display())),
    }
}

/// The recording file.
enum Sink {
    Plain {
        file: BufWriter<File>,
        /// Bytes written (buffered or not): the file size once flushed.
        written: u64,
    },
    Zstd(ZstdSink),
}

impl Sink {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Sink::Plain { file, written } => {
                file.write_all(data)?;
                *written += data.len() as u64;
                Ok(())
            }
            Sink::Zstd(zstd) => zstd.write_all(data),
        }
    }

    /// Everything written so far reaches the file (and decodes, for zstd).
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain { file, .. } => file.flush(),
            Sink::Zstd(zstd) => zstd.flush(),
        }
    }

    /// Flushes and, for zstd, ends the frame so that the next one can be decoded on its own.
    fn end_segment(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain { file, .. } => file.flush(),
            Sink::Zstd(zstd) => zstd.end_frame(),
        }
    }

    fn bytes(&self) -> u64 {
        match self {
            Sink::Plain { written, .. } => *written,
            Sink::Zstd(zstd) => zstd.written + zstd.out.len() as u64,
        }
    }
}

/// A zstd stream of frames: one frame per checkpoint interval, a block end at each flush.
struct ZstdSink {
    file: File,
    encoder: Encoder<'static>,
    /// Compressed output not yet written to the file.
    out: Vec<u8>,
    /// Bytes written to the file.
    written: u64,
    /// Input went into the current frame since it started.
    in_frame: bool,
    /// Input went in since the last flush.
    pending: bool,
}

impl ZstdSink {
    fn new(file: File) -> io::Result<Self> {
        Ok(Self {
            file,
            encoder: Encoder::new(ZSTD_LEVEL)?,
            out: Vec::with_capacity(ZSTD_OUT_BUFFER),
            written: 0,
            in_frame: false,
            pending: false,
        })
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        let mut input = InBuffer::around(data);
        while input.pos() < data.len() {
            self.make_room()?;
            let pos = self.out.len();
            let mut output = OutBuffer::around_pos(&mut self.out, pos);
            self.encoder.run(&mut input, &mut output)?;
        }
        self.in_frame = true;
        self.pending = true;
        Ok(())
    }

    /// Ends a block: everything compressed so far decodes from the file.
    fn flush(&mut self) -> io::Result<()> {
        if self.pending {
            loop {
                self.make_room()?;
                let pos = self.out.len();
                let mut output = OutBuffer::around_pos(&mut self.out, pos);
                if self.encoder.flush(&mut output)? == 0 {
                    break;
                }
            }
            self.pending = false;
        }
        self.drain()
    }

    /// Ends the frame (if one was started), writes everything out, and readies a new frame.
    fn end_frame(&mut self) -> io::Result<()> {
        if self.in_frame {
            loop {
                self.make_room()?;
                let pos = self.out.len();
                let mut output = OutBuffer::around_pos(&mut self.out, pos);
                if self.encoder.finish(&mut output, true)? == 0 {
                    break;
                }
            }
            self.encoder.reinit()?;
            self.in_frame = false;
            self.pending = false;
        }
        self.drain()
    }

    /// Makes sure `out` has free capacity for the compressor.
    fn make_room(&mut self) -> io::Result<()> {
        if self.out.len() == self.out.capacity() {
            self.drain()?;
        }
        Ok(())
    }

    fn drain(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.file.write_all(&self.out)?;
            self.written += self.out.len() as u64;
            self.out.clear();
        }
        Ok(())
    }
}
