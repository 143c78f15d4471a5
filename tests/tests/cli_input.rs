//! `tetrascope getevents --input`: Tetragon export files through our filters and encoders.
mod common;

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

use common::{shared_dir, tetrascope_bin};
use serde_json::Value;

fn seed_path() -> String {
    shared_dir()
        .join("fixtures/seed-events.jsonl")
        .to_string_lossy()
        .into_owned()
}

fn getevents(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(tetrascope_bin())
        .arg("getevents")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn compact_output_matches_tetra() {
    let out = getevents(&["--input", &seed_path(), "-o", "compact"], None);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        stdout(&out),
        "🚀 process default/iris-priv /usr/bin/pwd \n🚀 process default/iris-priv /bin/bash \"-p -c pwd\"\n"
    );
}

#[test]
fn json_output_round_trips_field_by_field() {
    let out = getevents(&["--input", &seed_path(), "-o", "json"], None);
    assert!(out.status.success(), "{out:?}");
    let original = std::fs::read_to_string(seed_path()).unwrap();
    let printed = stdout(&out);
    let (a, b): (Vec<&str>, Vec<&str>) = (original.lines().collect(), printed.lines().collect());
    assert_eq!(a.len(), b.len());
    for (want, got) in a.iter().zip(b) {
        let want: Value = serde_json::from_str(want).unwrap();
        let got: Value = serde_json::from_str(got).unwrap();
        assert_eq!(want, got);
    }
}

#[test]
fn stdin_input_and_filters() {
    let seed = std::fs::read_to_string(seed_path()).unwrap();
    let only_bash = getevents(
        &["--input", "-", "-o", "compact", "--process", "bash$"],
        Some(&seed),
    );
    assert_eq!(
        stdout(&only_bash),
        "🚀 process default/iris-priv /bin/bash \"-p -c pwd\"\n"
    );
    let other_ns = getevents(
        &["--input", "-", "-o", "compact", "-n", "kube-system"],
        Some(&seed),
    );
    assert_eq!(stdout(&other_ns), "");
    let exits_only = getevents(&["--input", "-", "-e", "PROCESS_EXIT"], Some(&seed));
    assert_eq!(stdout(&exits_only), "");
    let execs = getevents(
        &[
            "--input",
            "-",
            "-o",
            "compact",
            "-e",
            "PROCESS_EXEC",
            "--pod",
            "iris",
        ],
        Some(&seed),
    );
    assert_eq!(stdout(&execs).lines().count(), 2);
}

#[test]
fn malformed_lines_are_reported_skipped_and_counted_in_the_exit_status() {
    let seed = std::fs::read_to_string(seed_path()).unwrap();
    let mut lines = seed.lines();
    let input = format!(
        "{}\n{{\"process_exec\": {{\"process\": \n{}\n",
        lines.next().unwrap(),
        lines.next().unwrap()
    );
    let out = getevents(&["--input", "-", "-o", "compact"], Some(&input));
    assert_eq!(out.status.code(), Some(1), "lines were skipped");
    assert_eq!(stdout(&out).lines().count(), 2, "the rest still prints");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("-:2:"), "names the line: {stderr}");
    assert!(stderr.contains("1 line(s)"), "{stderr}");
}

#[test]
fn bad_filters_and_missing_files_are_clear_errors() {
    let out = getevents(&["--input", "/nonexistent/events.json"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/events.json"));
    let out = getevents(&["--input", "-", "--process", "("], Some(""));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid filter"));
    let out = getevents(&["--input", "-", "-e", "PROCESS_NOPE"], Some(""));
    assert_eq!(out.status.code(), Some(2), "a usage error");
}
