//! `tetrascope policy list|add|delete|enable|disable|mode --agent ADDR`: an agent's policies
//! through the gRPC API (like `tetra tracingpolicy`), on tetrascope and Tetragon agents alike.
use std::path::PathBuf;

use anyhow::{Context, Result, ensure};
use clap::Args;

use super::{policy_args::ModeArg, remote_args::RemoteArgs};
use crate::agent::proto;

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// Only this domain (static, grpc, k8s)
    #[arg(long, default_value = "")]
    pub domain: String,
    /// Print the statuses as JSON lines (one per policy)
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// The TracingPolicy YAML
    pub file: PathBuf,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Args, Debug)]
pub struct NameArgs {
    pub name: String,
    /// The namespace of a TracingPolicyNamespaced
    #[arg(long, default_value = "")]
    pub namespace: String,
    /// The policy's domain: grpc (added through the API, the default), static (files given to
    /// the agent) or k8s
    #[arg(long, default_value = "")]
    pub domain: String,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

#[derive(Args, Debug)]
pub struct ModeArgs {
    #[arg(value_enum)]
    pub mode: ModeArg,
    #[command(flatten)]
    pub name: NameArgs,
}

/// What to do to a named policy.
pub enum Change {
    Delete,
    Enable(bool),
    Mode(ModeArg),
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn agents(remote: &RemoteArgs) -> Result<()> {
    ensure!(
        !remote.agents.is_empty(),
        "name the agent: --agent unix:///var/run/tetrascope/tetrascope.sock or --agent host:port"
    );
    Ok(())
}

pub fn list(args: &ListArgs) -> Result<()> {
    agents(&args.remote)?;
    let dialer = args.remote.dialer()?;
    runtime()?.block_on(async {
        if !args.json {
            println!(
                "{:<24} {:<28} {:<10} {:<8} {:<7} {:>8} {:>8} {:>8}  SOURCE",
                "AGENT", "NAME", "STATE", "MODE", "DOMAIN", "POSTS", "SIGNALS", "WOULD"
            );
        }
        for address in &args.remote.agents {
            let mut client = dialer.connect(address).await?;
            let request = proto::ListTracingPoliciesRequest {
                domain: args.domain.clone(),
            };
            let policies = client
                .list_tracing_policies(request)
                .await
                .with_context(|| format!("listing the policies of {address}"))?
                .into_inner()
                .policies;
            for policy in policies {
                if args.json {
                    println!("{}", serde_json::to_string(&policy)?);
                    continue;
                }
                let counters = policy
                    .stats
                    .as_ref()
                    .and_then(|s| s.action_counters)
                    .unwrap_or_default();
                println!(
                    "{:<24} {:<28} {:<10} {:<8} {:<7} {:>8} {:>8} {:>8}  {}",
                    address.to_string(),
                    policy.name,
                    short(policy.state().as_str_name(), "TP_STATE_"),
                    short(policy.mode().as_str_name(), "TP_MODE_"),
                    policy.domain,
                    counters.post,
                    counters.signal,
                    counters.monitor_signal,
                    if policy.error.is_empty() {
                        &policy.info
                    } else {
                        &policy.error
                    }
                );
            }
        }
        Ok(())
    })
}

fn short(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_lowercase()
}

pub fn add(args: &AddArgs) -> Result<()> {
    agents(&args.remote)?;
    let yaml = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let dialer = args.remote.dialer()?;
    runtime()?.block_on(async {
        for address in &args.remote.agents {
            let mut client = dialer.connect(address).await?;
            let request = proto::AddTracingPolicyRequest {
                yaml: yaml.clone(),
                domain: String::new(),
            };
            client
                .add_tracing_policy(request)
                .await
                .map_err(|s| anyhow::anyhow!("{address}: {}", s.message()))?;
            eprintln!("tetrascope: {address}: added {}", args.file.display());
        }
        Ok(())
    })
}

pub fn change(args: &NameArgs, change: Change) -> Result<()> {
    agents(&args.remote)?;
    let dialer = args.remote.dialer()?;
    runtime()?.block_on(async {
        for address in &args.remote.agents {
            let mut client = dialer.connect(address).await?;
            let result = match change {
                Change::Delete => client
                    .delete_tracing_policy(proto::DeleteTracingPolicyRequest {
                        name: args.name.clone(),
                        namespace: args.namespace.clone(),
                        domain: args.domain.clone(),
                    })
                    .await
                    .map(drop),
                Change::Enable(enable) => client
                    .configure_tracing_policy(configure(args, Some(enable), None))
                    .await
                    .map(drop),
                Change::Mode(mode) => {
                    let mode = match mode {
                        ModeArg::Enforce => proto::TracingPolicyMode::TpModeEnforce,
                        ModeArg::Monitor => proto::TracingPolicyMode::TpModeMonitor,
                    };
                    client
                        .configure_tracing_policy(configure(args, None, Some(mode as i32)))
                        .await
                        .map(drop)
                }
            };
            result.map_err(|s| anyhow::anyhow!("{address}: {}", s.message()))?;
            eprintln!("tetrascope: {address}: {} done", args.name);
        }
        Ok(())
    })
}

fn configure(
    args: &NameArgs,
    enable: Option<bool>,
    mode: Option<i32>,
) -> proto::ConfigureTracingPolicyRequest {
    proto::ConfigureTracingPolicyRequest {
        name: args.name.clone(),
        namespace: args.namespace.clone(),
        enable,
        mode,
        domain: args.domain.clone(),
    }
}
