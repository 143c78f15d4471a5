//! Benchmark (root, ignored; scripts/bench.sh runs it): a live agent streaming an exec storm
//! to a library client over its unix socket. Prints events/s, drops, the agent's CPU time per
//! 1000 events and the latency from spawning a process to its exec event at the client, under
//! the storm (where it measures the backlog) and for processes started one at a time on a quiet
//! machine (the pipeline itself: the probes' wake-up batching, the agent, gRPC).
mod common;

use std::{
    collections::HashMap,
    process::Command,
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use tetrascope::agent::proto::{self, get_events_response::Event};

use common::{
    agent::{Agent, PATIENCE, TempDir, connect},
    require_root, runtime,
};

const THREADS: usize = 2;
const PER_THREAD: usize = 1000;
/// Processes started one at a time after the storm, this far apart.
const QUIET: usize = 50;
const QUIET_GAP: Duration = Duration::from_millis(20);

/// pid → when the test spawned it (CLOCK_REALTIME, ns).
type Spawned = Arc<Mutex<HashMap<u32, i128>>>;

/// Spawns `/bin/true` `count` times from `threads` threads, `gap` apart on each.
fn spawn_true(
    spawned: &Spawned,
    threads: usize,
    count: usize,
    gap: Duration,
) -> thread::JoinHandle<()> {
    let spawned = spawned.clone();
    thread::spawn(move || {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let spawned = spawned.clone();
                thread::spawn(move || {
                    for _ in 0..count {
                        let at = now_nanos();
                        let mut child = Command::new("/bin/true")
                            .env_remove("LD_LIBRARY_PATH")
                            .spawn()
                            .unwrap();
                        spawned.lock().unwrap().insert(child.id(), at);
                        child.wait().unwrap();
                        thread::sleep(gap);
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
    })
}

/// What the client received until `wanted` execs of our `/bin/true` children arrived.
#[derive(Default)]
struct Received {
    events: u64,
    dropped: u64,
    /// (pid, arrival time) of our execs.
    ours: Vec<(u32, i128)>,
}

impl Received {
    /// Arrival minus spawn time of each of our execs, sorted.
    fn latencies(&self, spawned: &Spawned) -> Vec<i128> {
        let spawned = spawned.lock().unwrap();
        let mut latencies: Vec<i128> = self
            .ours
            .iter()
            .filter_map(|(pid, arrived)| spawned.get(pid).map(|at| arrived - at))
            .collect();
        latencies.sort_unstable();
        latencies
    }
}

async fn receive(
    stream: &mut tonic::Streaming<proto::GetEventsResponse>,
    wanted: usize,
) -> Received {
    let me = std::process::id();
    let mut received = Received::default();
    while received.ours.len() < wanted {
        let message = tokio::time::timeout(PATIENCE, stream.message())
            .await
            .expect("events keep coming")
            .unwrap()
            .expect("stream open");
        let arrived = now_nanos();
        match message.event {
            Some(Event::ProcessExec(exec)) => {
                received.events += 1;
                let process = exec.process.unwrap_or_default();
                let parent = exec.parent.unwrap_or_default();
                if process.binary == "/bin/true" && parent.pid.map(|p| p.value) == Some(me) {
                    received
                        .ours
                        .push((process.pid.map_or(0, |p| p.value), arrived));
                }
            }
            Some(Event::RateLimitInfo(info)) => {
                received.dropped += info.number_of_dropped_process_events;
            }
            _ => received.events += 1,
        }
    }
    received
}

/// utime + stime of `pid`, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_comm.split(' ').collect();
    // Fields 14 and 15 of stat(5); after the comm the list starts at field 3.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks as f64 / hz
}

fn now_nanos() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i128
}

fn percentile(sorted: &[i128], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1e6
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture (scripts/bench.sh)"]
fn agent_streams_an_exec_storm() {
    if !require_root() {
        return;
    }
    let dir = TempDir::new("bench");
    let socket = dir.socket("agent.sock");
    let info = dir.join("info.json").display().to_string();
    let agent = Agent::start(&["--server-address", &socket, "--info-file", &info]);
    let pid = agent.proc.pid();
    let spawned = Spawned::default();

    let rt = runtime();
    let mut stream = rt.block_on(async {
        let mut client = connect(&socket).await;
        let request = proto::GetEventsRequest {
            allow_list: vec![proto::Filter {
                event_set: vec![proto::EventType::ProcessExec as i32],
                ..Default::default()
            }],
            ..Default::default()
        };
        client.get_events(request).await.unwrap().into_inner()
    });
    let cpu_before = cpu_seconds(pid);
    let started = Instant::now();
    let storm = spawn_true(&spawned, THREADS, PER_THREAD, Duration::ZERO);
    let total = THREADS * PER_THREAD;
    let received = rt.block_on(receive(&mut stream, total));
    let elapsed = started.elapsed();
    storm.join().unwrap();
    let cpu = cpu_seconds(pid) - cpu_before;
    let latencies = received.latencies(&spawned);
    println!(
        "agent stream: {} execs of the storm ({} events in all) in {:.2} s: {:.0} events/s to the client; {} dropped",
        received.ours.len(),
        received.events,
        elapsed.as_secs_f64(),
        received.events as f64 / elapsed.as_secs_f64(),
        received.dropped
    );
    println!(
        "agent stream: agent CPU {:.3} s = {:.1} ms per 1000 events",
        cpu,
        cpu * 1e6 / received.events as f64
    );
    println!(
        "agent stream: spawn-to-client latency under the storm median {:.2} ms, p99 {:.2} ms ({} samples)",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.len()
    );

    spawned.lock().unwrap().clear();
    let quiet = spawn_true(&spawned, 1, QUIET, QUIET_GAP);
    let calm = rt.block_on(receive(&mut stream, QUIET));
    quiet.join().unwrap();
    let latencies = calm.latencies(&spawned);
    println!(
        "agent stream: spawn-to-client latency one at a time ({} ms apart) median {:.2} ms, p99 {:.2} ms ({} samples)",
        QUIET_GAP.as_millis(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.len()
    );
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{status}: {stderr}");
    assert_eq!(received.ours.len(), total, "every exec arrives");
    assert_eq!(calm.ours.len(), QUIET, "every exec arrives");
}
