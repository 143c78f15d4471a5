//! Recording and replay: live recordings replay to the same events, recordings killed at random
//! moments still replay, seeking agrees with reading from the start, export files keep their
//! timing.
mod common;

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use common::{
    LiveCapture, marker_dir, require_root, run_callout_scenario, shared_dir, tetrascope_bin,
    wait_for_attach,
};
use serde_json::Value;
use tetrascope::{
    event::{Event, EventBody, Process, ProcessExec, ProcessExit, Timestamp, decode_json_line},
    model::ProcessView,
    record::{CaptureOptions, Header, ReadItem, Recorder, RecorderOptions, Recording},
    source::replay::{ReplayOptions, ReplaySource},
};

/// Top-level keys Tetragon's readers know (tetragon.md §2.1).
const TETRAGON_KEYS: [&str; 16] = [
    "process_exec",
    "process_exit",
    "process_kprobe",
    "process_tracepoint",
    "process_loader",
    "process_uprobe",
    "process_throttle",
    "process_lsm",
    "process_usdt",
    "rate_limit_info",
    "test",
    "node_name",
    "time",
    "aggregation_info",
    "cluster_name",
    "node_labels",
];

/// `getevents --input FILE -o json`: the events, the exit status and stderr.
fn replay_json(file: &Path) -> (Vec<Value>, Option<i32>, String) {
    let out = Command::new(tetrascope_bin())
        .args(["getevents", "-o", "json", "--input"])
        .arg(file)
        .output()
        .unwrap();
    let events = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        events,
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn recording_path(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(tetrascope::record::sidecar_path(&path));
    path
}

#[test]
fn a_live_recording_replays_to_the_same_events() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("record");
    let file = recording_path(&dir, "live.jsonl");
    // One stream, two sinks: printed live and recorded.
    let capture = LiveCapture::start(&["--record", file.to_str().unwrap()]);
    run_callout_scenario(&dir, 3);
    let (live, _) = capture.stop();
    let (replayed, code, stderr) = replay_json(&file);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        live.len() >= 6,
        "the scenario's execs and exits: {}",
        live.len()
    );
    assert_eq!(replayed, live);

    // Every line is a Tetragon event: one event key, only keys Tetragon knows.
    for line in std::fs::read_to_string(&file).unwrap().lines() {
        let object: serde_json::Map<String, Value> = serde_json::from_str(line).unwrap();
        assert!(
            object.keys().all(|k| TETRAGON_KEYS.contains(&k.as_str())),
            "{line}"
        );
        assert_eq!(
            object.keys().filter(|k| k.starts_with("process_")).count(),
            1,
            "{line}"
        );
    }
    // The sidecar has the header and the closing summary, which counts every event recorded
    // (file tracking's opens too, which are not printed unless asked for).
    let recording = Recording::open(&file).unwrap();
    let header = recording.header.expect("header");
    assert_eq!(header.options.source, "local");
    let lines = std::fs::read_to_string(&file).unwrap().lines().count();
    assert_eq!(recording.summary.expect("summary").events, lines as u64);
}

#[test]
fn recordings_killed_at_random_moments_still_replay() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("sigkill");
    let mut torn = 0;
    for round in 0..8u64 {
        let name = if round % 2 == 0 {
            "storm.jsonl"
        } else {
            "storm.jsonl.zst"
        };
        let file = recording_path(&dir, name);
        let mut recorder = Command::new(tetrascope_bin())
            .args(["record", "-o"])
            .arg(&file)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_attach(&mut recorder);
        let storm = thread::spawn(|| {
            for _ in 0..400 {
                Command::new("/bin/true").status().unwrap();
            }
        });
        // A different moment each round, spread over the storm (after the first batch).
        thread::sleep(Duration::from_millis(150 + round * 61));
        recorder.kill().unwrap(); // SIGKILL
        recorder.wait().unwrap();
        storm.join().unwrap();

        let (events, code, stderr) = replay_json(&file);
        assert_eq!(code, Some(0), "round {round}: {stderr}");
        assert!(
            !events.is_empty(),
            "round {round}: the flushed events are there"
        );
        if stderr.contains("torn") {
            torn += 1;
        }
        if !name.ends_with(".zst") {
            // Everything but a torn last line is read (of the events printed without -e: not
            // file tracking's opens).
            let text = std::fs::read_to_string(&file).unwrap();
            let printable = text
                .split_inclusive('\n')
                .filter(|line| line.ends_with('\n'))
                .filter(|line| decode_json_line(line.as_bytes()).is_ok_and(|e| e.in_default_set()))
                .count();
            assert_eq!(events.len(), printable, "round {round}");
        }
    }
    println!("{torn} of 8 killed recordings ended in a torn line");
}

fn synthetic_process(pid: u32, parent: &str, second: i64) -> Process {
    Process {
        exec_id: format!("node:{second}:{pid}"),
        pid: Some(pid),
        uid: Some(1000),
        binary: "/usr/bin/worker".into(),
        arguments: format!("--job {pid}"),
        parent_exec_id: parent.into(),
        start_time: Some(Timestamp::from_unix_nanos(
            i128::from(second) * 1_000_000_000,
        )),
        ..Process::default()
    }
}

fn at(event: EventBody, nanos: i128) -> Event {
    Event {
        node_name: "node".into(),
        time: Some(Timestamp::from_unix_nanos(nanos)),
        ..Event::new(event)
    }
}

#[test]
fn seeking_into_a_million_events_matches_reading_from_the_start() {
    let dir = marker_dir("seek");
    let file = recording_path(&dir, "million.jsonl.zst");
    let root = synthetic_process(1, "", 0);
    let header = Header::new(CaptureOptions {
        source: "synthetic".into(),
        node_name: "node".into(),
        args: Vec::new(),
    });
    let mut recorder = Recorder::create(&file, header, RecorderOptions::default()).unwrap();
    // 500,000 execs and 500,000 exits; each process lives for 1,000 events, so the table
    // holds ~500 processes at any point.
    let total = 1_000_000u64;
    for i in 0..total / 2 {
        let pid = 2 + i as u32;
        let nanos = i128::from(i) * 1_000_000;
        let child = synthetic_process(pid, &root.exec_id, i as i64);
        recorder
            .write(&at(
                EventBody::ProcessExec(ProcessExec {
                    process: Some(child),
                    parent: Some(root.clone()),
                    ancestors: Vec::new(),
                }),
                nanos,
            ))
            .unwrap();
        if i >= 500 {
            let old = 2 + (i - 500) as u32;
            recorder
                .write(&at(
                    EventBody::ProcessExit(ProcessExit {
                        process: Some(synthetic_process(old, &root.exec_id, i as i64 - 500)),
                        parent: Some(root.clone()),
                        ..ProcessExit::default()
                    }),
                    nanos + 1,
                ))
                .unwrap();
        }
    }
    let summary = recorder.finish().unwrap();
    let middle = summary.events / 2;

    let started = Instant::now();
    let mut seeking = ReplaySource::open(
        &file,
        ReplayOptions {
            speed: None,
            paused: false,
        },
    )
    .unwrap();
    seeking.seek_event(middle).unwrap();
    let seek_time = started.elapsed();
    let sought: BTreeSet<String> = seeking
        .view()
        .snapshot()
        .into_iter()
        .map(|p| p.exec_id)
        .collect();

    let recording = Recording::open(&file).unwrap();
    let mut reader = recording.events().unwrap();
    let mut view = ProcessView::new();
    for _ in 0..middle {
        match reader.next_item().unwrap() {
            Some(ReadItem::Event(event)) => view.apply(&event),
            other => panic!("unexpected {:?}", other.is_some()),
        }
    }
    let read: BTreeSet<String> = view.snapshot().into_iter().map(|p| p.exec_id).collect();
    println!(
        "seek to event {middle} of {}: {:.1} ms; {} live processes",
        summary.events,
        seek_time.as_secs_f64() * 1e3,
        read.len()
    );
    assert!(read.len() > 400);
    assert_eq!(sought, read);
    assert_eq!(seeking.position(), middle);
}

#[test]
fn a_tetragon_export_replays_with_its_original_timing() {
    let dir = marker_dir("timing");
    let file = dir.join("export.json");
    // The seed events, 400 ms apart.
    let seed = std::fs::read_to_string(shared_dir().join("fixtures/seed-events.jsonl")).unwrap();
    let mut lines = Vec::new();
    for (i, line) in seed.lines().enumerate() {
        let mut event: Value = serde_json::from_str(line).unwrap();
        event["time"] = Value::from(format!("2024-10-01T02:39:42.{}00000000Z", 1 + 4 * i));
        lines.push(event.to_string());
    }
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();

    let started = Instant::now();
    let out = Command::new(tetrascope_bin())
        .args([
            "getevents",
            "-o",
            "compact",
            "--replay-timing",
            "--speed",
            "2",
            "--input",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 2);
    // 400 ms of recorded time at double speed: at least 200 ms (never less; more on a busy box).
    assert!(elapsed >= Duration::from_millis(190), "{elapsed:?}");

    // The plain fixture replays too (its two lines are out of order: no wait before the second).
    let out = Command::new(tetrascope_bin())
        .args(["getevents", "-o", "compact", "--replay-timing", "--input"])
        .arg(shared_dir().join("fixtures/seed-events.jsonl"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 2);
}
