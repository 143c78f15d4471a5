//! Recorder → reader on real files in a temporary directory: round trips, checkpoints and
//! seeking, crash damage (cut files, a recorder killed with SIGKILL), errors.
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::*;
use crate::event::{
    Event, EventBody, Process, ProcessExec, ProcessExit, Timestamp, decode_json_line, encode_json,
};
use crate::model::ProcessView;

const SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/fixtures/seed-events.jsonl"
);

/// A directory removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tetrascope-record-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn seed_events() -> Vec<Event> {
    fs::read_to_string(SEED)
        .unwrap()
        .lines()
        .map(|line| decode_json_line(line.as_bytes()).unwrap())
        .collect()
}

pub(crate) fn at_millis(ms: u64) -> Timestamp {
    Timestamp::from_unix_nanos(1_727_750_382_000_000_000 + i128::from(ms) * 1_000_000)
}

/// Process `n` of the synthetic workload: a child of process `n / 2`.
fn process(n: u64) -> Process {
    Process {
        exec_id: format!("bm9kZTo{n}"),
        pid: Some(1000 + n as u32),
        uid: Some(1000),
        cwd: "/home/user".into(),
        binary: format!("/usr/bin/tool{}", n % 7),
        arguments: format!("--run {n}"),
        flags: "execve clone".into(),
        start_time: Some(at_millis(n)),
        parent_exec_id: if n == 0 {
            String::new()
        } else {
            format!("bm9kZTo{}", n / 2)
        },
        tid: Some(1000 + n as u32),
        ..Process::default()
    }
}

/// Event `i` of an endless, stateless exec/exit workload: process `i` execs under process
/// `i / 2`; every third event is the exit of the process exec'd just before.
fn synthetic(i: u64) -> Event {
    let mut event = if i % 3 == 2 {
        Event::new(EventBody::ProcessExit(ProcessExit {
            process: Some(process(i - 1)),
            parent: Some(process((i - 1) / 2)),
            signal: String::new(),
            status: (i % 5) as u32,
            time: Some(at_millis(i)),
            ancestors: Vec::new(),
        }))
    } else {
        Event::new(EventBody::ProcessExec(ProcessExec {
            process: Some(process(i)),
            parent: Some(process(i / 2)),
            ancestors: Vec::new(),
        }))
    };
    event.node_name = "node-a".into();
    event.time = Some(at_millis(i));
    event
}

/// The seed events, then `n` synthetic ones.
pub(crate) fn workload(n: u64) -> Vec<Event> {
    let mut events = seed_events();
    events.extend((0..n).map(synthetic));
    events
}

fn header() -> Header {
    Header::new(CaptureOptions {
        source: "local".into(),
        node_name: "node-a".into(),
        args: vec!["tetrascope".into(), "record".into()],
    })
}

pub(crate) fn every(events: u64) -> RecorderOptions {
    RecorderOptions {
        checkpoint_every_events: events,
        checkpoint_interval: Duration::from_secs(3600),
        ..RecorderOptions::default()
    }
}

pub(crate) fn record(path: &Path, events: &[Event], options: RecorderOptions) -> Summary {
    let mut recorder = Recorder::create(path, header(), options).unwrap();
    for (i, event) in events.iter().enumerate() {
        recorder.set_counter("kernel_lost", i as u64 / 100);
        recorder.write(event).unwrap();
    }
    recorder.finish().unwrap()
}

/// Everything a reader yields, an I/O error failing the test.
fn read_all(mut reader: EventReader) -> Vec<ReadItem> {
    let mut items = Vec::new();
    while let Some(item) = reader.next_item().unwrap() {
        items.push(item);
    }
    items
}

fn events_of(items: Vec<ReadItem>) -> Vec<Event> {
    items
        .into_iter()
        .map(|item| match item {
            ReadItem::Event(event) => event,
            other => panic!("not an event: {other:?}"),
        })
        .collect()
}

fn json_lines(events: &[Event]) -> Vec<u8> {
    let mut out = Vec::new();
    for event in events {
        encode_json(event, &mut out);
    }
    out
}

fn round_trip(name: &str) {
    let dir = TempDir::new();
    let path = dir.join(name);
    let events = workload(2500);
    let summary = record(&path, &events, every(500));

    // The recording holds exactly our JSON lines (decompressed with any zstd decoder).
    let bytes = fs::read(&path).unwrap();
    assert_eq!(summary.bytes, bytes.len() as u64);
    let text = if name.ends_with(".zst") {
        assert!(bytes.len() * 5 < json_lines(&events).len(), "compressed");
        zstd::decode_all(&bytes[..]).unwrap()
    } else {
        bytes
    };
    assert!(
        text == json_lines(&events),
        "the file is the events' JSON lines"
    );

    let recording = Recording::open(&path).unwrap();
    assert_eq!(recording.compressed, name.ends_with(".zst"));
    assert_eq!(recording.header, Some(header_like(&recording)));
    assert!(
        recording.sidecar_problems.is_empty(),
        "{:?}",
        recording.sidecar_problems
    );
    assert_eq!(recording.summary.as_ref(), Some(&summary));
    assert_eq!(summary.events, events.len() as u64);
    assert_eq!(summary.end_time, events.last().unwrap().time);
    assert_eq!(summary.counters["kernel_lost"], 25);
    let mut reader = recording.events().unwrap();
    let mut read = Vec::new();
    while let Some(item) = reader.next_item().unwrap() {
        match item {
            ReadItem::Event(event) => read.push(event),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(reader.events_read(), events.len() as u64);
    assert!(read == events, "every event reads back as written");
}

/// The header as written by [`header`], with this recording's start time.
fn header_like(recording: &Recording) -> Header {
    Header {
        start_time: recording.header.as_ref().unwrap().start_time,
        ..header()
    }
}

#[test]
fn plain_round_trip() {
    round_trip("incident.jsonl");
}

#[test]
fn zstd_round_trip() {
    round_trip("incident.jsonl.zst");
}

fn checkpoints_and_seeking(name: &str) {
    let dir = TempDir::new();
    let path = dir.join(name);
    let events = workload(1000);
    record(&path, &events, every(200));
    let recording = Recording::open(&path).unwrap();

    // One at the start, one every 200 events, one at the end (1002 is not a multiple).
    let at: Vec<u64> = recording.checkpoints.iter().map(|c| c.events).collect();
    assert_eq!(at, vec![0, 200, 400, 600, 800, 1000, 1002]);
    assert_eq!(recording.summary.as_ref().unwrap().checkpoints, 7);
    let first = &recording.checkpoints[0];
    assert_eq!(
        (first.offset, first.time, first.processes.len()),
        (0, None, 0)
    );

    let mut view = ProcessView::new();
    let mut applied = 0;
    for checkpoint in &recording.checkpoints {
        assert_eq!(checkpoint.lines, checkpoint.events);
        let before = checkpoint.events as usize;
        for event in &events[applied..before] {
            view.apply(event);
        }
        applied = before;
        assert_eq!(checkpoint.processes, view.snapshot(), "at event {before}");
        assert_eq!(
            checkpoint.time,
            events[..before].iter().rev().find_map(|e| e.time)
        );
        assert_eq!(
            checkpoint.counters.get("kernel_lost").copied(),
            before.checked_sub(1).map(|i| i as u64 / 100)
        );

        // From the checkpoint: exactly the events after it, counted from the start...
        let mut reader = recording.events_from(checkpoint).unwrap();
        assert_eq!(reader.events_read(), checkpoint.events);
        let mut rest = Vec::new();
        while let Some(item) = reader.next_item().unwrap() {
            match item {
                ReadItem::Event(event) => rest.push(event),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(reader.events_read(), events.len() as u64);
        assert!(rest == events[before..], "after event {before}");
        // ...and its processes plus those events make the same view as all events.
        let mut restored = ProcessView::restore(checkpoint.processes.clone());
        let mut full = ProcessView::new();
        rest.iter().for_each(|e| restored.apply(e));
        events.iter().for_each(|e| full.apply(e));
        assert_eq!(restored, full, "from event {before}");
    }

    // Looking checkpoints up by event index and by time.
    let events_at = |c: Option<&Checkpoint>| c.map(|c| c.events);
    assert_eq!(
        events_at(recording.checkpoint_at_or_before_event(0)),
        Some(0)
    );
    assert_eq!(
        events_at(recording.checkpoint_at_or_before_event(199)),
        Some(0)
    );
    assert_eq!(
        events_at(recording.checkpoint_at_or_before_event(200)),
        Some(200)
    );
    assert_eq!(
        events_at(recording.checkpoint_at_or_before_event(5000)),
        Some(1002)
    );
    let time_of = |i: usize| events[i].time.unwrap();
    assert_eq!(
        events_at(recording.checkpoint_at_or_before_time(Timestamp::default())),
        Some(0)
    );
    assert_eq!(
        events_at(recording.checkpoint_at_or_before_time(time_of(450))),
        Some(400)
    );
    // The checkpoint at 400 comes right after event 399.
    assert_eq!(
        events_at(recording.checkpoint_at_or_before_time(time_of(399))),
        Some(400)
    );
    assert_eq!(
        events_at(recording.checkpoint_at_or_before_time(time_of(398))),
        Some(200)
    );
}

#[test]
fn plain_checkpoints_seek_and_restore_the_process_view() {
    checkpoints_and_seeking("seek.jsonl");
}

#[test]
fn zstd_checkpoints_seek_and_restore_the_process_view() {
    checkpoints_and_seeking("seek.jsonl.zst");
}

#[test]
fn checkpoints_come_by_time_too() {
    let dir = TempDir::new();
    let path = dir.join("timed.jsonl");
    let options = RecorderOptions {
        checkpoint_every_events: 0,
        checkpoint_interval: Duration::from_millis(30),
        ..RecorderOptions::default()
    };
    let mut recorder = Recorder::create(&path, header(), options).unwrap();
    recorder.write(&synthetic(0)).unwrap();
    std::thread::sleep(Duration::from_millis(40));
    recorder.flush().unwrap();
    assert_eq!(recorder.stats().checkpoints, 2, "the flush took it");
    std::thread::sleep(Duration::from_millis(40));
    recorder.flush().unwrap();
    assert_eq!(
        recorder.stats().checkpoints,
        2,
        "none without events since the last"
    );
    recorder.write(&synthetic(1)).unwrap();
    assert_eq!(recorder.stats().checkpoints, 3, "the write took it");
    let summary = recorder.finish().unwrap();
    assert_eq!(summary.checkpoints, 3, "nothing new for a final one");
    let recording = Recording::open(&path).unwrap();
    assert_eq!(recording.checkpoints.len(), 3);
}

/// A recording of `events` left as a crash leaves it: flushed, never finished.
fn crashed(path: &Path, events: &[Event]) -> Vec<u64> {
    let options = RecorderOptions {
        flush_interval: Duration::ZERO,
        ..every(40)
    };
    let mut recorder = Recorder::create(path, header(), options).unwrap();
    let mut flushed_at = Vec::new();
    for event in events {
        recorder.write(event).unwrap();
        recorder.flush().unwrap();
        flushed_at.push(recorder.stats().bytes);
    }
    std::mem::forget(recorder);
    flushed_at
}

#[test]
fn a_plain_recording_cut_anywhere_in_its_last_line_reads_up_to_it() {
    let dir = TempDir::new();
    let path = dir.join("cut.jsonl");
    let events = workload(1);
    let flushed_at = crashed(&path, &events);
    let whole = fs::read(&path).unwrap();
    let last_start = flushed_at[events.len() - 2] as usize;
    let cut = dir.join("cut-copy.jsonl");
    for len in last_start..=whole.len() {
        fs::write(&cut, &whole[..len]).unwrap();
        let items = read_all(Recording::open(&cut).unwrap().events().unwrap());
        let (complete, tail) = items.split_at(events.len() - 1);
        for (item, want) in complete.iter().zip(&events) {
            assert!(
                matches!(item, ReadItem::Event(e) if e == want),
                "cut at {len}"
            );
        }
        let last_line = len - last_start;
        match tail {
            [] => assert_eq!(last_line, 0),
            [ReadItem::Event(event)] => {
                // The whole line, with or without its newline.
                assert!(last_line >= whole.len() - last_start - 1, "{last_line}");
                assert_eq!(event, events.last().unwrap());
            }
            [ReadItem::TornTail { line, bytes }] => {
                assert_eq!((*line, *bytes), (events.len() as u64, last_line));
            }
            other => panic!("cut at {len}: {other:?}"),
        }
    }
}

#[test]
fn a_zstd_recording_cut_anywhere_reads_every_flushed_event() {
    let dir = TempDir::new();
    let path = dir.join("cut.jsonl.zst");
    let events = workload(80);
    let flushed_at = crashed(&path, &events);
    let whole = fs::read(&path).unwrap();
    assert_eq!(*flushed_at.last().unwrap(), whole.len() as u64);
    // Every length near a flush (block ends, frame ends at checkpoints), a stride elsewhere.
    let mut lengths: Vec<usize> = (0..=whole.len()).step_by(37).collect();
    for &at in &flushed_at {
        let at = at as usize;
        lengths.extend(at.saturating_sub(4)..=(at + 4).min(whole.len()));
    }
    lengths.sort_unstable();
    lengths.dedup();
    let cut = dir.join("cut-copy.jsonl.zst");
    let mut torn = 0;
    for len in lengths {
        fs::write(&cut, &whole[..len]).unwrap();
        let flushed = flushed_at.iter().filter(|&&at| at <= len as u64).count();
        let mut reader = Recording::open(&cut).unwrap().events().unwrap();
        let mut read = Vec::new();
        let mut tail = None;
        while let Some(item) = reader
            .next_item()
            .unwrap_or_else(|e| panic!("cut at {len}: {e}"))
        {
            match item {
                ReadItem::Event(event) if tail.is_none() => read.push(event),
                ReadItem::TornTail { .. } if tail.is_none() => tail = Some(item),
                other => panic!("cut at {len}: {other:?} after {tail:?}"),
            }
        }
        assert!(
            read.len() >= flushed,
            "cut at {len}: {} < {flushed}",
            read.len()
        );
        assert!(read == events[..read.len()], "cut at {len}");
        if let Some(ReadItem::TornTail { line, bytes }) = tail {
            assert_eq!(line, read.len() as u64 + 1);
            assert!(bytes > 0);
            torn += 1;
        }
    }
    assert_eq!(torn, 0, "every block ends at a flush, after a whole line");
}

#[test]
fn a_zstd_recording_cut_inside_a_block_that_ends_mid_line_has_a_torn_tail() {
    // No flush: zstd cuts blocks at 128 KiB of input, wherever lines end.
    let dir = TempDir::new();
    let path = dir.join("blocks.jsonl.zst");
    let events = workload(1500);
    let options = RecorderOptions {
        flush_interval: Duration::from_secs(3600),
        ..every(0)
    };
    record(&path, &events, options);
    let whole = fs::read(&path).unwrap();
    let cut = dir.join("blocks-copy.jsonl.zst");
    let mut torn = 0;
    for len in (0..whole.len())
        .step_by(whole.len() / 40)
        .chain([whole.len()])
    {
        fs::write(&cut, &whole[..len]).unwrap();
        let items = read_all(Recording::open(&cut).unwrap().events().unwrap());
        let complete = match items.last() {
            Some(ReadItem::TornTail { line, bytes }) => {
                assert_eq!(*line, items.len() as u64);
                assert!(*bytes > 0);
                torn += 1;
                &items[..items.len() - 1]
            }
            _ => &items[..],
        };
        for (item, want) in complete.iter().zip(&events) {
            assert!(
                matches!(item, ReadItem::Event(e) if e == want),
                "cut at {len}"
            );
        }
        if len == whole.len() {
            assert_eq!(complete.len(), events.len());
        }
    }
    assert!(torn > 10, "{torn}");
}

#[test]
fn a_crashed_recording_reads_to_its_last_flush_and_keeps_its_checkpoints() {
    for name in ["crash.jsonl", "crash.jsonl.zst"] {
        let dir = TempDir::new();
        let path = dir.join(name);
        let events = workload(100);
        crashed(&path, &events);
        let recording = Recording::open(&path).unwrap();
        assert!(recording.summary.is_none(), "no End record");
        assert!(recording.sidecar_problems.is_empty());
        let at: Vec<u64> = recording.checkpoints.iter().map(|c| c.events).collect();
        assert_eq!(at, vec![0, 40, 80]);
        let read = events_of(read_all(recording.events().unwrap()));
        assert!(read == events, "{name}");
        let last = recording.checkpoints.last().unwrap();
        let rest = events_of(read_all(recording.events_from(last).unwrap()));
        assert!(rest == events[80..], "{name}");
    }
}

#[test]
fn a_cut_sidecar_keeps_its_complete_lines_and_drops_checkpoints_past_the_recording() {
    let dir = TempDir::new();
    let path = dir.join("meta.jsonl");
    let events = workload(100);
    record(&path, &events, every(40));
    let meta = sidecar_path(&path);
    let text = fs::read(&meta).unwrap();
    // Cut inside the End record.
    fs::write(&meta, &text[..text.len() - 10]).unwrap();
    let recording = Recording::open(&path).unwrap();
    assert!(recording.summary.is_none());
    assert_eq!(recording.checkpoints.len(), 4, "0, 40, 80, 102");
    assert_eq!(recording.sidecar_problems.len(), 1);
    let problem = &recording.sidecar_problems[0];
    assert!(problem.contains("torn last line 6 ("), "{problem}");
    assert!(problem.contains(&meta.display().to_string()), "{problem}");

    // A recording cut before its last checkpoints: those are dropped, the others kept.
    let bytes = fs::read(&path).unwrap();
    let keep = recording.checkpoints[2].offset as usize + 100;
    fs::write(&path, &bytes[..keep]).unwrap();
    let recording = Recording::open(&path).unwrap();
    let at: Vec<u64> = recording.checkpoints.iter().map(|c| c.events).collect();
    assert_eq!(at, vec![0, 40, 80]);
    assert_eq!(
        recording.sidecar_problems.len(),
        2,
        "{:?}",
        recording.sidecar_problems
    );
    assert!(recording.sidecar_problems[1].contains("past the end"));
}

#[test]
fn a_sidecar_of_another_recording_is_noticed() {
    let dir = TempDir::new();
    let path = dir.join("a.jsonl");
    record(&path, &workload(100), every(40));
    let other = dir.join("b.jsonl");
    let mut shifted = b"{}\n".to_vec();
    shifted.extend(fs::read(&path).unwrap());
    fs::write(&other, shifted).unwrap();
    fs::copy(sidecar_path(&path), sidecar_path(&other)).unwrap();
    let recording = Recording::open(&other).unwrap();
    assert_eq!(
        recording.checkpoints.len(),
        1,
        "only the one at offset 0 fits"
    );
    assert!(recording.sidecar_problems[0].contains("does not start a line"));
}

#[test]
fn a_damaged_or_foreign_sidecar_is_an_error() {
    let dir = TempDir::new();
    let path = dir.join("bad.jsonl");
    record(&path, &workload(10), every(4));
    let meta = sidecar_path(&path);
    let text = fs::read_to_string(&meta).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1] = "{\"type\":\"checkpoint\",";
    fs::write(&meta, lines.join("\n") + "\n").unwrap();
    let err = Recording::open(&path).unwrap_err();
    assert!(matches!(err, OpenError::BadSidecar(..)), "{err:?}");
    assert!(err.to_string().contains("line 2"), "{err}");
    assert!(
        err.to_string().contains(&meta.display().to_string()),
        "{err}"
    );

    fs::write(
        &meta,
        "{\"type\":\"header\",\"format\":\"other\",\"version\":1}\n",
    )
    .unwrap();
    let err = Recording::open(&path).unwrap_err();
    assert!(
        err.to_string()
            .contains("not a tetrascope-recording sidecar"),
        "{err}"
    );

    // A record type of a later revision is skipped.
    let unknown = format!("{}\n{{\"type\":\"policy_change\"}}\n", lines[0]);
    fs::write(&meta, unknown).unwrap();
    let recording = Recording::open(&path).unwrap();
    assert!(recording.sidecar_problems[0].contains("unknown record type \"policy_change\""));

    // Events only.
    let recording = Recording::open_events_only(&path).unwrap();
    assert!(recording.header.is_none());
    assert_eq!(events_of(read_all(recording.events().unwrap())).len(), 12);
}

#[test]
fn an_unknown_version_names_the_versions_we_read() {
    let dir = TempDir::new();
    let path = dir.join("future.jsonl");
    fs::copy(SEED, &path).unwrap();
    let future =
        r#"{"type":"header","format":"tetrascope-recording","version":7,"fields":"of the future"}"#;
    fs::write(sidecar_path(&path), format!("{future}\n")).unwrap();
    let err = Recording::open(&path).unwrap_err();
    assert!(
        matches!(
            err,
            OpenError::UnsupportedVersion {
                found: 7,
                supported: &[1]
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("version 7 is not supported"), "{text}");
    assert!(text.ends_with("reads version 1"), "{text}");
}

#[test]
fn files_that_are_not_json_lines_are_refused() {
    let dir = TempDir::new();
    let yaml = b"apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\n";
    let cases: [(&str, Vec<u8>); 4] = [
        ("a.bin", b"\x7fELF\x02\x01\x01\0\0\0".to_vec()),
        ("a.yaml", yaml.to_vec()),
        ("array.json", b"  \n[{\"process_exec\":{}}]\n".to_vec()),
        ("a.yaml.zst", zstd::encode_all(&yaml[..], 3).unwrap()),
    ];
    for (name, content) in cases {
        let path = dir.join(name);
        fs::write(&path, content).unwrap();
        let err = Recording::open(&path).unwrap_err();
        assert!(
            matches!(&err, OpenError::NotJsonLines(p) if p == &path),
            "{name}: {err:?}"
        );
        assert!(
            err.to_string().starts_with(&path.display().to_string()),
            "{err}"
        );
    }
    let missing = dir.join("missing.jsonl");
    let err = Recording::open(&missing).unwrap_err();
    assert!(matches!(err, OpenError::Io(..)));
    assert!(err.to_string().contains("missing.jsonl"), "{err}");
}

#[test]
fn empty_and_blank_files_are_empty_recordings() {
    let dir = TempDir::new();
    for (name, content) in [
        ("empty.jsonl", &b""[..]),
        ("blank.jsonl", b"\n \n"),
        ("empty.zst", b""),
    ] {
        let path = dir.join(name);
        fs::write(&path, content).unwrap();
        let recording = Recording::open(&path).unwrap();
        assert_eq!(recording.compressed, name.ends_with(".zst"));
        assert!(read_all(recording.events().unwrap()).is_empty(), "{name}");
    }
}

#[test]
fn a_tetragon_export_without_sidecar_reads_as_a_recording() {
    let dir = TempDir::new();
    let path = dir.join("export.json");
    let mut text = fs::read(SEED).unwrap();
    text.extend_from_slice(b"{\"process_exec\": {\"process\": \n");
    text.extend_from_slice(&fs::read(SEED).unwrap());
    fs::write(&path, &text).unwrap();
    let recording = Recording::open(&path).unwrap();
    assert!(recording.header.is_none() && recording.summary.is_none());
    assert!(recording.checkpoints.is_empty() && !recording.compressed);
    assert!(recording.checkpoint_at_or_before_event(0).is_none());
    let items = read_all(recording.events().unwrap());
    assert_eq!(items.len(), 5);
    assert!(matches!(
        &items[2],
        ReadItem::Bad(BadLine { number: 3, .. })
    ));
    // A compressed export too (one frame, no sidecar).
    let zst = dir.join("export.json.zst");
    fs::write(&zst, zstd::encode_all(&text[..], 19).unwrap()).unwrap();
    let recording = Recording::open(&zst).unwrap();
    assert!(recording.compressed);
    assert_eq!(read_all(recording.events().unwrap()).len(), 5);
}

#[test]
fn existing_files_are_never_overwritten() {
    let dir = TempDir::new();
    let path = dir.join("taken.jsonl");
    fs::write(&path, b"precious\n").unwrap();
    let err = Recorder::create(&path, header(), RecorderOptions::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("already exists"), "{err:#}");
    assert_eq!(fs::read(&path).unwrap(), b"precious\n");
    assert!(!sidecar_path(&path).exists());

    // A left-over sidecar alone is not overwritten either, and no recording is left behind.
    let path = dir.join("orphan.jsonl.zst");
    fs::write(sidecar_path(&path), b"old\n").unwrap();
    let err = Recorder::create(&path, header(), RecorderOptions::default())
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("orphan.jsonl.zst.meta.jsonl"),
        "{err:#}"
    );
    assert!(!path.exists());
    assert_eq!(fs::read(sidecar_path(&path)).unwrap(), b"old\n");
}

#[test]
fn create_writes_the_header_and_a_first_checkpoint_at_once() {
    let dir = TempDir::new();
    let path = dir.join("new.jsonl.zst");
    let mut recorder = Recorder::create(&path, header(), RecorderOptions::default()).unwrap();
    let recording = Recording::open(&path).unwrap();
    assert!(recording.header.is_some());
    assert_eq!(recording.checkpoints.len(), 1);
    assert_eq!(recording.checkpoints[0].offset, 0);
    assert!(read_all(recording.events().unwrap()).is_empty());
    // An explicit flush makes a write readable at once, even mid-frame.
    recorder.write(&synthetic(0)).unwrap();
    recorder.flush().unwrap();
    let read = events_of(read_all(Recording::open(&path).unwrap().events().unwrap()));
    assert!(read == [synthetic(0)]);
    let stats = recorder.stats();
    assert_eq!((stats.events, stats.checkpoints), (1, 1));
    assert_eq!(stats.bytes, fs::metadata(&path).unwrap().len());
    recorder.finish().unwrap();
}

#[test]
fn writes_flush_on_their_own_after_the_interval() {
    let dir = TempDir::new();
    let path = dir.join("interval.jsonl.zst");
    let options = RecorderOptions {
        flush_interval: Duration::from_millis(200),
        ..RecorderOptions::default()
    };
    let start = Instant::now();
    let mut recorder = Recorder::create(&path, header(), options).unwrap();
    recorder.write(&synthetic(0)).unwrap();
    if start.elapsed() < Duration::from_millis(150) {
        assert_eq!(fs::metadata(&path).unwrap().len(), 0, "buffered");
    }
    std::thread::sleep(Duration::from_millis(250));
    recorder.write(&synthetic(1)).unwrap();
    let read = events_of(read_all(Recording::open(&path).unwrap().events().unwrap()));
    assert_eq!(read.len(), 2);
    drop(recorder);
}

#[test]
fn recorders_can_move_to_another_thread() {
    fn send<T: Send>() {}
    send::<Recorder>();
    send::<EventReader>();
}

/// Env var naming the recording a [`crash_child`] writes.
const CRASH_CHILD: &str = "TETRASCOPE_RECORD_CRASH_CHILD";
/// Env var with its flush interval in milliseconds (default 5): a long one makes the
/// buffers fill and go out mid-line.
const CRASH_CHILD_FLUSH_MS: &str = "TETRASCOPE_RECORD_CRASH_CHILD_FLUSH_MS";

/// Not a test on its own: the process that [`a_recorder_killed_with_sigkill_leaves_a_readable_recording`]
/// kills. Writes the synthetic workload as fast as it can for at most 20 s.
#[test]
#[ignore = "run by the SIGKILL test"]
fn crash_child() {
    let Some(path) = std::env::var_os(CRASH_CHILD) else {
        return;
    };
    let flush_ms = std::env::var(CRASH_CHILD_FLUSH_MS).map_or(5, |ms| ms.parse().unwrap());
    let options = RecorderOptions {
        flush_interval: Duration::from_millis(flush_ms),
        ..every(700)
    };
    let mut recorder = Recorder::create(Path::new(&path), header(), options).unwrap();
    let start = Instant::now();
    let mut i = 0;
    while start.elapsed() < Duration::from_secs(20) {
        recorder.set_counter("written", i + 1);
        recorder.write(&synthetic(i)).unwrap();
        i += 1;
    }
}

#[test]
fn a_recorder_killed_with_sigkill_leaves_a_readable_recording() {
    let dir = TempDir::new();
    for (run, name) in [
        "kill.jsonl",
        "kill.jsonl.zst",
        "kill2.jsonl",
        "kill2.jsonl.zst",
    ]
    .iter()
    .enumerate()
    {
        let path = dir.join(name);
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "record::tests::crash_child",
                "--exact",
                "--ignored",
                "--quiet",
                "--test-threads=1",
            ])
            .env(CRASH_CHILD, &path)
            .env(CRASH_CHILD_FLUSH_MS, if run < 2 { "5" } else { "1000" })
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Until a few checkpoints are written, then a little more.
        let deadline = Instant::now() + Duration::from_secs(15);
        let lines = || {
            fs::read(sidecar_path(&path)).map_or(0, |t| t.iter().filter(|&&b| b == b'\n').count())
        };
        // The header and three checkpoints.
        while lines() < 4 {
            assert!(Instant::now() < deadline, "the child writes nothing");
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(3 + 7 * run as u64));
        child.kill().unwrap();
        child.wait().unwrap();

        let recording = Recording::open(&path).unwrap();
        assert!(recording.header.is_some() && recording.summary.is_none());
        assert!(
            recording.checkpoints.len() >= 3,
            "{name}: {:?} {:?}",
            recording
                .checkpoints
                .iter()
                .map(|c| (c.events, c.offset))
                .collect::<Vec<_>>(),
            recording.sidecar_problems
        );
        for problem in &recording.sidecar_problems {
            assert!(problem.contains("torn last line"), "{problem}");
        }
        let items = read_all(recording.events().unwrap());
        let mut count = 0;
        for (i, item) in items.iter().enumerate() {
            match item {
                ReadItem::Event(event) => {
                    assert!(*event == synthetic(i as u64), "{name}: event {i}");
                    count += 1;
                }
                ReadItem::TornTail { line, .. } if i == items.len() - 1 => {
                    assert_eq!(*line, i as u64 + 1);
                }
                other => panic!("{name}: item {i}: {other:?}"),
            }
        }
        let last = recording.checkpoints.last().unwrap();
        assert!(count >= last.events, "{name}: {count} < {}", last.events);
        assert_eq!(last.counters.get("written"), Some(&last.events));
        let rest = events_of(
            read_all(recording.events_from(last).unwrap())
                .into_iter()
                .filter(|item| !matches!(item, ReadItem::TornTail { .. }))
                .collect(),
        );
        assert_eq!(rest.len() as u64, count - last.events);
        eprintln!(
            "{name}: killed after {count} events, {} checkpoints, torn tail: {}",
            recording.checkpoints.len(),
            matches!(items.last(), Some(ReadItem::TornTail { .. }))
        );
    }
}
