//! The process model: lineage from sensor records, as Tetragon's process cache keeps it.
mod clock;
mod exec_id;
mod flags;
mod process_table;
mod process_view;
mod signals;

pub use clock::BootClock;
pub use exec_id::exec_id;
pub use process_table::{ModelStats, ProcessTable};
pub use process_view::ProcessView;
pub use signals::signal_name;
