//! The interactive terminal UI: one loop takes terminal input, source events and ticks, turns
//! them into changes of the App, and redraws when something changed.
pub mod action;
mod app;
mod config_file;
mod filter_line;
pub mod insight;
mod kept;
pub mod keys;
pub mod policies;
mod policy_control;
mod process_tree;
mod remote_policies;
mod runner;
mod search;
pub mod theme;
mod view;

pub use app::{App, Pane, ReplayStatus, SourceStatus};
pub use config_file::ConfigFileError;
pub use kept::KeptEvent;
pub use policy_control::recorded_rows;
pub use runner::{Options, UiSource, run};
pub use view::{Look, TreeCache, draw};
