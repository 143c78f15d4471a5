//! The probes are a binary for the BPF target (src/main.rs); this empty library lets the
//! userspace crate name the package as a build dependency, so cargo rebuilds it on change.
#![no_std]
