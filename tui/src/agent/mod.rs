//! Tetragon's gRPC API: the agent that serves it (`tetrascope agent`) and the client that
//! reads it (`--agent ADDR`).
pub mod address;
pub mod client;
mod cluster_policies;
mod control;
pub mod convert;
mod fanout;
pub mod filter;
mod policy_status;
pub mod proto;
pub mod serve;
mod service;
pub mod tls;
