//! Real probes on the real kernel (root): exec lineage, exits, the /proc seed.
mod common;

use std::{
    process::{Command, Stdio},
    thread,
    time::Duration,
};

use common::{
    LiveCapture, decode_exec_id, execs, exits, marker_dir, require_root, run_callout_scenario,
};
use serde_json::Value;

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn in_dir<'a>(events: &[&'a Value], dir: &str) -> Vec<&'a Value> {
    events
        .iter()
        .copied()
        .filter(|e| str_of(&e["process"], "cwd") == dir)
        .collect()
}

#[test]
fn shell_call_out_versus_direct_exec() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("lineage");
    let dir_str = dir.to_str().unwrap();
    let capture = LiveCapture::start(&[]);
    run_callout_scenario(&dir, 0);
    let (events, _) = capture.stop();
    let execs = in_dir(&execs(&events), dir_str);

    let find = |binary: &str, args: &str| -> &Value {
        execs
            .iter()
            .find(|e| {
                str_of(&e["process"], "binary") == binary
                    && str_of(&e["process"], "arguments") == args
            })
            .unwrap_or_else(|| panic!("no exec of {binary} {args} in {execs:#?}"))
    };
    // Tetragon quotes an argument holding spaces without escaping quotes inside it.
    let outer = find(
        "/bin/bash",
        r#"--norc -c "/bin/bash -p -c "/usr/bin/pwd -L"; /usr/bin/pwd -P; exit 0""#,
    );
    let inner = find("/bin/bash", r#"-p -c "/usr/bin/pwd -L""#);
    let pwd_l = find("/usr/bin/pwd", "-L");
    let pwd_p = find("/usr/bin/pwd", "-P");
    let id = |e: &Value| str_of(&e["process"], "exec_id").to_string();
    let parent_id = |e: &Value| str_of(&e["process"], "parent_exec_id").to_string();

    // The call-out: pwd -L under bash under the shell.
    assert_eq!(parent_id(pwd_l), id(inner), "pwd -L is bash's re-exec");
    assert_eq!(
        pwd_l["process"]["pid"], inner["process"]["pid"],
        "same PID: exec without fork"
    );
    assert_eq!(str_of(&pwd_l["process"], "flags"), "execve");
    assert_eq!(parent_id(inner), id(outer));
    assert_eq!(str_of(&inner["process"], "flags"), "execve clone");
    assert_eq!(
        str_of(&pwd_l["parent"], "exec_id"),
        id(inner),
        "the event carries its parent"
    );
    // The direct exec: pwd -P straight under the shell.
    assert_eq!(parent_id(pwd_p), id(outer));
    assert_eq!(str_of(&pwd_p["parent"], "exec_id"), id(outer));
    assert_ne!(pwd_p["process"]["pid"], outer["process"]["pid"]);

    for e in [outer, inner, pwd_l, pwd_p] {
        let p = &e["process"];
        assert_eq!(p["uid"], 0, "run as root");
        assert_eq!(str_of(p, "cwd"), dir_str);
        let (_, ktime, pid) = decode_exec_id(str_of(p, "exec_id"));
        assert_eq!(Some(u64::from(pid)), p["pid"].as_u64());
        assert!(ktime > 0);
        assert!(str_of(p, "start_time").ends_with('Z'));
    }
    // The outer shell's parent is this test process, read from /proc at start-up.
    let (_, _, test_pid) = decode_exec_id(&parent_id(outer));
    assert_eq!(test_pid, std::process::id());
    assert!(str_of(&outer["parent"], "flags").contains("procFS"));
}

#[test]
fn exits_carry_signal_or_status() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("exits");
    let capture = LiveCapture::start(&[]);
    let mut sleeper = Command::new("/usr/bin/sleep")
        .arg("60")
        .current_dir(&dir)
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(200));
    sleeper.kill().unwrap(); // SIGKILL
    sleeper.wait().unwrap();
    let three = Command::new("/bin/bash")
        .args(["-c", "exit 3"])
        .current_dir(&dir)
        .status()
        .unwrap();
    assert_eq!(three.code(), Some(3));
    let (events, _) = capture.stop();
    let exits = in_dir(&exits(&events), dir.to_str().unwrap());

    let killed = exits
        .iter()
        .find(|e| str_of(&e["process"], "binary") == "/usr/bin/sleep")
        .expect("exit of sleep");
    assert_eq!(str_of(killed, "signal"), "SIGKILL");
    assert!(killed.get("status").is_none(), "status 0 is omitted");
    assert_eq!(killed["process"]["pid"], sleeper.id());

    let bash = exits
        .iter()
        .find(|e| str_of(&e["process"], "arguments") == r#"-c "exit 3""#)
        .expect("exit of bash -c 'exit 3'");
    assert_eq!(bash["status"], 3);
    assert!(bash.get("signal").is_none());
    assert_eq!(
        str_of(&bash["parent"], "exec_id"),
        str_of(&bash["process"], "parent_exec_id")
    );
}

#[test]
fn processes_started_before_appear_with_their_real_parents() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("procfs");
    // Started before tetrascope: the shell waits, then runs a marker command.
    let mut early = Command::new("/bin/bash")
        .args([
            "--norc",
            "-c",
            "read -r _; /usr/bin/true procfs-marker; exit 0",
        ])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(100));
    let capture = LiveCapture::start(&[]);
    drop(early.stdin.take()); // EOF: `read` returns and the marker runs
    early.wait().unwrap();
    let (events, _) = capture.stop();

    let marker = execs(&events)
        .into_iter()
        .find(|e| str_of(&e["process"], "arguments") == "procfs-marker")
        .expect("marker exec");
    let parent = &marker["parent"];
    assert_eq!(parent["pid"], early.id(), "the real parent");
    assert_eq!(str_of(parent, "flags"), "procFS");
    assert_eq!(str_of(parent, "binary"), "/usr/bin/bash");
    assert_eq!(str_of(parent, "cwd"), dir.to_str().unwrap());
    assert_eq!(
        str_of(parent, "arguments"),
        r#"--norc -c "read -r _; /usr/bin/true procfs-marker; exit 0""#
    );
    // And the shell's own parent is this test process, also from /proc.
    let (_, _, grandparent_pid) = decode_exec_id(str_of(parent, "parent_exec_id"));
    assert_eq!(grandparent_pid, std::process::id());
}
