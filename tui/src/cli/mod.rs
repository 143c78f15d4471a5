//! The command line: `tetrascope [COMMAND]`.
mod agent;
mod cluster_args;
mod filter_args;
mod getevents;
mod kube_args;
mod live;
mod node;
mod policy;
mod policy_args;
mod policy_remote;
mod record;
mod remote_args;
mod sensor_args;
mod ui;

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
    #[command(flatten)]
    pub look: ui::LookArgs,
    #[command(flatten)]
    pub filters: filter_args::FilterArgs,
    #[command(flatten)]
    pub policies: policy_args::PolicyArgs,
    #[command(flatten)]
    pub sensor: sensor_args::SensorArgs,
    #[command(flatten)]
    pub remote: remote_args::RemoteArgs,
    #[command(flatten)]
    pub kube: kube_args::KubeArgs,
    #[command(flatten)]
    pub cluster: cluster_args::ClusterViewArgs,
    /// Node name put in live events and exec_ids (default: $NODE_NAME, else the host name)
    #[arg(long)]
    pub node_name: Option<String>,
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
    /// Open a recording or a Tetragon export in the interactive UI (no root needed)
    Replay(ui::ReplayArgs),
    /// Run headless and serve Tetragon's gRPC API (root): for `tetrascope --agent ADDR`,
    /// `getevents --agent ADDR` and Tetragon's `tetra`
    Agent(agent::AgentArgs),
    /// TracingPolicy tools
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::GetEvents(args)) => getevents::run(args),
        Some(Command::Record(args)) => record::run(args),
        Some(Command::Replay(args)) => ui::replay(&args),
        Some(Command::Policy(command)) => policy::run(command),
        Some(Command::Agent(args)) => agent::run(args),
        None if !cli.remote.agents.is_empty() => ui::remote(&cli.look, &cli.filters, &cli.remote),
        None if cli.kube.kube && !cli.cluster.this_node => {
            ui::cluster(&cli.look, &cli.filters, &cli.kube, &cli.cluster)
        }
        None => ui::live(
            &cli.look,
            &cli.filters,
            &cli.policies,
            &cli.sensor,
            cli.node_name,
            &cli.kube,
        ),
    }
}
