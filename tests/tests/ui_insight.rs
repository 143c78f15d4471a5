//! The syscall and file panes, with styles, from the UI fixture plus statistics and file-access
//! records of its processes: a histogram of `cat`, the busiest binaries, and a file table where
//! failures and the accesses of the SIGKILLed `cat` stand out.
mod common;

use std::time::{Duration, Instant};

use common::app_with_fixture;
use tetrascope::{
    event::decode_json_line,
    ui::{App, Pane, action::Action, theme::Theme},
};

/// `cat` of the fixture (pid 302, SIGKILLed) and `sleep` (pid 303).
const CAT: &str = r#""process":{"exec_id":"ZGVtby1ub2RlOjQwMDA6MzAy","pid":302,"uid":51773,"binary":"/usr/bin/cat"}"#;
const SLEEP: &str = r#""process":{"exec_id":"ZGVtby1ub2RlOjUwMDA6MzAz","pid":303,"uid":51773,"binary":"/usr/bin/sleep"}"#;

fn records() -> Vec<String> {
    let stats = |process: &str, syscalls: &str, total: u64| {
        format!(
            r#"{{"tetrascope_syscall_stats":{{{process},"interval_ns":"1000000000","count":"{total}","total":"{total}","syscalls":[{syscalls}]}},"node_name":"demo-node","time":"2024-10-01T02:35:06Z"}}"#
        )
    };
    let file = |process: &str, path: &str, access: &str, result: i64, error: &str, count: u64| {
        format!(
            r#"{{"tetrascope_file_access":{{{process},"path":"{path}","name":"{path}","syscall":"openat","access":["{access}"],"result":"{result}","error":"{error}","count":"{count}","first_time":"2024-10-01T02:35:04Z","last_time":"2024-10-01T02:35:04Z"}},"node_name":"demo-node","time":"2024-10-01T02:35:06Z"}}"#
        )
    };
    vec![
        stats(
            CAT,
            r#"{"abi":"x64","nr":0,"name":"read","count":"2","total":"2"},{"abi":"x64","nr":257,"name":"openat","count":"5","total":"5"},{"abi":"x64","nr":9,"name":"mmap","count":"9","total":"9"},{"abi":"x64","nr":1,"name":"write","count":"1","total":"1"}"#,
            17,
        ),
        stats(
            SLEEP,
            r#"{"abi":"x64","nr":35,"name":"nanosleep","count":"1","total":"1"},{"abi":"x64","nr":257,"name":"openat","count":"3","total":"3"}"#,
            4,
        ),
        file(CAT, "/usr/irissys/mgr/iris.key", "read", 3, "", 1),
        file(CAT, "/etc/ld.so.cache", "read", 3, "", 1),
        file(
            SLEEP,
            "/usr/irissys/mgr/missing.cfg",
            "read",
            -2,
            "ENOENT",
            2,
        ),
        file(SLEEP, "/root/secret", "read", -13, "EACCES", 1),
    ]
}

fn app(base: Instant) -> App {
    let mut app = app_with_fixture(base);
    for line in records() {
        app.ingest(
            decode_json_line(line.as_bytes()).expect("a valid record"),
            base,
        );
    }
    app
}

/// Drawn twice: the tree widget opens what it last drew.
fn screen(app: &mut App, size: (u16, u16), now: Instant) -> String {
    common::render(app, &Theme::builtin(), size, now);
    common::render(app, &Theme::builtin(), size, now)
}

fn check(name: &str, actions: &[Action]) {
    let base = Instant::now();
    let later = base + Duration::from_secs(10);
    for size in [(80, 24), (120, 40)] {
        let mut app = app(base);
        screen(&mut app, size, later);
        for action in actions {
            app.handle(*action, 10);
            screen(&mut app, size, later);
        }
        insta::assert_snapshot!(
            format!("{name}_{}x{}", size.0, size.1),
            screen(&mut app, size, later)
        );
    }
}

#[test]
fn records_feed_the_panes_not_the_stream() {
    let base = Instant::now();
    let app = app(base);
    assert_eq!(app.insight.files.len(), 4);
    assert_eq!(
        app.insight
            .syscalls
            .for_binary("/usr/bin/cat")
            .unwrap()
            .total_of("mmap"),
        9
    );
    assert!(
        app.events.iter().all(|e| e.process().is_some()),
        "no record in the stream"
    );
}

#[test]
fn the_histogram_follows_the_selected_process() {
    // cat is the sixth row of the opened tree.
    let mut actions = vec![Action::ExpandAll, Action::First];
    actions.extend([Action::Down; 5]);
    actions.extend([Action::NextPane, Action::NextPane]);
    check("syscalls_of_cat", &actions);
}

#[test]
fn the_busiest_binaries() {
    check("syscalls_top", &[Action::TopBinaries]);
}

#[test]
fn failures_and_the_killed_process_stand_out_in_the_file_table() {
    let actions = [
        Action::NextPane,
        Action::NextPane,
        Action::NextPane,
        Action::Sort,
    ];
    check("files_by_errors", &actions);
}

#[test]
fn enter_on_a_file_row_opens_its_process_in_the_tree() {
    let base = Instant::now();
    let mut app = app(base);
    for _ in 0..3 {
        app.handle(Action::NextPane, 10);
    }
    assert_eq!(app.focus, Pane::Files);
    app.handle(Action::Sort, 10); // errors first: sleep's ENOENT
    let row = app.insight.selected_file().unwrap().clone();
    app.handle(Action::Details, 10);
    assert_eq!(app.focus, Pane::Tree);
    assert_eq!(
        app.tree_state.selected().last().map(String::as_str),
        Some(row.exec_id())
    );
}
