//! `tracepoints:` policies on the real kernel (root): hooks on `raw_syscalls`, `syscalls` and
//! `sched` tracepoints read their fields as the format files lay them out, post
//! `process_tracepoint` events and kill when asked.
mod common;

use std::{fs, os::unix::process::ExitStatusExt, path::Path, process::Command};

use common::{LiveCapture, marker_dir, require_root, run_in};
use serde_json::Value;

fn tracepoints<'a>(events: &'a [Value], subsys: &str, event: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter_map(|e| e.get("process_tracepoint"))
        .filter(|t| t["subsys"] == subsys && t["event"] == event)
        .collect()
}

/// A copy of `true` under a name no other process has, for matchBinaries.
fn own_binary(dir: &Path) -> String {
    let binary = dir.join("tp-true");
    fs::copy("/usr/bin/true", &binary).unwrap();
    binary.display().to_string()
}

#[test]
fn raw_syscalls_and_exec_hooks_post_their_fields() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("tp-post");
    let binary = own_binary(&dir);
    // exit_group is 231 on x86_64: every process calls it once, at its end.
    let policy = format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: tp-post
spec:
  tracepoints:
  - subsystem: raw_syscalls
    event: sys_enter
    args:
    - index: 4
      type: syscall64
    selectors:
    - matchBinaries:
      - operator: In
        values: ["{binary}"]
      matchArgs:
      - index: 0
        operator: Equal
        values: ["231"]
  - subsystem: sched
    event: sched_process_exec
    args:
    - index: 4
      type: string
    - index: 6
      type: int
    selectors:
    - matchArgs:
      - index: 0
        operator: Equal
        values: ["{binary}"]
"#
    );
    let file = dir.join("tp-post.yaml");
    fs::write(&file, policy).unwrap();
    let capture = LiveCapture::start(&["--policy", file.to_str().unwrap()]);
    capture.wait_stderr("policy tp-post enabled");
    let ran = Command::new(&binary).status().unwrap();
    let (events, _) = capture.stop();
    assert!(ran.success());

    let exits = tracepoints(&events, "raw_syscalls", "sys_enter");
    assert_eq!(exits.len(), 1, "one exit_group of our binary: {exits:#?}");
    let exit = exits[0];
    assert_eq!(exit["args"][0]["syscall_id"]["id"], 231);
    assert_eq!(exit["args"][0]["syscall_id"]["abi"], "x64");
    assert_eq!(exit["process"]["binary"], binary.as_str());
    assert_eq!(exit["policy_name"], "tp-post");
    assert_eq!(exit["action"], "KPROBE_ACTION_POST");

    let execs = tracepoints(&events, "sched", "sched_process_exec");
    assert_eq!(execs.len(), 1, "{execs:#?}");
    let exec = execs[0];
    assert_eq!(
        exec["args"][0]["string_arg"],
        binary.as_str(),
        "__data_loc filename"
    );
    let pid = exec["process"]["pid"].as_u64().unwrap();
    assert_eq!(
        exec["args"][1]["int_arg"], pid,
        "old_pid: exec keeps the pid"
    );
}

#[test]
fn hooks_sharing_a_tracepoint_read_their_own_fields_and_one_kills() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("tp-kill");
    fs::write(dir.join("x.tp-forbidden"), "no\n").unwrap();
    fs::write(dir.join("x.allowed"), "yes\n").unwrap();
    fs::write(dir.join("x.tp-flags"), "flags\n").unwrap();
    let policy = r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: tp-kill
spec:
  tracepoints:
  - subsystem: syscalls
    event: sys_enter_openat
    args:
    - index: 6
      type: string
    - index: 5
      type: int
    selectors:
    - matchBinaries:
      - operator: In
        values: ["/usr/bin/cat"]
      matchArgs:
      - index: 0
        operator: Postfix
        values: [".tp-forbidden"]
      matchActions:
      - action: Sigkill
  # A second hook on the same tracepoint reads another field too: each field gets its slot.
  - subsystem: syscalls
    event: sys_enter_openat
    args:
    - index: 7
      type: int
    - index: 6
      type: string
    selectors:
    - matchArgs:
      - index: 1
        operator: Postfix
        values: [".tp-flags"]
"#;
    let file = dir.join("tp-kill.yaml");
    fs::write(&file, policy).unwrap();
    let capture = LiveCapture::start(&["--policy", file.to_str().unwrap()]);
    capture.wait_stderr("policy tp-kill enabled (enforce)");
    let forbidden = run_in(&dir, "/usr/bin/cat", &["x.tp-forbidden"]);
    let allowed = run_in(&dir, "/usr/bin/cat", &["x.allowed"]);
    // Python adds O_CLOEXEC (0x80000) to the O_NOFOLLOW (0x20000) asked for.
    let flagged = run_in(
        &dir,
        "/usr/bin/python3",
        &[
            "-c",
            "import os; os.open('x.tp-flags', os.O_RDONLY | os.O_NOFOLLOW)",
        ],
    );
    let (events, _) = capture.stop();

    assert_eq!(
        forbidden.status.signal(),
        Some(libc::SIGKILL),
        "{forbidden:?}"
    );
    assert!(forbidden.stdout.is_empty());
    assert!(allowed.status.success(), "{allowed:?}");
    assert!(flagged.status.success(), "{flagged:?}");
    let hits = tracepoints(&events, "syscalls", "sys_enter_openat");
    assert_eq!(hits.len(), 2, "{hits:#?}");
    let (flags, hits): (Vec<_>, Vec<_>) = hits
        .into_iter()
        .partition(|h| h["args"][1]["string_arg"] == "x.tp-flags");
    assert_eq!(flags.len(), 1, "the second hook's hit: {flags:#?}");
    assert_eq!(flags[0]["args"][0]["int_arg"], 0x20000 | 0x80000);
    assert_eq!(flags[0]["action"], "KPROBE_ACTION_POST");
    assert_eq!(hits[0]["args"][0]["string_arg"], "x.tp-forbidden");
    assert_eq!(hits[0]["args"][1]["int_arg"], -100, "AT_FDCWD");
    assert_eq!(hits[0]["action"], "KPROBE_ACTION_SIGKILL");
    assert_eq!(hits[0]["process"]["cwd"], dir.to_str().unwrap());
}

/// A raw tracepoint (`raw: true`) reads the kernel's own arguments: `sched_process_exec`'s
/// third, the `linux_binprm`, gives the path of the file executed; a path filter on it posts
/// one binary and kills another right after its exec.
#[test]
fn a_raw_tracepoint_reads_the_binprm_of_an_exec_and_kills_by_its_path() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("rawtp");
    let watched = own_binary(&dir);
    let killed = dir.join("rawtp-killed");
    fs::copy("/usr/bin/true", &killed).unwrap();
    let policy = format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: rawtp-binprm
spec:
  tracepoints:
  - subsystem: sched
    event: sched_process_exec
    raw: true
    args:
    - index: 2
      type: linux_binprm
    selectors:
    - matchArgs:
      - index: 0
        operator: Equal
        values: ["{watched}"]
    - matchArgs:
      - index: 0
        operator: Postfix
        values: ["/rawtp-killed"]
      matchActions:
      - action: Sigkill
"#
    );
    let file = dir.join("rawtp.yaml");
    fs::write(&file, policy).unwrap();
    let capture = LiveCapture::start(&["--policy", file.to_str().unwrap()]);
    capture.wait_stderr("policy rawtp-binprm enabled (enforce)");
    let posted = Command::new(&watched).status().unwrap();
    let kill = Command::new(&killed).status().unwrap();
    let other = Command::new("/usr/bin/true").status().unwrap();
    let (events, _) = capture.stop();

    assert!(posted.success());
    assert_eq!(kill.signal(), Some(libc::SIGKILL), "{kill:?}");
    assert!(other.success());
    let hits = tracepoints(&events, "sched", "sched_process_exec");
    assert_eq!(hits.len(), 2, "{hits:#?}");
    let path = |hit: &Value| hit["args"][0]["linux_binprm_arg"]["path"].clone();
    assert_eq!(path(hits[0]), watched.as_str());
    assert_eq!(hits[0]["action"], "KPROBE_ACTION_POST");
    assert_eq!(hits[0]["process"]["binary"], watched.as_str());
    assert_eq!(path(hits[1]), killed.to_str().unwrap());
    assert_eq!(hits[1]["action"], "KPROBE_ACTION_SIGKILL");
}
