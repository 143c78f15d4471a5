//! Recordings: `tetrascope record` writes them, replays and `getevents --input` read them.
//!
//! A recording is two files:
//! - the recording itself holds only Tetragon events, one JSON object a line exactly as
//!   [`encode_json`](crate::event::encode_json) writes them, so `tetra getevents` reads it
//!   unchanged. A path ending in `.zst` makes it zstd-compressed: one zstd frame per
//!   checkpoint interval, a block end at every flush;
//! - the sidecar `<recording>.meta.jsonl` ([`sidecar_path`], never compressed) holds a
//!   [`Header`], [`Checkpoint`]s (the living processes, counters and the byte offset where the
//!   next event starts, to seek without reading from the start) and, after a clean close, an
//!   End record ([`Summary`]).
//!
//! Both are only appended to and flushed often, so a recorder killed at any moment leaves files
//! that read up to their last complete line; a cut last line is a [`ReadItem::TornTail`]. Any
//! Tetragon export file reads as a recording without a sidecar (no checkpoints).
mod format;
mod live;
mod reader;
mod sidecar_events;
mod writer;

#[cfg(test)]
pub(crate) mod tests;

pub use format::{
    CaptureOptions, Checkpoint, FORMAT_NAME, FORMAT_VERSION, Header, MetaRecord, PolicyChange,
    RecordedPolicy, SUPPORTED_VERSIONS, SidecarEvent, Summary, sidecar_path,
};
pub use live::{LiveRecording, recorded_policies, recorded_policy};
pub use reader::{EventReader, OpenError, Recording};
pub use writer::{Recorder, RecorderOptions};

pub use crate::source::file::{BadLine, ReadItem};
