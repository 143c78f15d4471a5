//! `tetrascope getevents`: Tetragon's `tetra getevents`, on our own probes or on a file.
use std::{
    io::{self, BufRead, BufReader, IsTerminal, Write},
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};

use super::{
    filter_args::FilterArgs, kube_args::KubeArgs, live, node::node_name, policy_args::PolicyArgs,
    remote_args::RemoteArgs, sensor_args::SensorArgs,
};
use crate::{
    event::{CompactEncoder, Event, EventFilter, encode_json},
    record::LiveRecording,
    record::{OpenError, ReadItem, Recording},
    source::{
        file::JsonLines,
        remote::{self, AgentLink, LinkState, RemoteSource},
        replay::{ReplayOptions, ReplaySource},
    },
};
use tokio::signal::unix::{SignalKind, signal};

#[derive(Args, Debug)]
pub struct GetEventsArgs {
    /// Output format
    #[arg(short, long, value_enum, default_value_t = Output::Json)]
    pub output: Output,
    /// Read Tetragon JSON lines from FILE ("-" for stdin) instead of the live probes
    #[arg(long, value_name = "FILE")]
    pub input: Option<String>,
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Prefix compact lines with the event time
    #[arg(long)]
    pub timestamps: bool,
    /// Colours in compact output
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Node name put in live events and exec_ids (default: $NODE_NAME, else the host name)
    #[arg(long)]
    pub node_name: Option<String>,
    /// Also record the live events (every event, before the filters) to FILE
    #[arg(long, value_name = "FILE", conflicts_with = "input")]
    pub record: Option<PathBuf>,
    /// With --input FILE: reproduce the original timing between events
    #[arg(long, requires = "input")]
    pub replay_timing: bool,
    /// With --replay-timing: play faster (2) or slower (0.5) than recorded
    #[arg(long, default_value_t = 1.0, requires = "replay_timing")]
    pub speed: f64,
    #[command(flatten)]
    pub policies: PolicyArgs,
    #[command(flatten)]
    pub sensor: SensorArgs,
    #[command(flatten)]
    pub remote: RemoteArgs,
    #[command(flatten)]
    pub kube: KubeArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Json,
    Compact,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// Exit status when some input lines were skipped.
const SKIPPED_LINES: u8 = 1;

pub fn run(args: GetEventsArgs) -> ExitCode {
    match run_inner(&args) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tetrascope: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_inner(args: &GetEventsArgs) -> Result<ExitCode> {
    let filter = args.filters.filter()?;
    let printer = Printer::new(args);
    match args.input.as_deref() {
        Some(path) => {
            let mut input = FileInput {
                path,
                filter: &filter,
                printer,
                skipped: 0,
            };
            if args.replay_timing {
                input.replay(args.speed)?;
            } else {
                input.read()?;
            }
            input.finish()
        }
        None if !args.remote.agents.is_empty() => print_remote(args, &filter, printer),
        None => print_live(args, &filter, printer),
    }
}

/// Events of agents, filtered on the agents, until Ctrl-C or SIGTERM; connection changes go
/// to stderr.
fn print_remote(
    args: &GetEventsArgs,
    filter: &EventFilter,
    mut printer: Printer,
) -> Result<ExitCode> {
    anyhow::ensure!(
        args.record.is_none() && args.policies.policies.is_empty(),
        "--record and --policy act on this host's probes; with --agent, record with `tetrascope agent` or load policies with `tetrascope policy add --agent`"
    );
    let f = &args.filters;
    let request = remote::request_for(&f.processes, &f.pods, &f.namespaces, &f.event_types)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let mut source = RemoteSource::start(&args.remote.agents, args.remote.dialer()?, request);
        let mut states: Vec<LinkState> = Vec::new();
        let mut events = Vec::new();
        loop {
            tokio::select! {
                _ = interrupt.recv() => break,
                _ = terminate.recv() => break,
                changed = source.next_batch(&mut events) => {
                    if changed? {
                        report_links(source.links(), &mut states);
                    }
                }
            }
            for event in events.drain(..) {
                if filter.matches(&event) {
                    printer.print(&event)?;
                }
            }
            printer.out.flush()?;
        }
        for link in source.links() {
            eprintln!(
                "tetrascope: {}: {} events, {} dropped by the agent for this client",
                link.address, link.events, link.dropped
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// One stderr line per link whose state changed since the last call.
fn report_links(links: &[AgentLink], seen: &mut Vec<LinkState>) {
    seen.resize(links.len(), LinkState::Connecting);
    for (link, last) in links.iter().zip(seen.iter_mut()) {
        if link.state == *last {
            continue;
        }
        match &link.state {
            LinkState::Connecting => {}
            LinkState::Connected => eprintln!("tetrascope: connected to {}", link.address),
            LinkState::Left => eprintln!("tetrascope: {} left the cluster", link.address),
            LinkState::Down { reason, retry_at } => eprintln!(
                "tetrascope: {}: {reason}; retrying in {:.1}s",
                link.address,
                retry_at
                    .saturating_duration_since(std::time::Instant::now())
                    .as_secs_f64()
            ),
        }
        *last = link.state.clone();
    }
}

/// Encodes events into a reusable buffer and writes them to stdout.
struct Printer {
    compact: Option<CompactEncoder>,
    out: io::BufWriter<io::Stdout>,
    buf: Vec<u8>,
}

impl Printer {
    fn new(args: &GetEventsArgs) -> Self {
        let color = match args.color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        };
        let compact = (args.output == Output::Compact).then_some(CompactEncoder {
            timestamps: args.timestamps,
            color,
        });
        Self {
            compact,
            out: io::BufWriter::with_capacity(1 << 16, io::stdout()),
            buf: Vec::with_capacity(4096),
        }
    }

    fn print(&mut self, event: &Event) -> io::Result<()> {
        self.buf.clear();
        match &self.compact {
            Some(encoder) => encoder.encode(event, &mut self.buf),
            None => encode_json(event, &mut self.buf),
        }
        self.out.write_all(&self.buf)
    }
}

/// Events read from a file or stdin, printed through the filter; bad lines counted.
struct FileInput<'a> {
    path: &'a str,
    filter: &'a EventFilter,
    printer: Printer,
    skipped: u64,
}

impl FileInput<'_> {
    /// As fast as it reads: stdin line by line, a file as a recording (plain or zstd).
    fn read(&mut self) -> Result<()> {
        if self.path == "-" {
            let stdin: Box<dyn BufRead> = Box::new(BufReader::with_capacity(1 << 16, io::stdin()));
            let mut lines = JsonLines::new(stdin);
            while let Some(item) = lines.next_item().context("reading stdin")? {
                self.handle(item)?;
            }
            return Ok(());
        }
        let recording = open_recording(Path::new(self.path))?;
        let mut events = recording
            .events()
            .with_context(|| format!("reading {}", self.path))?;
        while let Some(item) = events
            .next_item()
            .with_context(|| format!("reading {}", self.path))?
        {
            self.handle(item)?;
        }
        Ok(())
    }

    /// With the original timing between events, scaled by `speed`.
    fn replay(&mut self, speed: f64) -> Result<()> {
        if self.path == "-" {
            bail!("--replay-timing needs a file, not stdin");
        }
        if !(speed.is_finite() && speed > 0.0) {
            bail!("--speed must be a positive number, not {speed}");
        }
        let options = ReplayOptions {
            speed: Some(speed),
            paused: false,
        };
        let mut source = ReplaySource::open(Path::new(self.path), options)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()?;
        runtime.block_on(async {
            while let Some(item) = source
                .next()
                .await
                .with_context(|| format!("reading {}", self.path))?
            {
                self.handle(item)?;
                // Each event goes out when it is due, not when the buffer fills.
                self.printer.out.flush()?;
            }
            Ok(())
        })
    }

    fn handle(&mut self, item: ReadItem) -> Result<()> {
        match item {
            ReadItem::Event(event) if self.filter.matches(&event) => self.printer.print(&event)?,
            ReadItem::Event(_) => {}
            ReadItem::Bad(bad) => {
                self.skipped += 1;
                eprintln!(
                    "tetrascope: {}:{}: skipped: {}",
                    self.path, bad.number, bad.error
                );
            }
            ReadItem::TornTail { line, bytes } => eprintln!(
                "tetrascope: {}: torn last line {line} ({bytes} bytes), ignored",
                self.path
            ),
        }
        Ok(())
    }

    fn finish(mut self) -> Result<ExitCode> {
        self.printer.out.flush()?;
        if self.skipped > 0 {
            eprintln!(
                "tetrascope: {} line(s) of {} skipped",
                self.skipped, self.path
            );
            return Ok(ExitCode::from(SKIPPED_LINES));
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// Opens a recording for its events; a damaged or newer sidecar is only worth a warning here.
fn open_recording(path: &Path) -> Result<Recording> {
    Ok(match Recording::open(path) {
        Err(e @ (OpenError::BadSidecar(..) | OpenError::UnsupportedVersion { .. })) => {
            eprintln!(
                "tetrascope: {e}; reading the events of {} only",
                path.display()
            );
            Recording::open_events_only(path)?
        }
        opened => opened?,
    })
}

fn print_live(
    args: &GetEventsArgs,
    filter: &EventFilter,
    mut printer: Printer,
) -> Result<ExitCode> {
    let node = node_name(args.node_name.clone());
    let mut recording = match &args.record {
        Some(path) => Some(LiveRecording::create(path, &node)?),
        None => None,
    };
    let mut printed = 0u64;
    let counters = live::run(
        node,
        None,
        &args.policies,
        &args.sensor,
        &args.kube,
        |events, source| {
            if let Some(recording) = recording.as_mut() {
                recording.record(events, source)?;
            }
            for event in events.drain(..) {
                if filter.matches(&event) {
                    printer.print(&event)?;
                    printed += 1;
                }
            }
            printer.out.flush()?;
            Ok(())
        },
    )?;
    if let Some(recording) = recording {
        let summary = recording.finish()?;
        eprintln!(
            "tetrascope: recorded {} events ({} bytes)",
            summary.events, summary.bytes
        );
    }
    eprintln!(
        "tetrascope: {printed} events printed; lost in kernel: {}, undecodable: {}, exits of unknown processes: {}, file records dropped: {}, file-access rows evicted: {}",
        counters.kernel_lost,
        counters.malformed,
        counters.model.unknown_exits,
        counters.file_records_dropped,
        counters.file_rows_evicted
    );
    if args.kube.kube {
        let pods = counters.pods;
        eprintln!(
            "tetrascope: events of container processes: {} with their pods, {} with their pods after waiting, {} without (pod not known in time)",
            pods.enriched, pods.enriched_late, pods.missed
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
