//! Numbers, not verdicts (run by scripts/bench.sh, as root, in release): what a loaded policy
//! that does not match costs each `read` (the IRIS policy) and each `connect` (socket
//! operators), and how long loading and switching a policy take.
mod common;

use std::{
    fs::File,
    io::Read,
    net::{SocketAddr, TcpListener, TcpStream},
    time::{Duration, Instant},
};

use common::{engine::start, require_root};
use tetrascope::{
    event::{Event, EventBody},
    policy::{
        model::{Mode, TracingPolicy},
        store::PolicySource,
    },
    sensor::SensorOptions,
    source::local::LocalSource,
};

const READS: u32 = 1_000_000;
const CONNECTS: u32 = 20_000;
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

/// `cost` with the engine running (no observations) without `policy` and with it loaded in
/// monitor mode, over interleaved rounds (the order alternates so that drift favours neither);
/// and each load's time and the mean time of an enable or disable.
fn with_and_without(policy: &TracingPolicy, cost: impl Fn() -> f64) -> Rounds {
    let mut rounds = Rounds::default();
    common::runtime().block_on(async {
        let mut source = start(&[], Mode::Monitor);
        for round in 0..ROUNDS {
            for loaded in [round.is_multiple_of(2), !round.is_multiple_of(2)] {
                if !loaded {
                    rounds.baseline.push(cost());
                    continue;
                }
                let started = Instant::now();
                source
                    .add_policy(policy.clone(), PolicySource::Api, Some(Mode::Monitor))
                    .unwrap();
                rounds.loads.push(started.elapsed());
                let started = Instant::now();
                for _ in 0..100 {
                    source.set_policy_enabled(&policy.name, false).unwrap();
                    source.set_policy_enabled(&policy.name, true).unwrap();
                }
                rounds.toggles.push(started.elapsed() / 200);
                rounds.loaded.push(cost());
                source.remove_policy(&policy.name).unwrap();
            }
        }
    });
    rounds
}

#[derive(Default)]
struct Rounds {
    baseline: Vec<f64>,
    loaded: Vec<f64>,
    loads: Vec<Duration>,
    toggles: Vec<Duration>,
}

impl Rounds {
    fn report(&self, call: &str, policy: &str) {
        let deltas: Vec<f64> = (self.baseline.iter().zip(&self.loaded))
            .map(|(b, l)| l - b)
            .collect();
        println!(
            "policy overhead: {call} {:.1} ns without, {:.1} ns with {policy} loaded (monitor, no match): +{:.1} ns median of {ROUNDS} interleaved rounds",
            median(self.baseline.clone()),
            median(self.loaded.clone()),
            median(deltas)
        );
        println!(
            "policy load of {policy} (resolve, compile, maps, attach): median {:.2} ms; enable or disable: median {:.1} µs",
            median(self.loads.iter().map(|d| d.as_secs_f64() * 1e3).collect()),
            median(self.toggles.iter().map(|d| d.as_secs_f64() * 1e6).collect())
        );
    }
}

/// Mean cost of a TCP connect to a closed port of 127.0.0.1 (socket, connect refused, close).
fn connect_cost(port: u16) -> f64 {
    let to = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    for _ in 0..CONNECTS {
        assert!(TcpStream::connect(to).is_err());
    }
    started.elapsed().as_nanos() as f64 / f64::from(CONNECTS)
}

#[test]
#[ignore = "a benchmark: scripts/bench.sh runs it"]
fn cost_of_a_socket_policy_per_connect() {
    if !require_root() {
        return;
    }
    // Reads the socket and the address of every connect, compares the address with a CIDR and
    // the socket's family; neither matches.
    let policy = common::engine::policy(
        "socket-bench",
        "  kprobes:\n  - call: security_socket_connect\n    syscall: false\n    args:\n    - index: 0\n      type: socket\n    - index: 1\n      type: sockaddr\n    selectors:\n    - matchArgs:\n      - index: 1\n        operator: SAddr\n        values: [\"10.0.0.0/8\"]\n      - index: 0\n        operator: Family\n        values: [AF_INET6]\n      matchActions:\n      - action: Sigkill\n",
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    with_and_without(&policy, || connect_cost(port)).report("connect(2)", "a socket policy");
}

#[test]
#[ignore = "a benchmark: scripts/bench.sh runs it"]
fn cost_of_a_loaded_policy_that_does_not_match() {
    if !require_root() {
        return;
    }
    let iris = common::shared_policy("iris-read-file-sigkill.yaml");
    with_and_without(&iris, read_cost).report("read(2)", "the IRIS policy");
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
