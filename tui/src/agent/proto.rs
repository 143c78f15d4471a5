//! The generated types, client and server of Tetragon's `tetragon` gRPC package (tui/proto),
//! with protojson serde impls.
#![allow(clippy::all, clippy::pedantic, missing_docs)]

include!(concat!(env!("OUT_DIR"), "/tetragon.rs"));
include!(concat!(env!("OUT_DIR"), "/tetragon.serde.rs"));
