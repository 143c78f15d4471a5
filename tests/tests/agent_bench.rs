//! Benchmark (root, ignored; scripts/bench.sh runs it): a live agent streaming an exec storm
//! to a library client over its unix socket. Prints events/s, drops, the agent's CPU time per
//! 1000 events and the latency from spawning a process to its exec event at the client.
mod common;

use std::{
    collections::HashMap,
    process::Command,
    sync::{Arc, Mutex},
    thread,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use tetrascope::agent::proto::{self, get_events_response::Event};

use common::{
    agent::{Agent, PATIENCE, TempDir, connect},
    require_root, runtime,
};

const THREADS: usize = 2;
const PER_THREAD: usize = 1000;

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
    // pid → when the test spawned it (CLOCK_REALTIME, ns).
    let spawned: Arc<Mutex<HashMap<u32, i128>>> = Arc::default();
    let me = std::process::id();

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
    let storm = {
        let spawned = spawned.clone();
        thread::spawn(move || {
            let workers: Vec<_> = (0..THREADS)
                .map(|_| {
                    let spawned = spawned.clone();
                    thread::spawn(move || {
                        for _ in 0..PER_THREAD {
                            let at = now_nanos();
                            let mut child = Command::new("/bin/true")
                                .env_remove("LD_LIBRARY_PATH")
                                .spawn()
                                .unwrap();
                            spawned.lock().unwrap().insert(child.id(), at);
                            child.wait().unwrap();
                        }
                    })
                })
                .collect();
            for w in workers {
                w.join().unwrap();
            }
        })
    };
    let total = THREADS * PER_THREAD;
    let (mut events, mut ours, mut dropped) = (0u64, 0usize, 0u64);
    let mut latencies = Vec::new();
    let mut pending: Vec<(u32, i128)> = Vec::new();
    rt.block_on(async {
        while ours < total {
            let message = tokio::time::timeout(PATIENCE, stream.message())
                .await
                .expect("events keep coming")
                .unwrap()
                .expect("stream open");
            let arrived = now_nanos();
            match message.event {
                Some(Event::ProcessExec(exec)) => {
                    events += 1;
                    let process = exec.process.unwrap_or_default();
                    let parent = exec.parent.unwrap_or_default();
                    if process.binary == "/bin/true" && parent.pid.map(|p| p.value) == Some(me) {
                        ours += 1;
                        pending.push((process.pid.map_or(0, |p| p.value), arrived));
                    }
                }
                Some(Event::RateLimitInfo(info)) => {
                    dropped += info.number_of_dropped_process_events;
                }
                _ => events += 1,
            }
        }
    });
    let elapsed = started.elapsed();
    storm.join().unwrap();
    let cpu = cpu_seconds(pid) - cpu_before;
    let spawned = spawned.lock().unwrap();
    for (pid, arrived) in pending {
        if let Some(at) = spawned.get(&pid) {
            latencies.push(arrived - at);
        }
    }
    latencies.sort_unstable();
    println!(
        "agent stream: {ours} execs of the storm ({events} events in all) in {:.2} s: {:.0} events/s to the client; {dropped} dropped",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64()
    );
    println!(
        "agent stream: agent CPU {:.3} s = {:.1} ms per 1000 events",
        cpu,
        cpu * 1e6 / events as f64
    );
    println!(
        "agent stream: spawn-to-client latency median {:.2} ms, p99 {:.2} ms ({} samples)",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.len()
    );
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{status}: {stderr}");
    assert_eq!(ours, total, "every exec arrives");
}
