//! Load: 5,000 execs as fast as the machine allows while `getevents` runs. Every exec and exit
//! must arrive and the kernel must lose nothing. Prints the rates it saw (not asserted).
mod common;

use std::{collections::HashSet, process::Command, sync::Mutex, thread, time::Instant};

use common::{LiveCapture, execs, exits, require_root};

const THREADS: usize = 4;
const PER_THREAD: usize = 1250;

/// One storm at a time: both tests' children have this process as parent.
static ONE_STORM: Mutex<()> = Mutex::new(());

#[test]
fn exec_storm_delivers_every_event() {
    if !require_root() {
        return;
    }
    let _one = ONE_STORM.lock().unwrap_or_else(|e| e.into_inner());
    let capture = LiveCapture::start(&["-e", "PROCESS_EXEC,PROCESS_EXIT"]);
    println!("start-up: {}", capture.startup_line);
    storm_and_check(capture, "exec storm", || {});
}

/// The reader stopped (SIGSTOP) for the whole storm, as a debug build or a loaded machine can
/// be for a moment: the ring must hold the burst by itself. A storm's exec records are trimmed
/// to what they use, so 5,000 of them fit with room to spare.
#[test]
fn a_stalled_reader_loses_nothing_of_a_burst() {
    if !require_root() {
        return;
    }
    let _one = ONE_STORM.lock().unwrap_or_else(|e| e.into_inner());
    let capture = LiveCapture::start(&["-e", "PROCESS_EXEC,PROCESS_EXIT"]);
    let pid = capture.pid() as i32;
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let resume = move || unsafe {
        libc::kill(pid, libc::SIGCONT);
    };
    storm_and_check(capture, "stalled reader", resume);
}

/// Runs the storm, then `after_storm`, then stops the capture and checks that every exec and
/// exit of the storm arrived and that the kernel lost nothing.
fn storm_and_check(capture: LiveCapture, label: &str, after_storm: impl FnOnce()) {
    let started = Instant::now();
    let spawners: Vec<_> = (0..THREADS)
        .map(|_| {
            thread::spawn(|| {
                (0..PER_THREAD)
                    .map(|_| {
                        // Not cargo's LD_LIBRARY_PATH: the loader would try ~120 paths that do
                        // not exist on each exec, a storm of file events on top of this one.
                        Command::new("/bin/true")
                            .env_remove("LD_LIBRARY_PATH")
                            .status()
                            .unwrap()
                            .success()
                    })
                    .filter(|ok| *ok)
                    .count()
            })
        })
        .collect();
    let spawned: usize = spawners.into_iter().map(|t| t.join().unwrap()).sum();
    let elapsed = started.elapsed();
    after_storm();
    let (events, stderr) = capture.stop();

    let me = u64::from(std::process::id());
    let ours: HashSet<u64> = execs(&events)
        .iter()
        .filter(|e| {
            e["process"]["binary"] == "/bin/true" && e["parent"]["pid"].as_u64() == Some(me)
        })
        .filter_map(|e| e["process"]["pid"].as_u64())
        .collect();
    let exited = exits(&events)
        .iter()
        .filter(|e| {
            e["process"]["pid"]
                .as_u64()
                .is_some_and(|p| ours.contains(&p))
        })
        .count();
    println!(
        "{label}: {spawned} execs in {:.2} s ({:.0} exec/s); received {} execs and {exited} exits; {}",
        elapsed.as_secs_f64(),
        spawned as f64 / elapsed.as_secs_f64(),
        ours.len(),
        stderr.lines().last().unwrap_or_default()
    );
    assert_eq!(spawned, THREADS * PER_THREAD);
    assert_eq!(ours.len(), spawned, "every exec arrives");
    assert_eq!(exited, spawned, "every exit arrives");
    assert!(stderr.contains("lost in kernel: 0,"), "{stderr}");
}
