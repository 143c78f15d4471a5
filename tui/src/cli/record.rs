//! `tetrascope record`: the live event stream into a recording, headless.
use std::{
    path::PathBuf,
    process::ExitCode,
    time::{Duration, Instant},
};

use anyhow::Result;
use clap::Args;

use crate::record::LiveRecording;

use super::{kube_args::KubeArgs, live, node::node_name};
use super::{policy_args::PolicyArgs, sensor_args::SensorArgs};

#[derive(Args, Debug)]
pub struct RecordArgs {
    /// The recording to write (JSON lines; zstd-compressed when it ends in .zst). Its sidecar,
    /// FILE.meta.jsonl, holds the header and the checkpoints. Never overwritten.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Stop after this long (e.g. 30s, 5m, 1h); default: until Ctrl-C or SIGTERM
    #[arg(long, value_parser = live::parse_duration)]
    pub duration: Option<Duration>,
    /// Node name put in events and exec_ids (default: $NODE_NAME, else the host name)
    #[arg(long)]
    pub node_name: Option<String>,
    #[command(flatten)]
    pub policies: PolicyArgs,
    #[command(flatten)]
    pub sensor: SensorArgs,
    #[command(flatten)]
    pub kube: KubeArgs,
}

pub fn run(args: RecordArgs) -> ExitCode {
    match record(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tetrascope: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn record(args: &RecordArgs) -> Result<()> {
    let node = node_name(args.node_name.clone());
    let mut recording = LiveRecording::create(&args.output, &node)?;
    let started = Instant::now();
    let counters = live::run(
        node,
        args.duration,
        &args.policies,
        &args.sensor,
        &args.kube,
        |events, source| {
            recording.record(events, source)?;
            events.clear();
            Ok(())
        },
    )?;
    let summary = recording.finish()?;
    eprintln!(
        "tetrascope: recorded {} events ({} bytes, {} checkpoints) to {} in {:.1} s; lost in kernel: {}",
        summary.events,
        summary.bytes,
        summary.checkpoints,
        args.output.display(),
        started.elapsed().as_secs_f64(),
        counters.kernel_lost
    );
    Ok(())
}
