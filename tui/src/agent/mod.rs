//! Tetragon's gRPC API: the agent that serves it and the client that reads it.
pub mod convert;
pub mod filter;
pub mod proto;
