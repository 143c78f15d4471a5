//! The process model (lineage from sensor records, as Tetragon's process cache keeps it) and the
//! per-process statistics: syscall counts and file accesses.
mod clock;
mod exec_id;
mod file_table;
mod flags;
mod process_table;
mod process_view;
mod signals;
mod syscall_stats;

pub use clock::BootClock;
pub use exec_id::{exec_id, node_of};
pub use file_table::{Access, DEFAULT_FILE_ROWS, FileRow, FileSort, FileTable, RowKey};
pub use process_table::{ModelStats, ProcessTable};
pub use process_view::ProcessView;
pub use signals::signal_name;
pub use syscall_stats::{
    DEFAULT_STATS_EXECS, StatsOrder, StatsView, Syscall, SyscallRow, SyscallStats,
};
