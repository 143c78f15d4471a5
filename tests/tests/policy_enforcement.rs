//! Policies on the real kernel (root): the IRIS policy kills readers of the key in enforce mode
//! and only reports them in monitor mode; selectors on strings and binaries decide who is hit.
mod common;

use std::{fs, os::unix::process::ExitStatusExt};

use common::{
    LiveCapture,
    iris::{IRIS_KEY, ensure_iris_key, exclusive, iris_policy},
    marker_dir, require_root, run_in,
};
use serde_json::Value;

fn kprobes<'a>(events: &'a [Value], function: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter_map(|e| e.get("process_kprobe"))
        .filter(|k| k["function_name"] == function)
        .collect()
}

#[test]
fn iris_policy_kills_readers_of_the_key_and_spares_other_reads() {
    if !require_root() {
        return;
    }
    let _guard = exclusive();
    ensure_iris_key();
    let dir = marker_dir("iris-enforce");
    fs::write(dir.join("other.txt"), "harmless\n").unwrap();
    let capture = LiveCapture::start(&["--policy", &iris_policy()]);
    capture.wait_stderr("policy iris-read-file-sigkill enabled (enforce)");

    let reader = run_in(&dir, "/usr/bin/head", &["-c", "5", IRIS_KEY]);
    let other = run_in(&dir, "/usr/bin/head", &["-c", "5", "other.txt"]);
    let (events, _) = capture.stop();

    assert_eq!(reader.status.signal(), Some(libc::SIGKILL), "{reader:?}");
    assert!(
        reader.stdout.is_empty(),
        "nothing of the key reached the reader's output"
    );
    assert!(other.status.success());
    assert_eq!(other.stdout, b"harml");

    let opens = kprobes(&events, "fd_install");
    let open = opens
        .iter()
        .find(|k| k["process"]["cwd"] == dir.to_str().unwrap())
        .expect("the open of the key as fd_install");
    assert_eq!(open["args"][1]["file_arg"]["path"], IRIS_KEY);
    assert_eq!(open["action"], "KPROBE_ACTION_FOLLOWFD");
    assert_eq!(open["policy_name"], "iris-read-file-sigkill");
    assert!(
        opens
            .iter()
            .all(|k| k["args"][1]["file_arg"]["path"] == IRIS_KEY),
        "only the key is followed: {opens:#?}"
    );

    let reads = kprobes(&events, "__x64_sys_read");
    let read = reads.first().expect("the read of the key");
    assert_eq!(read["action"], "KPROBE_ACTION_SIGKILL");
    assert_eq!(read["args"][0]["file_arg"]["path"], IRIS_KEY);
    assert_eq!(read["process"]["binary"], "/usr/bin/head");
    assert_eq!(read["process"]["cwd"], dir.to_str().unwrap());
    assert!(
        reads
            .iter()
            .all(|k| k["process"]["binary"] == "/usr/bin/head"),
        "no other read is touched: {reads:#?}"
    );
}

#[test]
fn monitor_mode_reports_the_would_be_kill_and_lets_the_read_happen() {
    if !require_root() {
        return;
    }
    let _guard = exclusive();
    ensure_iris_key();
    let dir = marker_dir("iris-monitor");
    let capture = LiveCapture::start(&["--policy", &iris_policy(), "--policy-mode", "monitor"]);
    capture.wait_stderr("policy iris-read-file-sigkill enabled (monitor)");
    let reader = run_in(&dir, "/usr/bin/head", &["-c", "4", IRIS_KEY]);
    let (events, _) = capture.stop();

    assert!(reader.status.success(), "{reader:?}");
    assert_eq!(reader.stdout, b"IRIS");
    let reads = kprobes(&events, "__x64_sys_read");
    let read = reads
        .iter()
        .find(|k| k["process"]["cwd"] == dir.to_str().unwrap())
        .expect("the read, reported");
    assert_eq!(read["action"], "KPROBE_ACTION_POST");
    assert_eq!(read["tags"][0], "tetrascope:would-kill");
}

#[test]
fn string_postfix_and_binary_selectors_pick_their_target() {
    if !require_root() {
        return;
    }
    let _guard = exclusive();
    let dir = marker_dir("postfix");
    fs::write(dir.join("x.forbidden"), "no\n").unwrap();
    fs::write(dir.join("x.allowed"), "yes\n").unwrap();
    let policy = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/policies/openat-postfix-binary-kill.yaml"
    );
    let capture = LiveCapture::start(&["--policy", policy]);
    capture.wait_stderr("policy openat-postfix-binary-kill enabled");

    let cat_forbidden = run_in(&dir, "/usr/bin/cat", &["x.forbidden"]);
    let cat_allowed = run_in(&dir, "/usr/bin/cat", &["x.allowed"]);
    let head_forbidden = run_in(&dir, "/usr/bin/head", &["x.forbidden"]);
    let (events, _) = capture.stop();

    assert_eq!(cat_forbidden.status.signal(), Some(libc::SIGKILL));
    assert!(
        cat_allowed.status.success(),
        "another name: {cat_allowed:?}"
    );
    assert!(
        head_forbidden.status.success(),
        "another binary: {head_forbidden:?}"
    );
    let hits = kprobes(&events, "__x64_sys_openat");
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0]["args"][1]["string_arg"], "x.forbidden");
    assert_eq!(hits[0]["args"][0]["int_arg"], -100, "AT_FDCWD");
    assert_eq!(hits[0]["action"], "KPROBE_ACTION_SIGKILL");
}

#[test]
fn a_followed_file_stays_followed_through_dup_and_shell_redirections() {
    if !require_root() {
        return;
    }
    let _guard = exclusive();
    ensure_iris_key();
    let dir = marker_dir("iris-dup");
    let capture = LiveCapture::start(&["--policy", &iris_policy()]);
    capture.wait_stderr("policy iris-read-file-sigkill enabled (enforce)");
    // bash opens the file, dup2()s it onto fd 0 and closes the original before reading.
    let redirected = run_in(
        &dir,
        "/bin/bash",
        &["-c", &format!("read -r x < {IRIS_KEY}; echo \"$x\"")],
    );
    let duplicated = run_in(
        &dir,
        "/usr/bin/python3",
        &[
            "-c",
            &format!(
                "import os; fd = os.open('{IRIS_KEY}', os.O_RDONLY); copy = os.dup(fd); os.close(fd); print(os.read(copy, 4))"
            ),
        ],
    );
    let _ = capture.stop();
    assert_eq!(
        redirected.status.signal(),
        Some(libc::SIGKILL),
        "{redirected:?}"
    );
    assert!(redirected.stdout.is_empty());
    assert_eq!(
        duplicated.status.signal(),
        Some(libc::SIGKILL),
        "{duplicated:?}"
    );
}
