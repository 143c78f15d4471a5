//! Recording throughput on seed-shaped events (the seed's two pod execs, ~1.9 KB a line,
//! renumbered): an exec storm over some 500 living processes, written with a [`Recorder`]
//! (default options: flushes, checkpoints every 10,000 events, the End record) and read back
//! with a [`Recording`] (events parsed, nothing applied), plain and zstd-compressed.

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use tetrascope::event::{Event, EventBody, ProcessExit, Timestamp, decode_json_line};
use tetrascope::record::{CaptureOptions, Header, ReadItem, Recorder, RecorderOptions, Recording};

const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/seed-events.jsonl"
);

/// Events a recording holds: one write or read of them is one iteration.
const EVENTS: u64 = 20_000;

/// How long a process lives, in processes exec'd after it.
const LIFETIME: u64 = 500;

fn seed_events() -> Vec<Event> {
    let text = fs::read_to_string(SEED).unwrap_or_else(|e| panic!("reading {SEED}: {e}"));
    text.lines()
        .map(|line| decode_json_line(line.as_bytes()).expect("seed line decodes"))
        .collect()
}

fn at_millis(ms: u64) -> Timestamp {
    Timestamp::from_unix_nanos(1_727_750_382_000_000_000 + i128::from(ms) * 1_000_000)
}

/// `n` events: process k execs (a seed exec, renumbered) and exits `LIFETIME` processes later.
fn workload(n: u64) -> Vec<Event> {
    let seed = seed_events();
    assert!(
        seed.len() >= 2
            && seed[..2]
                .iter()
                .all(|e| matches!(e.body, EventBody::ProcessExec(_))),
        "the seed file starts with two execs"
    );
    let exec = |k: u64| {
        let mut event = seed[(k % 2) as usize].clone();
        if let EventBody::ProcessExec(exec) = &mut event.body {
            let process = exec.process.as_mut().expect("seed execs have a process");
            process.exec_id = format!("a2luZC13b3JrZXIyOjI3OTI5NDExNjY1NzMzMzo{k:08}");
            process.pid = Some(3_000_000 + k as u32);
            process.tid = process.pid;
            process.start_time = Some(at_millis(k));
        }
        event
    };
    let exit = |k: u64| {
        let EventBody::ProcessExec(exec) = exec(k).body else {
            unreachable!()
        };
        Event::new(EventBody::ProcessExit(ProcessExit {
            process: exec.process,
            parent: exec.parent,
            status: 0,
            time: Some(at_millis(k + LIFETIME)),
            ..ProcessExit::default()
        }))
    };
    (0..n)
        .map(|i| {
            let k = i / 2;
            let mut event = match (i % 2, k.checked_sub(LIFETIME)) {
                (1, Some(old)) => exit(old),
                // Until the first exits are due, more execs (numbered past the others).
                (1, None) => exec(n + k),
                _ => exec(k),
            };
            event.node_name = "kind-worker2".into();
            event.time = Some(at_millis(i));
            event
        })
        .collect()
}

fn header() -> Header {
    Header::new(CaptureOptions {
        source: "local".into(),
        node_name: "kind-worker2".into(),
        args: vec!["tetrascope".into(), "record".into()],
    })
}

/// A fresh directory of our own under the system temp dir, removed (with everything in it)
/// when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "tetrascope-bench-recording-{}-{nanos}",
            std::process::id()
        ));
        // `create_dir`, not `create_dir_all`: a directory that exists is not ours.
        fs::create_dir(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        TempDir(dir)
    }

    /// A path in the directory no file has had yet (the recorder refuses existing files).
    fn fresh(&self, stem: &str, extension: &str, n: &mut u64) -> PathBuf {
        *n += 1;
        self.0.join(format!("{stem}-{n}.{extension}"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Removes a recording and its sidecar.
fn remove_recording(path: &Path) {
    fs::remove_file(path).unwrap_or_else(|e| panic!("removing {}: {e}", path.display()));
    let meta = tetrascope::record::sidecar_path(path);
    fs::remove_file(&meta).unwrap_or_else(|e| panic!("removing {}: {e}", meta.display()));
}

/// Records `events` at `path` as `tetrascope record` does, a counter changing as it goes;
/// the recording's size in bytes.
fn record(path: &Path, events: &[Event]) -> u64 {
    let mut recorder = Recorder::create(path, header(), RecorderOptions::default())
        .unwrap_or_else(|e| panic!("creating {}: {e:#}", path.display()));
    for (i, event) in events.iter().enumerate() {
        recorder.set_counter("kernel_lost", i as u64 / 100);
        recorder.write(black_box(event)).expect("writing an event");
    }
    let summary = recorder.finish().expect("finishing the recording");
    assert_eq!(summary.events, events.len() as u64);
    summary.bytes
}

/// Reads every event of `recording` (parsed, not applied to anything).
fn read(recording: &Recording) -> u64 {
    let mut reader = recording.events().expect("opening the events");
    while let Some(item) = reader.next_item().expect("reading an event") {
        assert!(matches!(item, ReadItem::Event(_)), "{item:?}");
        black_box(item);
    }
    reader.events_read()
}

fn recording(c: &mut Criterion) {
    let events = workload(EVENTS);
    let dir = TempDir::new();
    let mut files = 0;

    let mut group = c.benchmark_group("recording");
    // Iterations take some 0.1 s: few samples, of equal size.
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(EVENTS));
    for (name, extension) in [("plain", "jsonl"), ("zst", "jsonl.zst")] {
        group.bench_function(format!("write_{name}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let path = dir.fresh("write", extension, &mut files);
                    let start = Instant::now();
                    record(&path, &events);
                    total += start.elapsed();
                    remove_recording(&path);
                }
                total
            })
        });
    }
    for (name, extension) in [("plain", "jsonl"), ("zst", "jsonl.zst")] {
        let path = dir.fresh("read", extension, &mut files);
        let bytes = record(&path, &events);
        eprintln!(
            "recording/{name}: {EVENTS} events in {bytes} bytes ({:.0} bytes an event)",
            bytes as f64 / EVENTS as f64
        );
        let recording =
            Recording::open(&path).unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
        assert_eq!(read(&recording), EVENTS);
        group.bench_function(format!("read_{name}"), |b| b.iter(|| read(&recording)));
        drop(recording);
        remove_recording(&path);
    }
    group.finish();
}

criterion_group!(benches, recording);
criterion_main!(benches);
