//! The records of a recording's sidecar (`<recording>.meta.jsonl`): one JSON object a line,
//! tagged by `type`. The recording file itself holds only Tetragon event lines.
use std::collections::BTreeMap;
use std::ffi::CStr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::event::{Event, Process, Timestamp};

/// `format` of every sidecar header.
pub const FORMAT_NAME: &str = "tetrascope-recording";
/// The sidecar format version this build writes.
pub const FORMAT_VERSION: u32 = 1;
/// The sidecar format versions this build reads.
pub const SUPPORTED_VERSIONS: &[u32] = &[1];

/// Where the sidecar of `recording` lives: `<recording>.meta.jsonl` (never compressed).
pub fn sidecar_path(recording: &Path) -> PathBuf {
    let mut name = recording.as_os_str().to_os_string();
    name.push(".meta.jsonl");
    PathBuf::from(name)
}

/// One line of the sidecar.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MetaRecord {
    /// Always the first line.
    Header(Header),
    /// The state of the recording between two events.
    Checkpoint(Checkpoint),
    /// Written by a clean close; missing after a crash.
    End(Summary),
    /// A policy was loaded, switched or unloaded while recording.
    Policy(PolicyChange),
    /// One of tetrascope's own events (statistics, file-access rows): part of the stream, but
    /// Tetragon's readers stop at event types they do not know, so it is kept out of the
    /// recording file. A replay yields it again at its place.
    Event(Box<SidecarEvent>),
}

/// An event of the stream kept in the sidecar, after how many events of the recording file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SidecarEvent {
    /// Recording-file events written before it.
    pub events: u64,
    pub event: Event,
}

/// Whether a sidecar line is a [`MetaRecord::Event`], without decoding it (as our writer puts
/// the tag first).
pub fn is_sidecar_event(line: &[u8]) -> bool {
    line.starts_with(br#"{"type":"event","#)
}

/// A policy as a recording keeps it: enough to show it again, and to evaluate it on the
/// recorded events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedPolicy {
    pub name: String,
    pub enabled: bool,
    /// `enforce` or `monitor`.
    pub mode: String,
    /// Where it came from (`file PATH`, `api`, `cluster`).
    pub source: String,
    /// Why it does not run, when it does not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Its YAML document, as loaded.
    pub yaml: String,
}

/// What happened to a policy, after how many events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyChange {
    /// Events written before the change.
    pub events: u64,
    pub time: Timestamp,
    /// `loaded`, `enabled`, `disabled`, `enforce`, `monitor` or `unloaded`.
    pub change: String,
    pub policy: RecordedPolicy,
}

/// What was recorded, where, by what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// The sidecar format version ([`FORMAT_VERSION`] when we write it).
    pub version: u32,
    pub tetrascope_version: String,
    /// Host name of the recording machine.
    pub host: String,
    /// Kernel release of the recording machine (`uname -r`).
    pub kernel: String,
    pub start_time: Timestamp,
    pub options: CaptureOptions,
    /// The policies loaded when the recording started.
    #[serde(default)]
    pub policies: Vec<RecordedPolicy>,
}

impl Header {
    /// A header for a recording starting now on this machine.
    pub fn new(options: CaptureOptions) -> Self {
        let (host, kernel) = uname();
        Header {
            format: FORMAT_NAME.to_string(),
            version: FORMAT_VERSION,
            tetrascope_version: env!("CARGO_PKG_VERSION").to_string(),
            host,
            kernel,
            start_time: Timestamp::now(),
            options,
            policies: Vec::new(),
        }
    }
}

/// How the events were captured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CaptureOptions {
    /// `"local"` (the probes of this machine) or `"file:<path>"`.
    pub source: String,
    /// The node name put in the events.
    pub node_name: String,
    /// The command line of the recorder.
    pub args: Vec<String>,
}

/// The state of a recording between two events: enough to start reading there with the
/// process table already known.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Events written before this checkpoint.
    pub events: u64,
    /// Lines written before it (equal to `events` for our writer; kept for line numbers).
    pub lines: u64,
    /// Byte offset in the recording where the next event starts; for a `.zst` recording, the
    /// compressed offset of the zstd frame that starts there.
    pub offset: u64,
    /// `time` of the last event before it (none before the first).
    pub time: Option<Timestamp>,
    /// The living processes at this point (`ProcessView::snapshot`).
    pub processes: Vec<Process>,
    #[serde(default)]
    pub counters: BTreeMap<String, u64>,
    /// Byte offset in the sidecar from which its events (`SidecarEvent`) of `events` and later
    /// are found: a replay from this checkpoint reads them from there.
    #[serde(default)]
    pub meta_offset: u64,
}

/// Totals of a recording: the End record, or a live recorder's statistics.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub events: u64,
    /// Size of the recording file (compressed bytes for `.zst`).
    pub bytes: u64,
    /// Checkpoints written, the first (at offset 0) and the last included.
    pub checkpoints: u64,
    /// `time` of the last event.
    pub end_time: Option<Timestamp>,
    #[serde(default)]
    pub counters: BTreeMap<String, u64>,
}

/// (host name, kernel release) of this machine; empty strings if uname fails.
fn uname() -> (String, String) {
    // SAFETY: utsname is plain C data, valid when zeroed; uname fills it with NUL-terminated
    // strings (within their arrays, which stay zero-terminated because they start zeroed).
    let mut names: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut names) } != 0 {
        return (String::new(), String::new());
    }
    let text = |field: &[libc::c_char]| {
        // SAFETY: see above: the array holds a NUL-terminated string.
        unsafe { CStr::from_ptr(field.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    };
    (text(&names.nodename), text(&names.release))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecar_is_named_after_the_whole_recording_name() {
        assert_eq!(
            sidecar_path(Path::new("/tmp/incident.jsonl.zst")),
            PathBuf::from("/tmp/incident.jsonl.zst.meta.jsonl")
        );
        assert_eq!(
            sidecar_path(Path::new("rec")),
            PathBuf::from("rec.meta.jsonl")
        );
    }

    #[test]
    fn header_describes_this_machine() {
        let header = Header::new(CaptureOptions::default());
        assert_eq!(header.format, FORMAT_NAME);
        assert_eq!(header.version, FORMAT_VERSION);
        assert!(!header.kernel.is_empty());
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        assert_eq!(header.kernel, release.trim());
    }

    #[test]
    fn records_are_tagged_by_type() {
        let end = MetaRecord::End(Summary {
            events: 3,
            ..Summary::default()
        });
        let json = serde_json::to_string(&end).unwrap();
        assert!(json.starts_with(r#"{"type":"end","events":3"#), "{json}");
        assert_eq!(serde_json::from_str::<MetaRecord>(&json).unwrap(), end);
    }

    #[test]
    fn sidecar_events_are_told_by_their_first_bytes() {
        let event = Event::new(crate::event::EventBody::TetrascopeSyscallStats(
            Default::default(),
        ));
        let record = MetaRecord::Event(Box::new(SidecarEvent { events: 7, event }));
        let json = serde_json::to_string(&record).unwrap();
        assert!(is_sidecar_event(json.as_bytes()), "{json}");
        assert_eq!(serde_json::from_str::<MetaRecord>(&json).unwrap(), record);
        let end = serde_json::to_string(&MetaRecord::End(Summary::default())).unwrap();
        assert!(!is_sidecar_event(end.as_bytes()));
    }
}
