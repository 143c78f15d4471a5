//! Reading a recording: its sidecar when there is one, and its events (plain or zstd) from the
//! start or from a checkpoint. A plain Tetragon export file is a recording without a sidecar.
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde_json::Value;
use zstd::stream::raw::{Decoder, InBuffer, Operation, OutBuffer};

use super::format::{
    Checkpoint, FORMAT_NAME, Header, MetaRecord, PolicyChange, RecordedPolicy, SUPPORTED_VERSIONS,
    Summary, is_sidecar_event, sidecar_path,
};
use super::sidecar_events::SidecarEvents;
use crate::event::{Event, Timestamp};
use crate::source::file::{JsonLines, ReadItem};

/// The first bytes of every zstd frame.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// Buffer of the decoded (JSON) bytes; lines are decoded from it.
const READ_BUFFER: usize = 1 << 16;

/// Why a recording cannot be read.
#[derive(Debug)]
pub enum OpenError {
    /// The recording (or its sidecar) could not be read.
    Io(io::Error, PathBuf),
    /// The (decompressed) file does not start with a JSON object.
    NotJsonLines(PathBuf),
    /// The sidecar was written in a format version this build does not read.
    UnsupportedVersion {
        found: u32,
        supported: &'static [u32],
    },
    /// The sidecar is not one of ours or is damaged before its last line.
    BadSidecar(PathBuf, String),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Io(e, path) => write!(f, "{}: {e}", path.display()),
            OpenError::NotJsonLines(path) => write!(
                f,
                "{}: not a recording or a Tetragon JSON export: it does not start with a JSON object",
                path.display()
            ),
            OpenError::UnsupportedVersion { found, supported } => {
                let versions: Vec<String> = supported.iter().map(u32::to_string).collect();
                write!(
                    f,
                    "recording format version {found} is not supported: tetrascope {} reads version {}",
                    env!("CARGO_PKG_VERSION"),
                    versions.join(", ")
                )
            }
            OpenError::BadSidecar(path, why) => {
                write!(f, "{}: bad recording sidecar: {why}", path.display())
            }
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Io(e, _) => Some(e),
            _ => None,
        }
    }
}

/// A recording, or a Tetragon export file (no sidecar: no header, no checkpoints).
#[derive(Clone, Debug)]
pub struct Recording {
    pub path: PathBuf,
    pub header: Option<Header>,
    /// In the order written; offsets, event and line counts never decrease.
    pub checkpoints: Vec<Checkpoint>,
    /// The End record of a cleanly closed recording.
    pub summary: Option<Summary>,
    /// zstd-compressed (found by the zstd magic number, or by a `.zst` name when the file is
    /// too short to tell).
    pub compressed: bool,
    /// Damage tolerated in the sidecar (a torn last line, checkpoints that do not fit the
    /// recording), one message each, naming the sidecar.
    pub sidecar_problems: Vec<String>,
    /// Policy changes while recording, in order.
    pub policy_changes: Vec<PolicyChange>,
}

impl Recording {
    /// The policies as they stood after `events` events: the header's, with every change
    /// recorded up to there applied.
    pub fn policies_at(&self, events: u64) -> Vec<RecordedPolicy> {
        let mut policies = self
            .header
            .as_ref()
            .map(|h| h.policies.clone())
            .unwrap_or_default();
        for change in self
            .policy_changes
            .iter()
            .take_while(|c| c.events <= events)
        {
            policies.retain(|p| p.name != change.policy.name);
            if change.change != "unloaded" {
                policies.push(change.policy.clone());
            }
        }
        policies
    }

    /// Opens `path` and reads its sidecar, if it has one.
    pub fn open(path: &Path) -> Result<Self, OpenError> {
        let mut recording = Self::open_events_only(path)?;
        let meta_path = sidecar_path(path);
        let data = match fs::read(&meta_path) {
            Ok(data) => data,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(recording),
            Err(e) => return Err(OpenError::Io(e, meta_path)),
        };
        let sidecar = parse_sidecar(&meta_path, &data)?;
        recording.header = sidecar.header;
        recording.summary = sidecar.summary;
        recording.sidecar_problems = sidecar.problems;
        recording.policy_changes = sidecar.policy_changes;
        recording.checkpoints = recording
            .usable_checkpoints(sidecar.checkpoints, &meta_path)
            .map_err(|e| OpenError::Io(e, path.to_path_buf()))?;
        Ok(recording)
    }

    /// Opens `path` without looking at its sidecar: only its events can be read (e.g. to dump
    /// the events of a recording whose sidecar is damaged or of a newer version).
    pub fn open_events_only(path: &Path) -> Result<Self, OpenError> {
        let io_error = |e| OpenError::Io(e, path.to_path_buf());
        let mut file = File::open(path).map_err(io_error)?;
        let mut magic = [0u8; 4];
        let n = read_up_to(&mut file, &mut magic).map_err(io_error)?;
        let named_zst = path.extension().is_some_and(|e| e == "zst");
        let compressed = if n == magic.len() {
            magic == ZSTD_MAGIC
        } else {
            named_zst && magic[..n] == ZSTD_MAGIC[..n]
        };
        file.seek(SeekFrom::Start(0)).map_err(io_error)?;
        let mut text =
            BufReader::with_capacity(READ_BUFFER, Input::new(file, compressed).map_err(io_error)?);
        if first_non_blank_byte(&mut text)
            .map_err(io_error)?
            .is_some_and(|b| b != b'{')
        {
            return Err(OpenError::NotJsonLines(path.to_path_buf()));
        }
        Ok(Recording {
            path: path.to_path_buf(),
            header: None,
            checkpoints: Vec::new(),
            summary: None,
            compressed,
            sidecar_problems: Vec::new(),
            policy_changes: Vec::new(),
        })
    }

    /// The events from the start.
    pub fn events(&self) -> io::Result<EventReader> {
        self.reader_at(0, 0, 0, 0)
    }

    /// The events after `checkpoint`; line numbers and [`EventReader::events_read`] count from
    /// the start of the recording.
    pub fn events_from(&self, checkpoint: &Checkpoint) -> io::Result<EventReader> {
        self.reader_at(
            checkpoint.offset,
            checkpoint.lines,
            checkpoint.events,
            checkpoint.meta_offset,
        )
    }

    /// The last checkpoint such that it and every one before it come before `time` or at it:
    /// reading from there and skipping events before `time` reaches `time`.
    pub fn checkpoint_at_or_before_time(&self, time: Timestamp) -> Option<&Checkpoint> {
        self.checkpoints
            .iter()
            .take_while(|c| match c.time {
                Some(t) => t <= time,
                // Events without times: only the start is known to come before.
                None => c.events == 0,
            })
            .last()
    }

    /// The last checkpoint with at most `index` events before it: event `index` (0-based) is
    /// the first one read from it or comes later.
    pub fn checkpoint_at_or_before_event(&self, index: u64) -> Option<&Checkpoint> {
        self.checkpoints
            .iter()
            .take_while(|c| c.events <= index)
            .last()
    }

    /// Events from byte `offset` of the recording file, after `lines` lines and `events`
    /// events, merged with the sidecar's events from its byte `meta_offset`.
    fn reader_at(
        &self,
        offset: u64,
        lines: u64,
        events: u64,
        meta_offset: u64,
    ) -> io::Result<EventReader> {
        let mut file = File::open(&self.path)?;
        if offset > 0 {
            file.seek(SeekFrom::Start(offset))?;
        }
        let input = BufReader::with_capacity(READ_BUFFER, Input::new(file, self.compressed)?);
        // Only a sidecar that read as ours is trusted for events.
        let sidecar = match self.header {
            Some(_) => SidecarEvents::open(&sidecar_path(&self.path), meta_offset, events)?,
            None => None,
        };
        Ok(EventReader {
            lines: JsonLines::resume(input, lines, events),
            sidecar,
        })
    }

    /// Drops checkpoints that do not fit the recording file: out of order, past its end, or
    /// not at the start of a line (plain) or of a zstd frame.
    fn usable_checkpoints(
        &mut self,
        checkpoints: Vec<Checkpoint>,
        meta_path: &Path,
    ) -> io::Result<Vec<Checkpoint>> {
        let file = File::open(&self.path)?;
        let len = file.metadata()?.len();
        let mut usable: Vec<Checkpoint> = Vec::with_capacity(checkpoints.len());
        for checkpoint in checkpoints {
            let problem = if usable.last().is_some_and(|last| {
                checkpoint.events < last.events
                    || checkpoint.lines < last.lines
                    || checkpoint.offset < last.offset
            }) {
                Some("comes before the previous one".to_string())
            } else if checkpoint.offset > len {
                Some(format!(
                    "lies past the end of the recording ({len} bytes): it was cut short"
                ))
            } else if !starts_segment(&file, checkpoint.offset, len, self.compressed)? {
                Some(format!(
                    "does not start {} in {}: is this sidecar the recording's?",
                    if self.compressed {
                        "a zstd frame"
                    } else {
                        "a line"
                    },
                    self.path.display()
                ))
            } else {
                None
            };
            match problem {
                Some(why) => self.sidecar_problems.push(format!(
                    "{}: checkpoint at event {} (byte {}) {why}; ignored",
                    meta_path.display(),
                    checkpoint.events,
                    checkpoint.offset
                )),
                None => usable.push(checkpoint),
            }
        }
        Ok(usable)
    }
}

/// Reads the events of a recording: [`ReadItem`]s, the last of which may be a torn tail.
pub struct EventReader {
    lines: JsonLines<BufReader<Input>>,
    /// tetrascope's own events, from the sidecar.
    sidecar: Option<SidecarEvents>,
}

impl EventReader {
    /// The next event, bad line or torn tail; None at the end. Sidecar events come at their
    /// place among the recording file's.
    pub fn next_item(&mut self) -> io::Result<Option<ReadItem>> {
        if let Some(event) = self.sidecar_event_due(self.lines.events_read())? {
            return Ok(Some(ReadItem::Event(event)));
        }
        match self.lines.next_item()? {
            Some(item) => Ok(Some(item)),
            None => Ok(self.sidecar_event_due(u64::MAX)?.map(ReadItem::Event)),
        }
    }

    fn sidecar_event_due(&mut self, events: u64) -> io::Result<Option<Event>> {
        match &mut self.sidecar {
            Some(sidecar) => sidecar.due(events),
            None => Ok(None),
        }
    }

    /// Events of the recording file returned so far, counting from the start of the recording
    /// (from the checkpoint's `events` after [`Recording::events_from`]); sidecar events are
    /// not counted.
    pub fn events_read(&self) -> u64 {
        self.lines.events_read()
    }

    /// Lines read so far, counted the same way.
    pub fn lines_read(&self) -> u64 {
        self.lines.lines_read()
    }
}

/// The decoded bytes of the recording file.
enum Input {
    Plain(File),
    Zstd(Box<ZstdInput>),
}

impl Input {
    fn new(file: File, compressed: bool) -> io::Result<Self> {
        Ok(if compressed {
            Input::Zstd(Box::new(ZstdInput::new(file)?))
        } else {
            Input::Plain(file)
        })
    }
}

impl Read for Input {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::Plain(file) => file.read(out),
            Input::Zstd(zstd) => zstd.read(out),
        }
    }
}

/// Decompresses a sequence of zstd frames. The file may end anywhere (a recorder killed
/// mid-frame): everything in its complete blocks is returned, then the end, as for a file
/// cut mid-line.
struct ZstdInput {
    file: BufReader<File>,
    decoder: Decoder<'static>,
    /// The last frame was decoded to its end (or none was started).
    finished_frame: bool,
}

impl ZstdInput {
    fn new(file: File) -> io::Result<Self> {
        Ok(Self {
            file: BufReader::with_capacity(READ_BUFFER, file),
            decoder: Decoder::new()?,
            finished_frame: true,
        })
    }
}

impl Read for ZstdInput {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        // First without new input: the decoder may hold output of the input it has.
        let mut first = true;
        loop {
            let input: &[u8] = if first { &[] } else { self.file.fill_buf()? };
            if !first && input.is_empty() {
                // The end of the file, in a frame or not.
                return Ok(0);
            }
            if self.finished_frame {
                if input.is_empty() {
                    first = false;
                    continue;
                }
                self.decoder.reinit()?;
                self.finished_frame = false;
            }
            let mut src = InBuffer::around(input);
            let mut dst = OutBuffer::around(out);
            let hint = self.decoder.run(&mut src, &mut dst)?;
            let (consumed, produced) = (src.pos(), dst.pos());
            self.file.consume(consumed);
            if hint == 0 {
                self.finished_frame = true;
            }
            if produced > 0 {
                return Ok(produced);
            }
            if !first && consumed == 0 && hint != 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the zstd decoder made no progress",
                ));
            }
            first = false;
        }
    }
}

/// Reads into `buf` until it is full or the file ends; returns how much was read.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn first_non_blank_byte(reader: &mut impl BufRead) -> io::Result<Option<u8>> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        if let Some(&b) = buf.iter().find(|b| !b.is_ascii_whitespace()) {
            return Ok(Some(b));
        }
        let n = buf.len();
        reader.consume(n);
    }
}

/// Whether a checkpoint's `offset` is where the next line (plain) or zstd frame starts.
fn starts_segment(file: &File, offset: u64, len: u64, compressed: bool) -> io::Result<bool> {
    if offset == 0 || offset == len {
        return Ok(true);
    }
    if compressed {
        let mut magic = [0u8; 4];
        if len - offset < magic.len() as u64 {
            return Ok(false);
        }
        file.read_exact_at(&mut magic, offset)?;
        Ok(magic == ZSTD_MAGIC)
    } else {
        let mut newline = [0u8; 1];
        file.read_exact_at(&mut newline, offset - 1)?;
        Ok(newline[0] == b'\n')
    }
}

/// What a sidecar says.
#[derive(Default)]
struct Sidecar {
    header: Option<Header>,
    checkpoints: Vec<Checkpoint>,
    summary: Option<Summary>,
    problems: Vec<String>,
    policy_changes: Vec<PolicyChange>,
}

fn parse_sidecar(path: &Path, data: &[u8]) -> Result<Sidecar, OpenError> {
    let bad = |why: String| OpenError::BadSidecar(path.to_path_buf(), why);
    let mut sidecar = Sidecar::default();
    let mut header_read = false;
    let mut number = 0u64;
    let mut rest = data;
    while !rest.is_empty() {
        let (line, complete) = match rest.iter().position(|&b| b == b'\n') {
            Some(end) => {
                let line = &rest[..end];
                rest = &rest[end + 1..];
                (line, true)
            }
            None => (std::mem::take(&mut rest), false),
        };
        number += 1;
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        let torn = |e: &serde_json::Error| !complete && e.is_eof();
        if !header_read {
            header_read = true;
            let value: Value = match serde_json::from_slice(text) {
                Ok(value) => value,
                Err(e) if torn(&e) => {
                    sidecar
                        .problems
                        .push(torn_message(path, number, line.len()));
                    break;
                }
                Err(e) => return Err(bad(format!("line {number}: {e}"))),
            };
            sidecar.header = Some(parse_header(value).map_err(|e| match e {
                HeaderError::Version(found) => OpenError::UnsupportedVersion {
                    found,
                    supported: SUPPORTED_VERSIONS,
                },
                HeaderError::Bad(why) => bad(format!("line {number}: {why}")),
            })?);
            continue;
        }
        // Events are for the replay, read from where it starts.
        if complete && is_sidecar_event(text) {
            continue;
        }
        match serde_json::from_slice::<MetaRecord>(text) {
            Ok(MetaRecord::Header(_)) => sidecar.problems.push(format!(
                "{}:{number}: a second header; ignored",
                path.display()
            )),
            Ok(MetaRecord::Checkpoint(checkpoint)) => sidecar.checkpoints.push(checkpoint),
            Ok(MetaRecord::End(summary)) => sidecar.summary = Some(summary),
            Ok(MetaRecord::Policy(change)) => sidecar.policy_changes.push(change),
            Ok(MetaRecord::Event(_)) => {}
            Err(e) if torn(&e) => {
                sidecar
                    .problems
                    .push(torn_message(path, number, line.len()));
                break;
            }
            Err(e) => match unknown_type(text) {
                // A record of a later minor revision: not ours to judge.
                Some(kind) => sidecar.problems.push(format!(
                    "{}:{number}: unknown record type {kind:?}; ignored",
                    path.display()
                )),
                None => return Err(bad(format!("line {number}: {e}"))),
            },
        }
    }
    if !header_read {
        sidecar
            .problems
            .push(format!("{}: empty; ignored", path.display()));
    }
    Ok(sidecar)
}

fn torn_message(path: &Path, number: u64, bytes: usize) -> String {
    format!(
        "{}: torn last line {number} ({bytes} bytes), ignored",
        path.display()
    )
}

enum HeaderError {
    Version(u32),
    Bad(String),
}

/// The header from its JSON, checking the format name and version before the fields: a
/// later version may have other fields.
fn parse_header(value: Value) -> Result<Header, HeaderError> {
    let kind = value.get("type").and_then(Value::as_str);
    if kind != Some("header") {
        return Err(HeaderError::Bad(format!(
            "the first record is not a header (type {})",
            value.get("type").unwrap_or(&Value::Null)
        )));
    }
    let format = value.get("format").and_then(Value::as_str);
    if format != Some(FORMAT_NAME) {
        return Err(HeaderError::Bad(format!(
            "not a {FORMAT_NAME} sidecar (format {})",
            value.get("format").unwrap_or(&Value::Null)
        )));
    }
    let Some(version) = value.get("version").and_then(Value::as_u64) else {
        return Err(HeaderError::Bad("the header has no version".to_string()));
    };
    let version = u32::try_from(version).unwrap_or(u32::MAX);
    if !SUPPORTED_VERSIONS.contains(&version) {
        return Err(HeaderError::Version(version));
    }
    match serde_json::from_value(value) {
        Ok(MetaRecord::Header(header)) => Ok(header),
        Ok(_) => Err(HeaderError::Bad(
            "the first record is not a header".to_string(),
        )),
        Err(e) => Err(HeaderError::Bad(e.to_string())),
    }
}

/// The `type` of a JSON object whose type we do not know.
fn unknown_type(text: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(text).ok()?;
    let kind = value.get("type")?.as_str()?;
    (!matches!(kind, "header" | "checkpoint" | "end" | "event")).then(|| kind.to_string())
}
