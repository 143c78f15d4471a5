//! Statistics and file-access rows recorded live (root): the recording file stays Tetragon's,
//! the sidecar keeps tetrascope's own events, and a replay builds the same models as the live
//! stream did.
mod common;

use std::{
    path::Path,
    process::{Command, Stdio},
};

use common::{LiveCapture, decode_events, marker_dir, require_root, tetrascope_bin};
use serde_json::Value;
use tetrascope::{
    event::Event,
    model::{FileTable, SyscallStats},
    record::{ReadItem, sidecar_path},
    source::replay::{ReplayOptions, ReplaySource},
};

const OWN_TYPES: &str = "TETRASCOPE_SYSCALL_STATS,TETRASCOPE_FILE_ACCESS";

fn models(events: &[Event]) -> (SyscallStats, FileTable) {
    let mut stats = SyscallStats::default();
    let mut files = FileTable::default();
    for event in events {
        stats.apply(event);
        files.apply(&event.body);
    }
    (stats, files)
}

fn run(program: &str, args: &[&str], dir: &Path) {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
}

#[test]
fn a_replay_shows_the_numbers_seen_live() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("stats-replay");
    let file = dir.join("stats.jsonl");
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_file(sidecar_path(&file));
    let capture = LiveCapture::start(&["-e", OWN_TYPES, "--record", file.to_str().unwrap()]);
    run(
        "/usr/bin/dd",
        &["if=/dev/zero", "of=/dev/null", "bs=1", "count=20000"],
        &dir,
    );
    run("/usr/bin/cat", &["/etc/hostname", "missing.txt"], &dir);
    let (live, _) = capture.stop();
    let live_events = decode_events(&live);
    let (live_stats, live_files) = models(&live_events);
    assert!(live_stats.for_binary("/usr/bin/dd").is_some());
    assert!(live_files.failed() > 0, "the missing file");

    let main = std::fs::read_to_string(&file).unwrap();
    assert!(
        !main.contains("tetrascope_"),
        "the recording file is Tetragon's"
    );
    let sidecar = std::fs::read_to_string(sidecar_path(&file)).unwrap();
    assert!(sidecar.contains("\"tetrascope_syscall_stats\""));
    assert!(sidecar.contains("\"tetrascope_file_access\""));

    // getevents --input asks for the same types and prints the same lines.
    let out = Command::new(tetrascope_bin())
        .args(["getevents", "-o", "json", "-e", OWN_TYPES, "--input"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    let replayed: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(replayed, live);

    // The UI's replay source builds the same models.
    let options = ReplayOptions {
        speed: None,
        paused: false,
    };
    let mut replay = ReplaySource::open(&file, options).unwrap();
    let mut events = Vec::new();
    while let Some(item) = replay.step().unwrap() {
        if let ReadItem::Event(event) = item {
            events.push(event);
        }
    }
    let (stats, files) = models(&events);
    assert_eq!(stats, live_stats);
    assert_eq!(files, live_files);
}
