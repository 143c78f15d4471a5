//! Where events come from: the local probes, agents over gRPC, or a file of Tetragon JSON lines.
pub mod file;
pub mod local;
pub mod remote;
pub mod replay;
