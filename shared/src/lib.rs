//! Records and configuration shared by tetrascope's eBPF probes and its userspace.
//!
//! Everything here is `#[repr(C)]` and plain data: the probes write these records into the ring
//! buffer, userspace reads them back byte for byte. The `user` feature adds `aya::Pod` impls.
#![no_std]

pub mod files;
mod offsets;
pub mod policy;
pub mod policy_semantics;
mod records;
pub mod syscalls;

pub use offsets::{NS_SLOTS, Offsets, TracepointFields};
pub use records::*;
