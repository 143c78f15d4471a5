//! The live loop shared by `getevents` and `record`: start the probes, hand each batch of events
//! to a sink until Ctrl-C, SIGTERM or the optional deadline, then drain what is left.
use std::time::Duration;

use anyhow::Result;
use tokio::signal::unix::{SignalKind, signal};

use super::{kube_args::KubeArgs, policy_args::PolicyArgs, sensor_args::SensorArgs};
use crate::{
    event::Event,
    source::local::{LocalCounters, LocalSource},
};

/// Runs on a single-threaded runtime; returns the source's counters at the end.
pub fn run(
    node_name: String,
    duration: Option<Duration>,
    policy_args: &PolicyArgs,
    sensor_args: &SensorArgs,
    kube: &KubeArgs,
    mut sink: impl FnMut(&mut Vec<Event>, &LocalSource) -> Result<()>,
) -> Result<LocalCounters> {
    let policies = policy_args.read()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // Handlers first: a stop request that comes as soon as start-up is reported must still
        // end in a clean drain, not in the default action.
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let pods = kube.pod_metadata(&node_name, true).await;
        let (mut source, report, seeded) =
            LocalSource::start_with_pods(node_name, sensor_args.options(), pods)?;
        if report.tracefs_mounted {
            eprintln!("tetrascope: mounted tracefs at /sys/kernel/tracing");
        }
        eprintln!("tetrascope: {report}; {seeded} running processes read from /proc");
        if let Some(pods) = source.pod_metadata() {
            eprintln!(
                "tetrascope: watching the pods of {}; {} container cgroups here",
                source.node_name(),
                pods.container_cgroups()
            );
        }
        policy_args.apply(policies, &mut source)?;
        let deadline = async {
            match duration {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(deadline);
        let mut events = Vec::new();
        loop {
            tokio::select! {
                _ = interrupt.recv() => break,
                _ = terminate.recv() => break,
                _ = &mut deadline => break,
                batch = source.next_batch(&mut events) => batch?,
            }
            sink(&mut events, &source)?;
        }
        source.drain(&mut events);
        sink(&mut events, &source)?;
        Ok(source.counters())
    })
}

/// Parses a duration such as `90s`, `5m`, `1h` or `250ms` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a number and a unit such as 30s, 5m, 1h"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1e3,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?} (use ms, s, m or h)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("m").is_err());
    }
}
