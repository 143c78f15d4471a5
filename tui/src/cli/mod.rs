//! The command line: `tetrascope [COMMAND]`.
mod getevents;
mod live;
mod node;
mod record;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use getevents::GetEventsArgs;

#[derive(Parser, Debug)]
#[command(
    name = "tetrascope",
    version,
    about = "Runtime security observability and enforcement in the terminal, in the style of Cilium Tetragon"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print events as Tetragon's `tetra getevents` does: live from this host's probes (root),
    /// or from a file of Tetragon JSON lines
    #[command(name = "getevents")]
    GetEvents(GetEventsArgs),
    /// Record this host's live events to a file (root); replay it with
    /// `getevents --input FILE [--replay-timing]`, on any machine, without root
    Record(record::RecordArgs),
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::GetEvents(args)) => getevents::run(args),
        Some(Command::Record(args)) => record::run(args),
        None => {
            println!(
                "tetrascope {}: the interactive UI is not built yet.\n\
                 Available now:\n  \
                 tetrascope getevents            live process events from this host (root)\n  \
                 tetrascope getevents --input F  events from a Tetragon JSON export or recording\n  \
                 tetrascope record -o F          record this host's events to a file (root)\n\
                 See `tetrascope --help`.",
                env!("CARGO_PKG_VERSION")
            );
            ExitCode::SUCCESS
        }
    }
}
