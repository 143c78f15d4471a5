//! Numbers, not verdicts (run by scripts/bench.sh, as root, in release; ignored by the test run,
//! for their minute and a half): what the syscall counter adds to every syscall, with its
//! breakdown, and what file tracking adds to an open and how many file events a second it
//! delivers without loss.
mod common;

use std::{
    ffi::CString,
    time::{Duration, Instant},
};

use common::{marker_dir, require_root};
use tetrascope::{
    event::{Event, EventBody},
    sensor::SensorOptions,
    source::local::LocalSource,
};

const SPINS: u32 = 10_000_000;
const ROUNDS: usize = 9;
const OPENS: u32 = 200_000;
const STATS_SYSCTL: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// Mean cost of `getppid` (no work in the kernel: the syscall path itself) on this thread.
fn getppid_cost() -> f64 {
    let started = Instant::now();
    for _ in 0..SPINS {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
    }
    started.elapsed().as_nanos() as f64 / f64::from(SPINS)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Runs the calling thread on the last CPU, away from the runtime's work where there are two.
fn pin_to_last_cpu() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    // SAFETY: a zeroed cpu_set_t is empty; CPU_SET stays within it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpus - 1, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set);
    }
}

/// An empty raw tracepoint program on `sys_enter`, loaded straight through bpf(2): what any
/// program there costs (the syscall tracing path and the BPF dispatch), the counter's reference.
struct EmptyProgram {
    program: libc::c_int,
    link: libc::c_int,
}

impl EmptyProgram {
    fn attach() -> Self {
        const BPF_PROG_LOAD: libc::c_long = 5;
        const BPF_RAW_TRACEPOINT_OPEN: libc::c_long = 17;
        const BPF_PROG_TYPE_RAW_TRACEPOINT: u32 = 17;
        // r0 = 0; exit
        let insns: [u64; 2] = [0xb7, 0x95];
        let license = b"GPL\0";
        let mut load = [0u64; 16]; // union bpf_attr, zero-padded
        load[0] = u64::from(BPF_PROG_TYPE_RAW_TRACEPOINT) | (insns.len() as u64) << 32;
        load[1] = insns.as_ptr() as u64;
        load[2] = license.as_ptr() as u64;
        // SAFETY: a valid bpf_attr for BPF_PROG_LOAD, its pointers alive across the call.
        let program = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                BPF_PROG_LOAD,
                load.as_ptr(),
                size_of_val(&load),
            )
        } as libc::c_int;
        assert!(
            program >= 0,
            "loading an empty program: {}",
            std::io::Error::last_os_error()
        );
        let name = b"sys_enter\0";
        let open: [u64; 4] = [name.as_ptr() as u64, program as u64, 0, 0];
        // SAFETY: as above, for BPF_RAW_TRACEPOINT_OPEN.
        let link = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                BPF_RAW_TRACEPOINT_OPEN,
                open.as_ptr(),
                size_of_val(&open),
            )
        } as libc::c_int;
        assert!(
            link >= 0,
            "attaching it: {}",
            std::io::Error::last_os_error()
        );
        Self { program, link }
    }

    /// Run time and runs, from the program's fdinfo (kept while `bpf_stats_enabled` is 1).
    fn runs(&self) -> (Duration, u64) {
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", self.program)).unwrap();
        let value = |key: &str| {
            info.lines()
                .find_map(|line| line.strip_prefix(key))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        (
            Duration::from_nanos(value("run_time_ns:")),
            value("run_cnt:"),
        )
    }
}

impl Drop for EmptyProgram {
    fn drop(&mut self) {
        // SAFETY: closing our own fds.
        unsafe {
            libc::close(self.link);
            libc::close(self.program);
        }
    }
}

/// Nanoseconds a run of a program with these (run time, runs) readings before and after.
fn per_run(before: (Duration, u64), after: (Duration, u64)) -> f64 {
    (after.0 - before.0).as_nanos() as f64 / (after.1 - before.1).max(1) as f64
}

/// `kernel.bpf_stats_enabled` at 1 while it lives, then back as it was.
struct BpfStats(String);

impl BpfStats {
    fn on() -> Self {
        let before = std::fs::read_to_string(STATS_SYSCTL).unwrap_or_default();
        std::fs::write(STATS_SYSCTL, "1").unwrap();
        Self(before)
    }
}

impl Drop for BpfStats {
    fn drop(&mut self) {
        let _ = std::fs::write(STATS_SYSCTL, self.0.trim());
    }
}

#[test]
#[ignore = "a benchmark: scripts/bench.sh runs it"]
fn cost_of_counting_syscalls() {
    if !require_root() {
        return;
    }
    pin_to_last_cpu();
    let runtime = common::runtime();
    let counter_only = SensorOptions {
        syscalls: true,
        files: false,
    };
    let files_only = SensorOptions {
        syscalls: false,
        files: true,
    };
    let variants: [(&str, Option<SensorOptions>); 5] = [
        ("none", None),
        ("an empty raw tracepoint program on sys_enter", None),
        ("the counter", Some(counter_only)),
        ("file tracking alone", Some(files_only)),
        (
            "the counter and file tracking",
            Some(SensorOptions::default()),
        ),
    ];
    let mut costs: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for round in 0..ROUNDS {
        // Rotate the order so that drift does not favour one variant.
        for i in (0..variants.len()).map(|i| (i + round) % variants.len()) {
            let cost = match (i, variants[i].1) {
                (0, _) => getppid_cost(),
                (_, None) => {
                    let _empty = EmptyProgram::attach();
                    getppid_cost()
                }
                (_, Some(options)) => runtime.block_on(async {
                    let (_source, _, _) = LocalSource::start("bench".into(), options).unwrap();
                    getppid_cost()
                }),
            };
            costs[i].push(cost);
        }
    }
    let added = |i: usize| {
        median(
            costs[i]
                .iter()
                .zip(&costs[0])
                .map(|(with, without)| with - without)
                .collect(),
        )
    };
    println!(
        "syscall counter: getppid {:.1} ns without tetrascope (median of {ROUNDS} interleaved rounds of {SPINS} calls)",
        median(costs[0].clone())
    );
    for (i, (name, _)) in variants.iter().enumerate().skip(1) {
        println!(
            "syscall counter: with {name}: +{:.1} ns a syscall",
            added(i)
        );
    }
    let empty_inside = {
        let _stats = BpfStats::on();
        let empty = EmptyProgram::attach();
        let before = empty.runs();
        getppid_cost();
        per_run(before, empty.runs())
    };
    let counter_inside = runtime.block_on(async {
        let (source, _, _) = LocalSource::start("bench".into(), counter_only).unwrap();
        let _stats = BpfStats::on();
        let before = source.syscall_counter_runs().unwrap();
        getppid_cost();
        per_run(before, source.syscall_counter_runs().unwrap())
    });
    println!(
        "syscall counter: breakdown: syscall tracing path and BPF dispatch +{:.1} ns (the empty program), counting +{:.1} ns; bpf_stats run_time_ns/run_cnt: counter {:.1} ns, empty program {:.1} ns (the stats' clock reads), so the counting body ~{:.1} ns",
        added(1),
        added(2) - added(1),
        counter_inside,
        empty_inside,
        counter_inside - empty_inside
    );
}

/// Opens and closes `path` `count` times in a child process (tetrascope leaves its own opens
/// out), `rate` a second at most (0: as fast as it can), while `source` drains. Returns the
/// time the child's loop took (as the child measured it) and the `fd_install` events received.
async fn open_loop(
    source: &mut LocalSource,
    path: &CString,
    count: u32,
    rate: u32,
) -> (Duration, u64) {
    let mut pipe = [0; 2];
    // SAFETY: a valid array of two fds.
    assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
    // SAFETY: the child only makes async-signal-safe calls (open, close, clock_gettime, write,
    // _exit).
    let child = unsafe { libc::fork() };
    if child == 0 {
        let started = Instant::now();
        for i in 0..count {
            if rate > 0 {
                let due = started + Duration::from_secs_f64(f64::from(i) / f64::from(rate));
                while Instant::now() < due {}
            }
            // SAFETY: a valid C string.
            let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
            // SAFETY: closing the fd just opened.
            unsafe { libc::close(fd) };
        }
        let nanos = started.elapsed().as_nanos() as u64;
        // SAFETY: eight bytes from a live u64 into the pipe; then the child ends without
        // running the parent's destructors.
        unsafe {
            libc::write(pipe[1], (&raw const nanos).cast(), 8);
            libc::_exit(0);
        }
    }
    let mut received = 0;
    let mut events: Vec<Event> = Vec::new();
    loop {
        source.next_batch(&mut events).await.unwrap();
        received += opens_of(&events, child as u32);
        events.clear();
        let mut status = 0;
        // SAFETY: waiting for our own child.
        if unsafe { libc::waitpid(child, &mut status, libc::WNOHANG) } == child {
            break;
        }
    }
    let mut nanos = 0u64;
    // SAFETY: reading the child's eight bytes into a u64, then closing our pipe.
    unsafe {
        libc::read(pipe[0], (&raw mut nanos).cast(), 8);
        libc::close(pipe[0]);
        libc::close(pipe[1]);
    }
    // What the ring still holds.
    let settle = Instant::now() + Duration::from_millis(200);
    while Instant::now() < settle {
        source.next_batch(&mut events).await.unwrap();
        received += opens_of(&events, child as u32);
        events.clear();
    }
    (Duration::from_nanos(nanos), received)
}

/// Run time of every BPF program this process holds, from their fdinfo (kept while
/// `bpf_stats_enabled` is 1).
fn programs_run_time() -> Duration {
    let fds = std::fs::read_dir("/proc/self/fdinfo").unwrap();
    let nanos: u64 = fds
        .filter_map(Result::ok)
        .filter_map(|fd| std::fs::read_to_string(fd.path()).ok())
        .filter(|info| info.contains("prog_tag:"))
        .filter_map(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("run_time_ns:"))
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .sum();
    Duration::from_nanos(nanos)
}

fn opens_of(events: &[Event], pid: u32) -> u64 {
    events
        .iter()
        .filter(|e| match &e.body {
            EventBody::ProcessKprobe(k) => {
                k.function_name == "fd_install"
                    && k.process.as_ref().and_then(|p| p.pid) == Some(pid)
            }
            _ => false,
        })
        .count() as u64
}

#[test]
#[ignore = "a benchmark: scripts/bench.sh runs it"]
fn cost_and_rate_of_file_events() {
    if !require_root() {
        return;
    }
    let file = marker_dir("open-bench").join("target.txt");
    std::fs::write(&file, "x").unwrap();
    let path = CString::new(file.to_str().unwrap()).unwrap();
    common::runtime().block_on(async {
        let options = SensorOptions {
            syscalls: false,
            files: true,
        };
        let (mut source, _, _) = LocalSource::start("bench".into(), options).unwrap();
        let (mut with, mut without) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            for tracking in [round % 2 == 0, round % 2 != 0] {
                source.set_file_tracking(tracking).unwrap();
                let (elapsed, _) = open_loop(&mut source, &path, OPENS / 4, 0).await;
                let per_open = elapsed.as_nanos() as f64 / f64::from(OPENS / 4);
                if tracking { &mut with } else { &mut without }.push(per_open);
            }
        }
        let deltas: Vec<f64> = with.iter().zip(&without).map(|(w, o)| w - o).collect();
        println!(
            "file events: open+close {:.0} ns without, {:.0} ns with file tracking: +{:.0} ns an open (median of {ROUNDS} interleaved rounds of {} opens)",
            median(without),
            median(with),
            median(deltas),
            OPENS / 4
        );
        source.set_file_tracking(true).unwrap();
        let inside = {
            let _stats = BpfStats::on();
            let before = programs_run_time();
            open_loop(&mut source, &path, OPENS / 4, 0).await;
            (programs_run_time() - before).as_nanos() as f64 / f64::from(OPENS / 4)
        };
        println!(
            "file events: {inside:.0} ns an open inside the file programs, entry and exit (bpf_stats run_time_ns)"
        );
        let mut sustained = 0;
        for rate in [25_000, 50_000, 100_000, 150_000, 200_000, 300_000, 0] {
            let before = source.counters();
            let count = if rate == 0 { OPENS } else { rate };
            let (elapsed, received) = open_loop(&mut source, &path, count, rate).await;
            let after = source.counters();
            let dropped = after.file_records_dropped - before.file_records_dropped;
            let lost = after.kernel_lost - before.kernel_lost;
            println!(
                "file events: {count} opens at {:.0}/s{}: {received} events, {dropped} left out, {lost} lost",
                f64::from(count) / elapsed.as_secs_f64(),
                if rate == 0 { " (unpaced)" } else { "" }
            );
            if rate > 0 && dropped == 0 && lost == 0 && received == u64::from(count) {
                sustained = sustained.max(rate);
            }
        }
        println!("file events: sustained without loss: {sustained} opens/s (one event each)");
    });
}
