//! `tetrascope` (the live UI) and `tetrascope replay FILE` (the UI on a recording).
use std::{path::PathBuf, process::ExitCode};

use anyhow::{Context, Result};
use clap::Args;

use super::{
    cluster_args::ClusterViewArgs, filter_args::FilterArgs, kube_args::KubeArgs, node::node_name,
    policy_args::PolicyArgs, remote_args::RemoteArgs, sensor_args::SensorArgs,
};
use crate::{
    event::{EventType, Timestamp},
    kube::{self, policy_edit::ClusterPolicies},
    source::{
        self,
        local::LocalSource,
        remote::RemoteSource,
        replay::{ReplayOptions, ReplaySource},
    },
    ui::{self, Options, UiSource, keys::KeyMap, policies, theme::Theme},
};

#[derive(Args, Debug)]
pub struct LookArgs {
    /// Colour theme: default, light, high-contrast, no-colour, or a theme file (.toml)
    #[arg(long, value_name = "NAME|FILE")]
    pub theme: Option<String>,
    /// Seconds an exited process stays in the tree
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub keep_exited: u64,
    /// Events kept for the event pane and details; the oldest go first (counted)
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub max_events: usize,
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// A recording (plain or .zst) or a Tetragon JSON export file
    pub file: PathBuf,
    /// Play faster (2) or slower (0.5) than recorded
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Start paused (Space plays)
    #[arg(long)]
    pub paused: bool,
    /// Start at this point: an offset from the first event (90s, 5m), a time (RFC 3339), or a
    /// share of the events (50%)
    #[arg(long, value_name = "T")]
    pub start: Option<String>,
    #[command(flatten)]
    pub filters: FilterArgs,
    #[command(flatten)]
    pub look: LookArgs,
}

pub fn live(
    look: &LookArgs,
    filters: &FilterArgs,
    policy_args: &PolicyArgs,
    sensor_args: &SensorArgs,
    node: Option<String>,
    kube: &KubeArgs,
) -> ExitCode {
    report(|| {
        let options = options(look, filters, "local".into())?;
        let policies = policy_args.read()?;
        // The sensor registers its ring buffer with the runtime: start it inside.
        block_on(async {
            let node = node_name(node);
            // Under the full-screen UI, pod-watch failures show in the status bar.
            let pods = kube.pod_metadata(&node, false).await;
            let (mut source, report, seeded) = LocalSource::start_with_pods(
                node,
                sensor_args.options(),
                pods,
            )
            .context(
                "starting the probes (the live view needs root; `tetrascope replay FILE` does not)",
            )?;
            eprintln!("tetrascope: {report}; {seeded} running processes read from /proc");
            policy_args.apply(policies, &mut source)?;
            ui::run(UiSource::Live(Box::new(source)), options).await
        })
    })
}

/// The UI on agents: everything they send (the filter line applies in the UI, so that it can
/// change), their policies in the policy pane.
pub fn remote(look: &LookArgs, filters: &FilterArgs, remote: &RemoteArgs) -> ExitCode {
    report(|| {
        let options = options(look, filters, "agents".into())?;
        let request = everything()?;
        block_on(async {
            let source = RemoteSource::start(&remote.agents, remote.dialer()?, request);
            ui::run(UiSource::Remote(Box::new(source)), options).await
        })
    })
}

/// The UI on every agent of a cluster: found by their pods' labels, followed as they come and
/// go, reached by port-forward with TLS against the CA of their Secret.
pub fn cluster(
    look: &LookArgs,
    filters: &FilterArgs,
    kube_args: &KubeArgs,
    view: &ClusterViewArgs,
) -> ExitCode {
    report(|| {
        let options = options(look, filters, "cluster".into())?;
        let request = everything()?;
        block_on(async {
            let cluster = kube_args.cluster().unwrap_or_default();
            let client = kube::connect::client(&cluster).await?;
            let namespace = view.agents_namespace.clone();
            let dialer = kube::agents::dialer(&client, &namespace).await?;
            let source = RemoteSource::start(&[], dialer, request)
                .with_cluster_policies(ClusterPolicies::new(client.clone()));
            let discovery =
                tokio::spawn(kube::agents::follow(client, namespace, source.membership()));
            let result = ui::run(UiSource::Remote(Box::new(source)), options).await;
            discovery.abort();
            result
        })
    })
}

/// What the UI asks agents for: every event, tetrascope's own types too (they feed the
/// syscall and file panes); the filter line applies in the UI, so that it can change.
fn everything() -> Result<crate::agent::proto::GetEventsRequest> {
    let own_types = [
        EventType::TetrascopeSyscallStats,
        EventType::TetrascopeFileAccess,
    ];
    let mut request = source::remote::request_for(&[], &[], &[], &own_types)?;
    request.allow_list.push(Default::default());
    Ok(request)
}

pub fn replay(args: &ReplayArgs) -> ExitCode {
    report(|| {
        anyhow::ensure!(
            args.speed.is_finite() && args.speed > 0.0,
            "--speed must be a positive number, not {}",
            args.speed
        );
        let options = options(
            &args.look,
            &args.filters,
            format!("replay {}", args.file.display()),
        )?;
        let mut replay = ReplaySource::open(
            &args.file,
            ReplayOptions {
                speed: Some(args.speed),
                paused: args.paused,
            },
        )?;
        if let Some(start) = &args.start {
            seek_start(&mut replay, start)?;
        }
        block_on(ui::run(UiSource::Replay(Box::new(replay)), options))
    })
}

/// `--start`: `50%`, an RFC 3339 time, or an offset from the first event.
fn seek_start(replay: &mut ReplaySource, start: &str) -> Result<()> {
    if let Some(percent) = start.strip_suffix('%') {
        let share: f64 = percent
            .trim()
            .parse()
            .with_context(|| format!("--start {start}: expected a percentage such as 50%"))?;
        replay.seek_fraction(share / 100.0)?;
        return Ok(());
    }
    let time = match start.parse::<Timestamp>() {
        Ok(time) => time,
        Err(_) => {
            let offset = super::live::parse_duration(start).map_err(|why| {
                anyhow::anyhow!("--start: {why}; or give a time or a share (50%)")
            })?;
            let first = replay
                .first_time()?
                .context("--start with an offset needs events with times")?;
            Timestamp::from_unix_nanos(first.unix_nanos() + offset.as_nanos() as i128)
        }
    };
    replay.seek_time(time)?;
    Ok(())
}

fn options(look: &LookArgs, filters: &FilterArgs, source_name: String) -> Result<Options> {
    filters.filter()?; // a bad flag is an error before the screen changes
    let (theme, theme_warnings) = Theme::select(look.theme.as_deref(), None)?;
    let (keys, key_warnings) = KeyMap::load_default_location()?;
    for warning in theme_warnings.iter().chain(&key_warnings) {
        eprintln!("tetrascope: {warning}");
    }
    Ok(Options {
        theme,
        keys,
        source_name,
        filter_line: filters.to_line(),
        keep_exited: std::time::Duration::from_secs(look.keep_exited),
        max_events: look.max_events.max(1),
        skip_enforce_confirmation: !policies::confirm_enforce(KeyMap::config_path().as_deref())
            .map_err(anyhow::Error::msg)?,
    })
}

fn block_on(future: impl Future<Output = Result<()>>) -> Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(future)
}

fn report(run: impl FnOnce() -> Result<()>) -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tetrascope: {e:#}");
            ExitCode::FAILURE
        }
    }
}
