//! tetrascope: runtime security observability and enforcement, in the style of Cilium Tetragon.
//!
//! Every source (the local sensor, a recording) yields the same [`event::Event`] stream; the
//! printers and the UI consume it.
pub mod agent;
pub mod cli;
pub mod event;
pub mod kube;
pub mod model;
pub mod policy;
pub mod record;
pub mod sensor;
pub mod source;
pub mod ui;
