//! `Override` on the real kernel (root): with no bpf_override_return, fmod_ret or BPF LSM here,
//! a hook at the entry of connect, bind or socket asks, and a cgroup program inside the call
//! fails it with the policy's error. Monitor mode lets the call through and says so.
mod common;

use std::{
    fs,
    net::{SocketAddr, TcpListener},
    process::Command,
};

use common::{
    LiveCapture, marker_dir,
    net::{self, PERL, own_perl},
    require_root,
};
use serde_json::Value;

fn deny_connect_policy(name: &str, binary: &str, mode: &str) -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: {name}
spec:
  options:
  - name: policy-mode
    value: {mode}
  kprobes:
  - call: sys_connect
    syscall: true
    args:
    - index: 0
      type: int
    selectors:
    - matchBinaries:
      - operator: In
        values: ["{binary}"]
      matchActions:
      - action: Override
        argError: -13
"#
    )
}

/// Whether `perl` connected to 127.0.0.1:`port`, and what it said.
fn perl_connect(perl: &str, port: u16) -> (bool, String) {
    let out = net::perl_connect(perl, SocketAddr::from(([127, 0, 0, 1], port)));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn kprobes_of<'a>(events: &'a [Value], binary: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter_map(|e| e.get("process_kprobe"))
        .filter(|k| k["process"]["binary"] == binary)
        .collect()
}

#[test]
fn override_fails_the_connect_with_the_policy_error_and_monitor_mode_only_reports_it() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("override");
    let denied = own_perl(&dir, "ov-denied");
    let watched = own_perl(&dir, "ov-watched");
    let policies = dir.join("policies");
    fs::create_dir_all(&policies).unwrap();
    fs::write(
        policies.join("deny.yaml"),
        deny_connect_policy("ov-deny", &denied, "enforce"),
    )
    .unwrap();
    fs::write(
        policies.join("watch.yaml"),
        deny_connect_policy("ov-watch", &watched, "monitor"),
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();

    let capture = LiveCapture::start(&["--policy", policies.to_str().unwrap()]);
    capture.wait_stderr("policy ov-deny enabled (enforce)");
    capture.wait_stderr("policy ov-watch enabled (monitor)");
    let (denied_ok, denied_says) = perl_connect(&denied, port);
    let (watched_ok, watched_says) = perl_connect(&watched, port);
    let (other_ok, other_says) = perl_connect(PERL, port);
    let (events, _) = capture.stop();
    // After the policy is gone, the same binary connects again.
    let (after_ok, after_says) = perl_connect(&denied, port);

    assert!(!denied_ok, "the denied perl connected");
    assert!(
        denied_says.contains("Permission denied"),
        "EACCES (argError -13): {denied_says}"
    );
    assert!(
        watched_ok,
        "monitor mode let the call through: {watched_says}"
    );
    assert!(other_ok, "{other_says}");
    assert!(after_ok, "{after_says}");

    let hits = kprobes_of(&events, &denied);
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0]["function_name"], "__x64_sys_connect");
    assert_eq!(hits[0]["action"], "KPROBE_ACTION_OVERRIDE");
    assert_eq!(hits[0]["policy_name"], "ov-deny");
    let hits = kprobes_of(&events, &watched);
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0]["action"], "KPROBE_ACTION_POST");
    let tags: Vec<&str> = hits[0]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(tags.contains(&"tetrascope:would-override"), "{tags:?}");
}

#[test]
fn override_is_refused_where_no_cgroup_program_runs_inside_the_call() {
    let dir = marker_dir("override-refused");
    let policy = dir.join("open.yaml");
    fs::write(
        &policy,
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: deny-open
spec:
  kprobes:
  - call: sys_openat
    syscall: true
    selectors:
    - matchActions:
      - action: Override
        argError: -1
"#,
    )
    .unwrap();
    let out = Command::new(common::tetrascope_bin())
        .args(["policy", "check", policy.to_str().unwrap()])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("spec.kprobes[0].selectors[0].matchActions[0].action: Override")
            && text.contains("at the entry of connect, bind, socket only"),
        "{text}"
    );
}
