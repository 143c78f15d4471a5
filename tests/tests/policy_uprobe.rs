//! `uprobes:` policies on the real kernel (root): a uprobe on a function of a program the test
//! compiles reads its register arguments, posts `process_uprobe` events and kills when asked; a
//! return uprobe filters on and reports the returned value too.
mod common;

use std::{fs, os::unix::process::ExitStatusExt, path::Path, process::Command};

use common::{LiveCapture, marker_dir, require_root};
use serde_json::Value;

const SOURCE: &str = r#"#include <stdio.h>
__attribute__((noinline)) int tetrascope_probe_target(int a, long b) { return a + (int)b; }
__attribute__((noinline)) const char *tetrascope_probe_name(int n) { return n > 1 ? "many" : "few"; }
int main(int argc, char **argv) {
    printf("%d\n", tetrascope_probe_target(argc * 7, 40));
    return tetrascope_probe_name(argc)[0] == 'x';
}
"#;

/// Builds the target program with the system's C compiler.
fn build_target(dir: &Path) -> String {
    let source = dir.join("target.c");
    let binary = dir.join("uprobe-target");
    fs::write(&source, SOURCE).unwrap();
    let built = Command::new("cc")
        .args(["-O0", "-o"])
        .arg(&binary)
        .arg(&source)
        .status()
        .expect("these tests need a C compiler (cc)");
    assert!(built.success());
    binary.display().to_string()
}

fn policy(name: &str, binary: &str, first_arg: i32, action: &str) -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: {name}
spec:
  uprobes:
  - path: "{binary}"
    symbols: ["tetrascope_probe_target"]
    args:
    - index: 0
      type: int
    - index: 1
      type: long
    selectors:
    - matchArgs:
      - index: 0
        operator: Equal
        values: ["{first_arg}"]
      matchActions:
      - action: {action}
"#
    )
}

fn uprobes(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter_map(|e| e.get("process_uprobe"))
        .collect()
}

#[test]
fn a_uprobe_posts_its_register_arguments_when_they_match() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("uprobe-post");
    let binary = build_target(&dir);
    let file = dir.join("uprobe-post.yaml");
    // One argument on the command line makes argc 2: the first argument 14, not 7.
    fs::write(&file, policy("uprobe-post", &binary, 7, "Post")).unwrap();
    let capture = LiveCapture::start(&["--policy", file.to_str().unwrap()]);
    capture.wait_stderr("policy uprobe-post enabled");
    let matching = Command::new(&binary).output().unwrap();
    let other = Command::new(&binary).arg("x").output().unwrap();
    let (events, _) = capture.stop();

    assert_eq!(matching.stdout, b"47\n");
    assert_eq!(other.stdout, b"54\n");
    let hits = uprobes(&events);
    assert_eq!(hits.len(), 1, "only the call with 7: {hits:#?}");
    let hit = hits[0];
    assert_eq!(hit["path"], binary.as_str());
    assert_eq!(hit["symbol"], "tetrascope_probe_target");
    assert_eq!(hit["args"][0]["int_arg"], 7);
    assert_eq!(hit["args"][1]["long_arg"], "40");
    assert_eq!(hit["policy_name"], "uprobe-post");
    assert_eq!(hit["action"], "KPROBE_ACTION_POST");
    assert_eq!(hit["process"]["binary"], binary.as_str());
    let offset: u64 = hit["offset"].as_str().unwrap().parse().unwrap();
    assert!(offset > 0, "the symbol's file offset: {hit}");
}

#[test]
fn a_sigkill_uprobe_kills_the_caller() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("uprobe-kill");
    let binary = build_target(&dir);
    let file = dir.join("uprobe-kill.yaml");
    fs::write(&file, policy("uprobe-kill", &binary, 14, "Sigkill")).unwrap();
    let capture = LiveCapture::start(&["--policy", file.to_str().unwrap()]);
    capture.wait_stderr("policy uprobe-kill enabled (enforce)");
    let spared = Command::new(&binary).output().unwrap();
    let killed = Command::new(&binary).arg("x").output().unwrap();
    let (events, _) = capture.stop();

    assert!(spared.status.success(), "{spared:?}");
    assert_eq!(killed.status.signal(), Some(libc::SIGKILL), "{killed:?}");
    assert!(killed.stdout.is_empty(), "killed before printing");
    let hits = uprobes(&events);
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0]["action"], "KPROBE_ACTION_SIGKILL");
    assert_eq!(hits[0]["args"][0]["int_arg"], 14);
}

#[test]
fn a_return_uprobe_filters_on_the_returned_value_and_reports_it() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("uretprobe");
    let binary = build_target(&dir);
    let file = dir.join("uretprobe.yaml");
    let policy = format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: uretprobe
spec:
  uprobes:
  - path: "{binary}"
    symbols: ["tetrascope_probe_target"]
    return: true
    args:
    - index: 0
      type: int
    - index: 1
      type: long
    returnArg:
      index: 0
      type: int
    selectors:
    - matchReturnArgs:
      - index: 0
        operator: Equal
        values: ["47"]
  - path: "{binary}"
    symbols: ["tetrascope_probe_name"]
    return: true
    args:
    - index: 0
      type: int
    returnArg:
      index: 0
      type: string
      label: name
    selectors:
    - matchReturnArgs:
      - index: 0
        operator: Postfix
        values: ["any"]
      matchActions:
      - action: Sigkill
"#
    );
    fs::write(&file, policy).unwrap();
    let capture = LiveCapture::start(&["--policy", file.to_str().unwrap()]);
    capture.wait_stderr("policy uretprobe enabled (enforce)");
    let once = Command::new(&binary).output().unwrap();
    let twice = Command::new(&binary).arg("x").output().unwrap();
    let (events, _) = capture.stop();

    assert!(once.status.success(), "returns 47 and \"few\": {once:?}");
    assert_eq!(once.stdout, b"47\n");
    assert_eq!(
        twice.status.signal(),
        Some(libc::SIGKILL),
        "killed when tetrascope_probe_name returns \"many\": {twice:?}"
    );
    let hits = uprobes(&events);
    assert_eq!(hits.len(), 2, "{hits:#?}");
    let (sums, names): (Vec<&Value>, Vec<&Value>) = hits
        .into_iter()
        .partition(|h| h["symbol"] == "tetrascope_probe_target");
    assert_eq!(sums.len(), 1, "only the call returning 47: {sums:#?}");
    assert_eq!(sums[0]["args"][0]["int_arg"], 7);
    assert_eq!(sums[0]["args"][1]["long_arg"], "40");
    assert_eq!(sums[0]["args"][2]["int_arg"], 47, "the returned value");
    assert_eq!(sums[0]["args"][2]["label"], "return");
    assert_eq!(sums[0]["action"], "KPROBE_ACTION_POST");
    assert_eq!(names.len(), 1, "{names:#?}");
    assert_eq!(names[0]["args"][0]["int_arg"], 2);
    assert_eq!(names[0]["args"][1]["string_arg"], "many");
    assert_eq!(names[0]["args"][1]["label"], "name");
    assert_eq!(names[0]["action"], "KPROBE_ACTION_SIGKILL");
}
