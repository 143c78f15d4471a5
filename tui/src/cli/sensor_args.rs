//! `--no-syscalls` and `--no-files`, shared by the live commands: what the sensor watches
//! besides processes and policies (both can also be switched while running).
use clap::Args;

use crate::sensor::SensorOptions;

#[derive(Args, Debug, Default, Clone)]
pub struct SensorArgs {
    /// Do not count syscalls (the counter runs on every syscall of every process)
    #[arg(long)]
    pub no_syscalls: bool,
    /// Do not record file accesses (open, truncate, unlink and rename calls)
    #[arg(long)]
    pub no_files: bool,
}

impl SensorArgs {
    pub fn options(&self) -> SensorOptions {
        SensorOptions {
            syscalls: !self.no_syscalls,
            files: !self.no_files,
        }
    }
}
