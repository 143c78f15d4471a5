//! The interactive terminal UI: one loop takes terminal input, source events and ticks, turns
//! them into changes of the App, and redraws when something changed.
pub mod action;
mod app;
mod config_file;
mod filter_line;
mod kept;
pub mod keys;
mod process_tree;
mod runner;
mod search;
pub mod theme;
mod view;

pub use app::{App, Pane, ReplayStatus, SourceStatus};
pub use config_file::ConfigFileError;
pub use kept::KeptEvent;
pub use runner::{Options, UiSource, run};
pub use view::{Look, TreeCache, draw};
