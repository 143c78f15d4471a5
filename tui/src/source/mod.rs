//! Where events come from: the local probes, or a file of Tetragon JSON lines.
pub mod file;
pub mod local;
pub mod replay;
