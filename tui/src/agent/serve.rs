//! `tetrascope agent`: the source (the probes, or a recording) in one task, the gRPC service on
//! every listener, and the info file that tells clients where it listens.
use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::{Context, Result, bail};
use tokio::{
    net::{TcpListener, UnixListener},
    sync::mpsc,
    task::JoinSet,
};
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};
use tonic::transport::Server;

use super::{
    address::Address, cluster_policies, control, fanout::Fanout,
    proto::fine_guidance_sensors_server::FineGuidanceSensorsServer, service::Service,
    tls::ServerTls,
};
use crate::{
    event::Event,
    kube::policy_watch::PolicyChange,
    record::ReadItem,
    source::{local::LocalSource, replay::ReplaySource},
};

pub use super::fanout::DEFAULT_QUEUE;

/// How often drops not yet reported to their clients are retried when no event comes.
const DROP_REPORTS: std::time::Duration = std::time::Duration::from_millis(200);

/// Requests larger than this are refused with RESOURCE_EXHAUSTED (a policy YAML is a few KB).
const MAX_REQUEST: usize = 4 << 20;

pub struct AgentOptions {
    pub addresses: Vec<Address>,
    pub tls: Option<ServerTls>,
    /// Plain TCP allowed.
    pub insecure: bool,
    pub read_only: bool,
    /// Events queued per stream before its client's drops start.
    pub queue_size: usize,
    pub info_file: Option<PathBuf>,
    /// Changes of the cluster's policies (`--kube`), carried out by the source's task like the
    /// API's requests.
    pub cluster_policies: Option<mpsc::Receiver<PolicyChange>>,
}

impl Default for AgentOptions {
    fn default() -> Self {
        AgentOptions {
            addresses: vec![Address::default_socket()],
            tls: None,
            insecure: false,
            read_only: false,
            queue_size: DEFAULT_QUEUE,
            info_file: None,
            cluster_policies: None,
        }
    }
}

/// What the agent serves.
pub enum Producer {
    Local(Box<LocalSource>),
    /// A recording or an export, played at its own pace (for demos and tests: no probes);
    /// with a node name, its events are stamped with it (`--node-name`), else they keep the
    /// recorded one.
    Replay(Box<ReplaySource>, Option<String>),
}

impl Producer {
    /// Appends the next events; false when a recording has ended.
    async fn next(&mut self, out: &mut Vec<Event>) -> Result<bool> {
        match self {
            Producer::Local(local) => local.next_batch(out).await.map(|()| true),
            Producer::Replay(replay, node_name) => loop {
                match replay.next().await? {
                    Some(ReadItem::Event(mut event)) => {
                        if let Some(name) = node_name {
                            event.node_name.clone_from(name);
                        }
                        out.push(event);
                        return Ok(true);
                    }
                    Some(_) => continue,
                    None => return Ok(false),
                }
            },
        }
    }

    fn local(&mut self) -> Option<&mut LocalSource> {
        match self {
            Producer::Local(local) => Some(local),
            Producer::Replay(..) => None,
        }
    }
}

/// What the agent did, for its last log line.
#[derive(Debug, Default)]
pub struct AgentReport {
    pub events: u64,
    pub dropped: u64,
}

/// Serves until `stop` completes. Every listener is up before the first event is read.
pub async fn serve(
    mut producer: Producer,
    mut options: AgentOptions,
    node_name: String,
    stop: impl Future<Output = ()>,
) -> Result<AgentReport> {
    let fanout = Fanout::new(node_name.clone(), options.queue_size);
    let (requests, incoming) = mpsc::channel(64);
    let service = Service {
        fanout: fanout.clone(),
        requests,
        read_only: options.read_only,
    };
    let mut servers = JoinSet::new();
    let mut cleanup = Vec::new();
    let mut listening = Vec::new();
    for address in &options.addresses {
        let bound = listen(address, &options, service.clone(), &mut servers).await?;
        if let Address::Unix(path) = address {
            cleanup.push(path.clone());
        }
        eprintln!("tetrascope agent: listening on {bound}");
        listening.push(bound);
    }
    if let Some(info) = &options.info_file {
        write_info(info, &listening, &node_name)?;
        cleanup.push(info.clone());
    }
    let channels = Channels {
        requests: incoming,
        cluster: options.cluster_policies.take(),
    };
    let result = run(&mut producer, &fanout, channels, &mut servers, stop).await;
    for path in cleanup {
        let _ = std::fs::remove_file(path);
    }
    result.map(|events| AgentReport {
        events,
        dropped: fanout.dropped(),
    })
}

/// What reaches the source's task besides its events.
struct Channels {
    requests: mpsc::Receiver<control::Request>,
    cluster: Option<mpsc::Receiver<PolicyChange>>,
}

async fn run(
    producer: &mut Producer,
    fanout: &Arc<Fanout>,
    mut channels: Channels,
    servers: &mut JoinSet<Result<()>>,
    stop: impl Future<Output = ()>,
) -> Result<u64> {
    tokio::pin!(stop);
    let mut report_drops = tokio::time::interval(DROP_REPORTS);
    report_drops.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut events = Vec::new();
    let mut served = 0u64;
    // A recording plays from its start for the first client, rather than to nobody. Policy
    // calls are answered meanwhile.
    let mut waiting = matches!(producer, Producer::Replay(..));
    let mut more = !waiting;
    loop {
        tokio::select! {
            () = &mut stop => return Ok(served),
            () = fanout.first_stream(), if waiting => {
                waiting = false;
                more = true;
            }
            Some(request) = channels.requests.recv() => control::handle(request, producer.local()),
            Some(change) = next_change(&mut channels.cluster) => {
                if let Some(local) = producer.local() {
                    cluster_policies::apply(local, change);
                }
            }
            _ = report_drops.tick() => fanout.report_pending(),
            Some(ended) = servers.join_next() => {
                ended??;
                bail!("a listener stopped");
            }
            next = producer.next(&mut events), if more => {
                more = next?;
                served += events.len() as u64;
                fanout.publish(&events);
                events.clear();
                if !more {
                    eprintln!("tetrascope agent: the recording has ended after {served} events");
                }
            }
        }
    }
}

/// The next cluster policy change; never, without a watch.
async fn next_change(cluster: &mut Option<mpsc::Receiver<PolicyChange>>) -> Option<PolicyChange> {
    match cluster {
        Some(changes) => changes.recv().await,
        None => std::future::pending().await,
    }
}

/// Binds `address` and spawns its server; returns the address as bound (a TCP port 0 becomes
/// the port the system chose).
async fn listen(
    address: &Address,
    options: &AgentOptions,
    service: Service,
    servers: &mut JoinSet<Result<()>>,
) -> Result<Address> {
    let grpc = FineGuidanceSensorsServer::new(service).max_decoding_message_size(MAX_REQUEST);
    match address {
        Address::Unix(path) => {
            let listener = bind_unix(path)?;
            let incoming = UnixListenerStream::new(listener);
            servers.spawn(async move {
                Server::builder()
                    .add_service(grpc)
                    .serve_with_incoming(incoming)
                    .await
                    .context("serving on the unix socket")
            });
            Ok(address.clone())
        }
        Address::Tcp(host_port) => {
            let mut builder = Server::builder();
            match (&options.tls, options.insecure) {
                (Some(tls), _) => builder = builder.tls_config(tls.config()?)?,
                (None, true) => {}
                (None, false) => bail!(
                    "refusing to serve {host_port} without TLS: give --server-tls-cert-file \
                     and --server-tls-key-file, or --insecure to allow plain TCP"
                ),
            }
            let listener = TcpListener::bind(host_port.as_str())
                .await
                .with_context(|| format!("listening on {host_port}"))?;
            let bound = Address::Tcp(listener.local_addr()?.to_string());
            let incoming = TcpListenerStream::new(listener);
            servers.spawn(async move {
                builder
                    .add_service(grpc)
                    .serve_with_incoming(incoming)
                    .await
                    .context("serving on TCP")
            });
            Ok(bound)
        }
        Address::Pod { .. } => bail!("{address}: an agent listens on a socket or a TCP port"),
    }
}

/// A unix socket only root can open. A socket left by an agent that died is replaced; any
/// other file in the way is an error, never deleted.
fn bind_unix(path: &Path) -> Result<UnixListener> {
    use std::os::unix::fs::FileTypeExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path)?,
        Ok(_) => bail!("{} exists and is not a socket", path.display()),
        Err(_) => {}
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("listening on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Like Tetragon's `tetragon-info.json`: where the agent listens, for clients without an address.
fn write_info(path: &Path, listening: &[Address], node_name: &str) -> Result<()> {
    let info = serde_json::json!({
        "server_address": listening.first().map(ToString::to_string),
        "server_addresses": listening.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "node_name": node_name,
        "pid": std::process::id(),
        "version": env!("CARGO_PKG_VERSION"),
    });
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, format!("{info}\n"))
        .with_context(|| format!("writing the info file {}", path.display()))
}
