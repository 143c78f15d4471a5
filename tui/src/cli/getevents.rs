//! `tetrascope getevents`: Tetragon's `tetra getevents`, on our own probes or on a file.
use std::{
    fs::File,
    io::{self, BufRead, BufReader, IsTerminal, Write},
    process::ExitCode,
};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use tokio::signal::unix::{SignalKind, signal};

use super::node::node_name;
use crate::{
    event::{CompactEncoder, Event, EventFilter, EventType, encode_json},
    source::{file::JsonLines, local::LocalSource},
};

#[derive(Args, Debug)]
pub struct GetEventsArgs {
    /// Output format
    #[arg(short, long, value_enum, default_value_t = Output::Json)]
    pub output: Output,
    /// Read Tetragon JSON lines from FILE ("-" for stdin) instead of the live probes
    #[arg(long, value_name = "FILE")]
    pub input: Option<String>,
    /// Only events whose process binary matches one of these regexes
    #[arg(long = "process", value_name = "REGEX", value_delimiter = ',')]
    pub processes: Vec<String>,
    /// Only events whose pod name matches one of these regexes
    #[arg(long = "pod", value_name = "REGEX", value_delimiter = ',')]
    pub pods: Vec<String>,
    /// Only events from these Kubernetes namespaces ("" selects host processes)
    #[arg(
        short = 'n',
        long = "namespace",
        value_name = "NS",
        value_delimiter = ','
    )]
    pub namespaces: Vec<String>,
    /// Only these event types (e.g. PROCESS_EXEC,PROCESS_EXIT)
    #[arg(
        short = 'e',
        long = "event-types",
        value_name = "LIST",
        value_delimiter = ','
    )]
    pub event_types: Vec<EventType>,
    /// Prefix compact lines with the event time
    #[arg(long)]
    pub timestamps: bool,
    /// Colours in compact output
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Node name put in live events and exec_ids (default: $NODE_NAME, else the host name)
    #[arg(long)]
    pub node_name: Option<String>,
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
    let filter = EventFilter::new(
        &args.processes,
        &args.pods,
        &args.namespaces,
        &args.event_types,
    )
    .context("invalid filter")?;
    let printer = Printer::new(args);
    match args.input.as_deref() {
        Some(path) => print_file(path, &filter, printer),
        None => print_live(args, &filter, printer),
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

fn print_file(path: &str, filter: &EventFilter, mut printer: Printer) -> Result<ExitCode> {
    let reader: Box<dyn BufRead> = if path == "-" {
        Box::new(BufReader::with_capacity(1 << 16, io::stdin()))
    } else {
        let file = File::open(path).with_context(|| format!("opening {path}"))?;
        Box::new(BufReader::with_capacity(1 << 16, file))
    };
    let mut lines = JsonLines::new(reader);
    let mut skipped = 0u64;
    while let Some(next) = lines
        .next_event()
        .with_context(|| format!("reading {path}"))?
    {
        match next {
            Ok(event) if filter.matches(&event) => printer.print(&event)?,
            Ok(_) => {}
            Err(bad) => {
                skipped += 1;
                eprintln!("tetrascope: {path}:{}: skipped: {}", bad.number, bad.error);
            }
        }
    }
    printer.out.flush()?;
    if skipped > 0 {
        eprintln!("tetrascope: {skipped} line(s) of {path} skipped");
        return Ok(ExitCode::from(SKIPPED_LINES));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_live(
    args: &GetEventsArgs,
    filter: &EventFilter,
    mut printer: Printer,
) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // Handlers first: a stop request that comes as soon as start-up is reported must still
        // end in a clean drain, not in the default action.
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let (mut source, report, seeded) = LocalSource::start(node_name(args.node_name.clone()))?;
        if report.tracefs_mounted {
            eprintln!("tetrascope: mounted tracefs at /sys/kernel/tracing");
        }
        eprintln!("tetrascope: {report}; {seeded} running processes read from /proc");
        let mut events = Vec::new();
        let mut printed = 0u64;
        loop {
            tokio::select! {
                _ = interrupt.recv() => break,
                _ = terminate.recv() => break,
                batch = source.next_batch(&mut events) => batch?,
            }
            printed += print_batch(&mut printer, filter, &mut events)?;
        }
        source.drain(&mut events);
        printed += print_batch(&mut printer, filter, &mut events)?;
        let counters = source.counters();
        eprintln!(
            "tetrascope: {printed} events printed; lost in kernel: {}, undecodable: {}, exits of unknown processes: {}",
            counters.kernel_lost, counters.malformed, counters.model.unknown_exits
        );
        Ok(ExitCode::SUCCESS)
    })
}

fn print_batch(
    printer: &mut Printer,
    filter: &EventFilter,
    events: &mut Vec<Event>,
) -> Result<u64> {
    let mut printed = 0;
    for event in events.drain(..) {
        if filter.matches(&event) {
            printer.print(&event)?;
            printed += 1;
        }
    }
    printer.out.flush()?;
    Ok(printed)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
