//! What-if on recorded calls, for the selector and action semantics the probes share with it:
//! `rateLimit` windows and scopes, InMap and NotInMap, followChildren.
use super::*;
use crate::event::{Event, Fraction, Timestamp, decode_json_line};
use what_if::WhatIf;

/// A kprobe policy posting openat(2) calls, with extra fields for its Post action.
fn openat_post(post: &str) -> TracingPolicy {
    let spec = format!(
        "  kprobes:\n  - call: sys_openat\n    syscall: true\n    args:\n    - index: 1\n      type: string\n    selectors:\n    - matchActions:\n      - action: Post{post}\n"
    );
    parse_ok(&document("what-if-engine", &spec)).remove(0)
}

/// An openat(2) of `path` by thread `tid` of process `pid`, `at` seconds into the recording.
fn openat(pid: u32, tid: u32, path: &str, at: f64) -> Event {
    let mut time = Vec::new();
    Timestamp::from_unix_nanos(1_700_000_000_000_000_000 + (at * 1e9) as i128)
        .write_rfc3339(&mut time, Fraction::Nanos);
    let line = format!(
        r#"{{"process_kprobe":{{"process":{{"pid":{pid},"tid":{tid},"binary":"/usr/bin/cat"}},"function_name":"__x64_sys_openat","args":[{{"string_arg":"{path}"}}]}},"time":"{}"}}"#,
        String::from_utf8(time).unwrap()
    );
    decode_json_line(line.as_bytes()).unwrap()
}

/// Which of `calls` would be posted.
fn posted(policy: &TracingPolicy, calls: &[Event]) -> Vec<bool> {
    let mut what_if = WhatIf::new(policy, Mode::Enforce).unwrap();
    calls
        .iter()
        .map(|call| {
            let found = what_if.evaluate(call).expect("every open matches");
            assert_eq!(found.rate_limited, !found.posted);
            found.posted
        })
        .collect()
}

#[test]
fn a_rate_limit_posts_once_per_window_and_arguments() {
    let calls = [
        openat(10, 10, "/etc/a", 0.0),
        openat(10, 10, "/etc/a", 1.0),
        openat(10, 10, "/etc/b", 1.5),
        openat(10, 10, "/etc/a", 2.1),
        openat(10, 10, "/etc/a", 2.5),
    ];
    let limited = openat_post("\n        rateLimit: \"2\"");
    assert_eq!(
        posted(&limited, &calls),
        [true, false, true, true, false],
        "other arguments post; the window starts at the last post"
    );
    assert_eq!(posted(&openat_post(""), &calls), [true; 5]);
}

#[test]
fn rate_limit_scopes_count_threads_processes_or_everything() {
    let calls = [
        openat(10, 10, "/etc/a", 0.0),
        openat(10, 11, "/etc/a", 0.1),
        openat(20, 20, "/etc/a", 0.2),
    ];
    let scoped = |scope: &str| {
        openat_post(&format!(
            "\n        rateLimit: 1m\n        rateLimitScope: {scope}"
        ))
    };
    assert_eq!(posted(&scoped("thread"), &calls), [true, true, true]);
    assert_eq!(posted(&scoped("process"), &calls), [true, false, true]);
    assert_eq!(posted(&scoped("global"), &calls), [true, false, false]);
    // Without a scope, per thread (Tetragon's default).
    assert_eq!(
        posted(&openat_post("\n        rateLimit: 1m"), &calls),
        [true, true, true]
    );
}

#[test]
fn in_map_and_not_in_map_compare_integers_with_their_values() {
    let policy = |operator: &str| {
        let spec = format!(
            "  kprobes:\n  - call: sys_close\n    syscall: true\n    args:\n    - index: 0\n      type: int\n    selectors:\n    - matchArgs:\n      - index: 0\n        operator: {operator}\n        values: [\"0:2\", \"-1\"]\n"
        );
        parse_ok(&document("in-map", &spec)).remove(0)
    };
    let close = |fd: i32| {
        let line = format!(
            r#"{{"process_kprobe":{{"process":{{"pid":7,"binary":"/usr/bin/cat"}},"function_name":"__x64_sys_close","args":[{{"int_arg":{fd}}}]}},"time":"2026-01-01T00:00:00Z"}}"#
        );
        decode_json_line(line.as_bytes()).unwrap()
    };
    let fds = [-1, 0, 2, 3, 100];
    for (operator, expected) in [
        ("InMap", [true, true, true, false, false]),
        ("NotInMap", [false, false, false, true, true]),
    ] {
        let mut what_if = WhatIf::new(&policy(operator), Mode::Enforce).unwrap();
        let matched = fds.map(|fd| what_if.evaluate(&close(fd)).is_some());
        assert_eq!(matched, expected, "{operator}");
    }
}

/// At `at` seconds: the exec of `binary` as `exec_id` (started then, or at `started`), forked
/// by `parent` (exec_id, binary); with `open`, its openat(2) instead.
fn process_event(
    exec_id: &str,
    binary: &str,
    (parent_id, parent_binary): (&str, &str),
    (at, started): (f64, f64),
    open: bool,
) -> Event {
    let time = |at: f64| {
        let mut text = Vec::new();
        Timestamp::from_unix_nanos(1_700_000_000_000_000_000 + (at * 1e9) as i128)
            .write_rfc3339(&mut text, Fraction::Nanos);
        String::from_utf8(text).unwrap()
    };
    let process = format!(
        r#""process":{{"exec_id":"{exec_id}","pid":9,"binary":"{binary}","start_time":"{}","parent_exec_id":"{parent_id}"}},"parent":{{"exec_id":"{parent_id}","binary":"{parent_binary}"}}"#,
        time(started)
    );
    let line = match open {
        true => format!(
            r#"{{"process_kprobe":{{{process},"function_name":"__x64_sys_openat","args":[{{"string_arg":"/etc/x"}}]}},"time":"{}"}}"#,
            time(at)
        ),
        false => format!(r#"{{"process_exec":{{{process}}},"time":"{}"}}"#, time(at)),
    };
    decode_json_line(line.as_bytes()).unwrap()
}

#[test]
fn follow_children_counts_what_the_binary_forks_after_the_load() {
    let policy = |operator: &str| {
        let spec = format!(
            "  kprobes:\n  - call: sys_openat\n    syscall: true\n    args:\n    - index: 1\n      type: string\n    selectors:\n    - matchBinaries:\n      - operator: {operator}\n        values: [/usr/bin/sh-x]\n        followChildren: true\n"
        );
        parse_ok(&document("follow", &spec)).remove(0)
    };
    let shell = ("s1", "/usr/bin/sh-x");
    let events = [
        // The first event: the policy counts as loaded from then on.
        process_event(
            "s1",
            "/usr/bin/sh-x",
            ("init", "/sbin/init"),
            (0.0, -9.0),
            false,
        ),
        // Forked by the shell before the load.
        process_event("c0", "/usr/bin/cat", shell, (1.0, -5.0), true),
        // Forked after the load, and what it forks in turn.
        process_event("c1", "/usr/bin/cat", shell, (2.0, 2.0), false),
        process_event("c1", "/usr/bin/cat", shell, (2.1, 2.0), true),
        process_event(
            "g1",
            "/usr/bin/head",
            ("c1", "/usr/bin/cat"),
            (3.0, 3.0),
            true,
        ),
        // Forked by another binary.
        process_event(
            "o1",
            "/usr/bin/cat",
            ("b1", "/usr/bin/bash"),
            (4.0, 4.0),
            true,
        ),
        // The shell itself.
        process_event(
            "s1",
            "/usr/bin/sh-x",
            ("init", "/sbin/init"),
            (5.0, -9.0),
            true,
        ),
    ];
    for (operator, expected) in [
        ("In", [false, false, false, true, true, false, true]),
        ("NotIn", [false, true, false, false, false, true, false]),
    ] {
        let mut what_if = WhatIf::new(&policy(operator), Mode::Enforce).unwrap();
        let matched = events
            .iter()
            .map(|event| what_if.evaluate(event).is_some())
            .collect::<Vec<_>>();
        assert_eq!(matched, expected, "{operator}");
    }
}
