//! The event model: Tetragon's `GetEventsResponse` as Rust types, its JSON export format
//! (read and written), tetra's compact one-line format, and `Filter`-like event matching.

pub mod args;
mod compact;
mod compact_kprobe;
mod compact_tetrascope;
mod credentials;
mod enums;
mod errno;
mod event_type;
mod events;
mod file_access;
mod filter;
mod json;
mod lifecycle;
mod merge;
mod pod;
mod probes;
mod process;
mod protojson;
pub mod quote;
mod syscall_stats;
pub mod syscalls;
#[cfg(test)]
mod test_support;
mod timestamp;

pub use compact::CompactEncoder;
pub use compact_kprobe::strip_syscall_prefix;
pub use credentials::{Capabilities, Namespace, Namespaces, ProcessCredentials, UserNamespace};
pub use enums::{CAPABILITIES, KPROBE_ACTIONS, PRIVILEGES_CHANGED, SECURE_BITS, THROTTLE_TYPES};
pub use errno::errno_name;
pub use event_type::{EventType, UnknownEventTypeName};
pub use events::{Event, EventBody, RateLimitInfo, Test};
pub use file_access::{TetrascopeFileAccess, access};
pub use filter::EventFilter;
pub use json::{DecodeError, decode_json_line, encode_json};
pub use lifecycle::{ProcessExec, ProcessExit, ProcessLoader, ProcessThrottle};
pub use pod::{Container, Image, Pod, SecurityContext};
pub use probes::{ProcessKprobe, ProcessLsm, ProcessTracepoint, ProcessUprobe, ProcessUsdt};
pub use process::{BinaryProperties, EnvVar, FileProperties, InodeProperties, Process, UserRecord};
pub use syscall_stats::{SyscallCount, TetrascopeSyscallStats, per_second};
pub use timestamp::{Fraction, Timestamp, TimestampError};
