//! Numbers, not verdicts (run by scripts/bench.sh, as root, in release): what a loaded policy
//! that does not match costs each `read`, and how long loading and switching a policy take.
mod common;

use std::{
    fs::File,
    io::Read,
    time::{Duration, Instant},
};

use common::require_root;
use tetrascope::{
    event::{Event, EventBody},
    policy::{model::Mode, store::PolicySource},
    sensor::SensorOptions,
    source::local::LocalSource,
};

const READS: u32 = 1_000_000;
const ROUNDS: usize = 7;

/// Mean cost of a one-byte `read` of /dev/zero on this thread.
fn read_cost() -> f64 {
    let mut zero = File::open("/dev/zero").unwrap();
    let mut byte = [0u8; 1];
    let started = Instant::now();
    for _ in 0..READS {
        zero.read_exact(&mut byte).unwrap();
    }
    started.elapsed().as_nanos() as f64 / f64::from(READS)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[test]
#[ignore = "a benchmark: scripts/bench.sh runs it"]
fn cost_of_a_loaded_policy_that_does_not_match() {
    if !require_root() {
        return;
    }
    let iris = common::shared_policy("iris-read-file-sigkill.yaml");
    let runtime = common::runtime();
    let (mut baseline, mut loaded, mut added) = (Vec::new(), Vec::new(), Vec::new());
    let mut toggles = Vec::new();
    for round in 0..ROUNDS {
        let measure_loaded = |added: &mut Vec<Duration>, toggles: &mut Vec<Duration>| {
            runtime.block_on(async {
                let (mut source, _, _) =
                    LocalSource::start("bench".into(), SensorOptions::default()).unwrap();
                let started = Instant::now();
                source
                    .add_policy(iris.clone(), PolicySource::Api, Some(Mode::Monitor))
                    .unwrap();
                added.push(started.elapsed());
                let started = Instant::now();
                for _ in 0..100 {
                    source.set_policy_enabled(&iris.name, false).unwrap();
                    source.set_policy_enabled(&iris.name, true).unwrap();
                }
                toggles.push(started.elapsed() / 200);
                read_cost()
            })
        };
        // Alternate the order so that drift does not favour one side.
        if round % 2 == 0 {
            baseline.push(read_cost());
            loaded.push(measure_loaded(&mut added, &mut toggles));
        } else {
            loaded.push(measure_loaded(&mut added, &mut toggles));
            baseline.push(read_cost());
        }
    }
    let deltas: Vec<f64> = baseline.iter().zip(&loaded).map(|(b, l)| l - b).collect();
    println!(
        "policy overhead: read(2) {:.1} ns without, {:.1} ns with the IRIS policy loaded (monitor, no match): +{:.1} ns median of {ROUNDS} interleaved rounds",
        median(baseline),
        median(loaded),
        median(deltas)
    );
    let ms = |d: &Duration| d.as_secs_f64() * 1e3;
    println!(
        "policy load (resolve, compile, maps, attach 7 tracepoints): median {:.2} ms; enable or disable: median {:.1} µs",
        median(added.iter().map(ms).collect()),
        median(toggles.iter().map(|d| d.as_secs_f64() * 1e6).collect())
    );
}

/// From the `read` of the key to the reader's exit, as the kernel timed both (event times).
#[test]
#[ignore = "a benchmark: scripts/bench.sh runs it"]
fn time_from_the_read_to_the_kill() {
    if !require_root() {
        return;
    }
    std::fs::create_dir_all("/usr/irissys/mgr").unwrap();
    std::fs::write("/usr/irissys/mgr/iris.key", "KEY\n").unwrap();
    let iris = common::shared_policy("iris-read-file-sigkill.yaml");
    let runtime = common::runtime();
    let mut latencies = Vec::new();
    runtime.block_on(async {
        let (mut source, _, _) =
            LocalSource::start("bench".into(), SensorOptions::default()).unwrap();
        source
            .add_policy(iris, PolicySource::Api, Some(Mode::Enforce))
            .unwrap();
        for _ in 0..20 {
            let reader = std::process::Command::new("/usr/bin/head")
                .arg("/usr/irissys/mgr/iris.key")
                .spawn()
                .unwrap();
            let pid = reader.id();
            reader.wait_with_output().unwrap();
            let mut events = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(2);
            let (mut read_at, mut exit_at) = (None, None);
            while Instant::now() < deadline && exit_at.is_none() {
                source.next_batch(&mut events).await.unwrap();
                for event in events.drain(..) {
                    let nanos = event_nanos(&event);
                    match &event.body {
                        EventBody::ProcessKprobe(k)
                            if k.process.as_ref().and_then(|p| p.pid) == Some(pid)
                                && k.function_name.ends_with("sys_read") =>
                        {
                            read_at = nanos
                        }
                        EventBody::ProcessExit(e)
                            if e.process.as_ref().and_then(|p| p.pid) == Some(pid) =>
                        {
                            exit_at = nanos
                        }
                        _ => {}
                    }
                }
            }
            if let (Some(read), Some(exit)) = (read_at, exit_at) {
                latencies.push((exit - read) as f64 / 1e3);
            }
        }
    });
    assert!(!latencies.is_empty(), "no kill observed");
    println!(
        "read to kill: median {:.1} µs over {} readers (kernel times of the read hook and of the exit)",
        median(latencies.clone()),
        latencies.len()
    );
}

fn event_nanos(event: &Event) -> Option<i128> {
    event.time.as_ref().map(|t| t.unix_nanos())
}
