//! Syscall counting on the real kernel (root): counts by binary, `--no-syscalls`, and switching
//! the counter at run time.
mod common;

use std::{
    process::{Command, Stdio},
    thread,
    time::Duration,
};

use common::{LiveCapture, decode_events, holds_raw_tracepoint, marker_dir, require_root};
use tetrascope::{
    event::{Event, EventType},
    model::SyscallStats,
    sensor::SensorOptions,
    source::local::{LocalSource, TICK},
};

/// Runs dd to copy `count` bytes one at a time; returns its pid.
fn dd_one_byte_at_a_time(count: u32) -> u32 {
    let mut dd = Command::new("/usr/bin/dd")
        .args([
            "if=/dev/zero",
            "of=/dev/null",
            "bs=1",
            &format!("count={count}"),
        ])
        .current_dir(marker_dir("dd"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(dd.wait().unwrap().success());
    dd.id()
}

#[test]
fn dd_counts_every_read_and_write() {
    if !require_root() {
        return;
    }
    let capture = LiveCapture::start(&["-e", "TETRASCOPE_SYSCALL_STATS"]);
    assert!(
        holds_raw_tracepoint(capture.pid()),
        "the counter is attached"
    );
    let pid = dd_one_byte_at_a_time(200_000);
    let (events, _) = capture.stop();
    let events = decode_events(&events);
    let mut stats = SyscallStats::default();
    for event in &events {
        assert!(stats.apply(event), "only statistics were asked for");
    }
    let dd = stats.for_binary("/usr/bin/dd").expect("stats of dd");
    assert!(dd.total_of("read") >= 200_000, "{dd:#?}");
    assert!(dd.total_of("write") >= 200_000, "{dd:#?}");
    // This dd's own image (the other tests here run dd too).
    let exec_id = events
        .iter()
        .filter_map(|e| e.process())
        .find(|p| p.pid == Some(pid) && p.binary == "/usr/bin/dd")
        .map(|p| p.exec_id.clone())
        .expect("the stats of our dd");
    let exec = stats.for_exec(&exec_id).expect("dd's image");
    assert!(exec.total_of("read") >= 200_000, "{exec:#?}");
    assert!(exec.total_of("write") >= 200_000, "{exec:#?}");
    assert!(exec.ended, "dd's last counts came with its exit");
}

#[test]
fn no_syscalls_leaves_the_counter_detached() {
    if !require_root() {
        return;
    }
    let capture = LiveCapture::start(&["-e", "TETRASCOPE_SYSCALL_STATS", "--no-syscalls"]);
    assert!(!holds_raw_tracepoint(capture.pid()), "no counter attached");
    dd_one_byte_at_a_time(20_000);
    thread::sleep(TICK + Duration::from_millis(200));
    let (events, stderr) = capture.stop();
    assert!(events.is_empty(), "no statistics: {events:?}");
    assert!(stderr.contains("0 events printed"), "{stderr}");
}

#[test]
fn the_counter_switches_at_run_time() {
    if !require_root() {
        return;
    }
    let runtime = common::runtime();
    runtime.block_on(async {
        let options = SensorOptions {
            syscalls: false,
            files: false,
        };
        let (mut source, _, _) = LocalSource::start("switch".into(), options).unwrap();
        let me = std::process::id();
        assert!(!source.syscall_counting() && !holds_raw_tracepoint(me));
        source.set_syscall_counting(true).unwrap();
        assert!(source.syscall_counting() && holds_raw_tracepoint(me));
        dd_one_byte_at_a_time(1_000);
        let stats = collect_for(&mut source, TICK * 2).await;
        assert!(
            stats.for_binary("/usr/bin/dd").is_some(),
            "counted while on"
        );

        source.set_syscall_counting(false).unwrap();
        assert!(!source.syscall_counting() && !holds_raw_tracepoint(me));
        // What was counted before is sent out; then nothing more.
        collect_for(&mut source, TICK * 2).await;
        dd_one_byte_at_a_time(1_000);
        let stats = collect_for(&mut source, TICK * 2).await;
        assert!(
            stats.for_binary("/usr/bin/dd").is_none(),
            "nothing while off"
        );
    });
}

/// The statistics a live source sends over `how_long`.
async fn collect_for(source: &mut LocalSource, how_long: Duration) -> SyscallStats {
    let mut stats = SyscallStats::default();
    let mut events: Vec<Event> = Vec::new();
    let deadline = tokio::time::Instant::now() + how_long;
    while tokio::time::Instant::now() < deadline {
        source.next_batch(&mut events).await.unwrap();
        for event in events.drain(..) {
            if event.event_type() == EventType::TetrascopeSyscallStats {
                stats.apply(&event);
            }
        }
    }
    stats
}
