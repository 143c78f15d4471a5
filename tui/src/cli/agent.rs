//! `tetrascope agent`: the probes and the policy store, headless, behind Tetragon's gRPC API.
use std::{path::PathBuf, process::ExitCode, sync::Arc};

use anyhow::{Context, Result};
use clap::Args;
use tokio::{
    signal::unix::{SignalKind, signal},
    sync::mpsc,
};

use super::{
    kube_args::KubeArgs, node::node_name, policy_args::PolicyArgs, sensor_args::SensorArgs,
};
use crate::{
    agent::{
        address::Address,
        serve::{AgentOptions, DEFAULT_QUEUE, Producer, serve},
        tls::ServerTls,
    },
    kube::{
        connect::{self, ClusterArgs},
        policy_watch::{NoPods, PolicyChange, WorkloadCgroups, watch_policies},
    },
    source::{
        local::LocalSource,
        replay::{ReplayOptions, ReplaySource},
    },
};

#[derive(Args, Debug)]
pub struct AgentArgs {
    /// Listen on ADDR: unix:///path/to.sock or host:port (repeatable). TCP needs TLS unless
    /// --insecure [default: unix:///var/run/tetrascope/tetrascope.sock]
    #[arg(long = "server-address", value_name = "ADDR")]
    pub addresses: Vec<Address>,
    /// Server certificate (PEM) for TCP listeners
    #[arg(long, value_name = "FILE", requires = "server_tls_key_file")]
    pub server_tls_cert_file: Option<PathBuf>,
    /// Server key (PEM)
    #[arg(long, value_name = "FILE", requires = "server_tls_cert_file")]
    pub server_tls_key_file: Option<PathBuf>,
    /// Accept client certificates signed by these CAs (PEM; repeatable)
    #[arg(long, value_name = "FILE", requires = "server_tls_cert_file")]
    pub server_tls_client_ca_files: Vec<PathBuf>,
    /// Refuse clients without such a certificate
    #[arg(long, requires = "server_tls_client_ca_files")]
    pub server_tls_require_client_cert: bool,
    /// Allow plain TCP listeners (anyone who reaches the port sees every event)
    #[arg(long)]
    pub insecure: bool,
    /// Refuse policy changes through the API
    #[arg(long)]
    pub read_only: bool,
    /// Events queued per client before its events are dropped (and the drops reported to it)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_QUEUE)]
    pub event_queue_size: usize,
    /// Where to write the agent's addresses for clients (like tetragon-info.json)
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/var/run/tetrascope/tetrascope-info.json"
    )]
    pub info_file: PathBuf,
    /// Serve the events of a recording or a Tetragon export instead of this host's probes
    /// (no root needed; no policies)
    #[arg(long, value_name = "FILE", conflicts_with = "policies")]
    pub input: Option<PathBuf>,
    /// With --input: play faster (2) or slower (0.5) than recorded
    #[arg(long, default_value_t = 1.0, requires = "input")]
    pub speed: f64,
    /// Node name put in events and exec_ids (default: $NODE_NAME, else the host name); with
    /// --input, replaces the recorded node name only when given
    #[arg(long)]
    pub node_name: Option<String>,
    /// --kube: load the cluster's TracingPolicy and TracingPolicyNamespaced objects (domain
    /// k8s) and follow their changes; name the pods of this node's container processes
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub policies: PolicyArgs,
    #[command(flatten)]
    pub sensor: SensorArgs,
}

pub fn run(args: AgentArgs) -> ExitCode {
    match agent(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tetrascope agent: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn agent(args: AgentArgs) -> Result<()> {
    let policies = args.policies.read()?;
    let mut options = AgentOptions {
        addresses: if args.addresses.is_empty() {
            vec![Address::default_socket()]
        } else {
            args.addresses.clone()
        },
        tls: args.server_tls_cert_file.clone().map(|cert| ServerTls {
            cert,
            key: args.server_tls_key_file.clone().unwrap_or_default(),
            client_cas: args.server_tls_client_ca_files.clone(),
            require_client_cert: args.server_tls_require_client_cert,
        }),
        insecure: args.insecure,
        read_only: args.read_only,
        queue_size: args.event_queue_size,
        info_file: Some(args.info_file.clone()),
        cluster_policies: None,
    };
    let node = node_name(args.node_name.clone());
    // The service's tasks run on the workers; the source stays in this thread's task.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let producer = match &args.input {
            Some(file) => {
                anyhow::ensure!(
                    args.speed.is_finite() && args.speed > 0.0,
                    "--speed must be a positive number"
                );
                let replay = ReplaySource::open(
                    file,
                    ReplayOptions {
                        speed: Some(args.speed),
                        paused: false,
                    },
                )?;
                Producer::Replay(Box::new(replay), args.node_name.clone())
            }
            None => {
                let pods = args.kube.pod_metadata(&node, true).await;
                let (mut source, report, seeded) =
                    LocalSource::start_with_pods(node.clone(), args.sensor.options(), pods)
                        .context("starting the probes (the agent needs root)")?;
                eprintln!("tetrascope agent: {report}; {seeded} running processes read from /proc");
                args.policies.apply(policies, &mut source)?;
                Producer::Local(Box::new(source))
            }
        };
        if let (Some(cluster), Producer::Local(local)) = (args.kube.cluster(), &producer) {
            let pods: Arc<dyn WorkloadCgroups> = match local.pod_metadata() {
                Some(pods) => Arc::new(pods.clone()),
                None => Arc::new(NoPods),
            };
            options.cluster_policies = Some(watch_cluster_policies(&cluster, pods).await?);
        }
        let stop = async {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        };
        let report = serve(producer, options, node, stop).await?;
        eprintln!(
            "tetrascope agent: stopped after {} events ({} dropped for slow clients)",
            report.events, report.dropped
        );
        Ok(())
    })
}

/// Starts watching the cluster's policies; a cluster that cannot be reached or refuses is
/// reported by the watch, which keeps retrying. `pods` gives a namespaced or pod-selecting
/// policy its cgroups (none without pod metadata: it then applies to no process).
async fn watch_cluster_policies(
    cluster: &ClusterArgs,
    pods: Arc<dyn WorkloadCgroups>,
) -> Result<mpsc::Receiver<PolicyChange>> {
    let client = connect::client(cluster).await?;
    let (changes, received) = mpsc::channel(64);
    tokio::spawn(watch_policies(client, pods, changes));
    eprintln!("tetrascope agent: watching the cluster's TracingPolicy objects");
    Ok(received)
}
