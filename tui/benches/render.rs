//! One frame of the UI with 50,000 living processes in the tree and 1,000,000 events retained
//! (host processes without pods, ~4 KB an event in memory), at 120×40: with the tree rows cached
//! (nothing changed), after a change (rows rebuilt) with the tree closed and in follow mode, and
//! with every process opened.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::{Terminal, backend::TestBackend};
use tetrascope::{
    event::{Event, EventBody, Process, ProcessExec, ProcessExit, Timestamp},
    ui::{App, Look, SourceStatus, TreeCache, action::Action, draw, keys::KeyMap, theme::Theme},
};

const LIVE: u32 = 50_000;
const EVENTS: u64 = 1_000_000;
/// Living processes under each of the first-level parents.
const FAN_OUT: u32 = 100;

fn process(pid: u32, parent_pid: u32) -> Process {
    Process {
        exec_id: format!("bm9kZTo{pid}"),
        parent_exec_id: if parent_pid == 0 {
            String::new()
        } else {
            format!("bm9kZTo{parent_pid}")
        },
        pid: Some(pid),
        tid: Some(pid),
        uid: Some(1000),
        auid: Some(u32::MAX),
        cwd: "/home/user/src".into(),
        binary: format!("/usr/bin/worker-{}", pid % 13),
        arguments: format!("--job {pid} --queue default"),
        flags: "execve clone".into(),
        start_time: Some(Timestamp::from_unix_nanos(
            1_700_000_000_000_000_000 + i128::from(pid),
        )),
        ..Process::default()
    }
}

fn exec(pid: u32, parent_pid: u32) -> Event {
    Event::new(EventBody::ProcessExec(ProcessExec {
        process: Some(process(pid, parent_pid)),
        parent: (parent_pid != 0).then(|| process(parent_pid, 1)),
        ancestors: Vec::new(),
    }))
}

fn exit(pid: u32, parent_pid: u32) -> Event {
    Event::new(EventBody::ProcessExit(ProcessExit {
        process: Some(process(pid, parent_pid)),
        parent: Some(process(parent_pid, 1)),
        ..ProcessExit::default()
    }))
}

/// The App after the workload: `LIVE` living processes, `EVENTS` events retained; the
/// short-lived processes have exited and expired from the tree.
fn loaded_app() -> (App, Instant) {
    let start = Instant::now();
    let mut app = App::new(SourceStatus {
        name: "bench".into(),
        ..SourceStatus::default()
    });
    app.event_cap = EVENTS as usize;
    let parents = LIVE / FAN_OUT;
    app.ingest(exec(1, 0), start);
    for pid in 2..=LIVE {
        let parent = if pid <= parents + 1 {
            1
        } else {
            2 + (pid % parents)
        };
        app.ingest(exec(pid, parent), start);
    }
    let mut pid = LIVE + 1;
    while app.events_total < EVENTS {
        let parent = 2 + (pid % parents);
        app.ingest(exec(pid, parent), start);
        app.ingest(exit(pid, parent), start);
        pid += 1;
    }
    let later = start + Duration::from_secs(3600);
    app.tick(later);
    assert_eq!(app.tree.len(), LIVE as usize);
    assert_eq!(app.events.len(), EVENTS as usize);
    (app, later)
}

fn render(c: &mut Criterion) {
    let (mut app, now) = loaded_app();
    let theme = Theme::builtin();
    let keys = KeyMap::defaults();
    let look = Look {
        theme: &theme,
        keys: &keys,
        now,
    };
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut cache = TreeCache::default();
    let mut frame = |app: &mut App, cache: &mut TreeCache| {
        terminal
            .draw(|f| draw(f, app, cache, &look))
            .map(|_| ())
            .unwrap();
    };
    frame(&mut app, &mut cache);

    let mut group = c.benchmark_group("render_120x40_50k_processes_1m_events");
    group.sample_size(20);
    group.bench_function("unchanged", |b| {
        b.iter(|| frame(black_box(&mut app), &mut cache))
    });
    let mut next = 10_000_000u32;
    group.bench_function("after_an_event", |b| {
        b.iter(|| {
            next += 1;
            app.ingest(exec(next, 2 + next % (LIVE / FAN_OUT)), now);
            frame(black_box(&mut app), &mut cache);
        })
    });
    // Follow mode: the newest process's ancestors are open (the root with 500 children, the
    // parent with its ~100 children and every new one).
    app.select_newest_process();
    frame(&mut app, &mut cache);
    group.bench_function("after_an_event_following", |b| {
        b.iter(|| {
            next += 1;
            app.ingest(exec(next, 2 + next % (LIVE / FAN_OUT)), now);
            app.select_newest_process();
            frame(black_box(&mut app), &mut cache);
        })
    });
    app.handle(Action::ExpandAll, 10);
    frame(&mut app, &mut cache);
    group.bench_function("all_opened_unchanged", |b| {
        b.iter(|| frame(black_box(&mut app), &mut cache))
    });
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
