//! `tetrascope policy check`: every Tetragon example validates and each hook says how it runs
//! here or why not; broken policies name their file, line and field.
mod common;

use std::{fs, process::Command};

use common::{shared_dir, tetrascope_bin};

fn check(paths: &[String]) -> (i32, String) {
    let out = Command::new(tetrascope_bin())
        .args(["policy", "check"])
        .args(paths)
        .output()
        .expect("run tetrascope policy check");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn every_example_validates_and_reports_each_hook() {
    let dir = shared_dir().join("policies/tetragon-examples");
    let mut files: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    files.sort();
    for file in files {
        let (code, out) = check(std::slice::from_ref(&file));
        assert!(code == 0 || code == 2, "{file}: exit {code}\n{out}");
        assert!(out.contains(": policy "), "{file}: {out}");
        let verdict = out.trim_end();
        assert!(
            verdict.ends_with("  runs here") || verdict.ends_with("  does not run here"),
            "{file}: a verdict at the end\n{out}"
        );
        let spec = fs::read_to_string(&file).unwrap();
        let hooks = [
            "- call:",
            "- hook:",
            "- subsystem:",
            "- path:",
            "- provider:",
        ]
        .iter()
        .map(|key| spec.matches(key).count())
        .sum::<usize>();
        let reported = out
            .lines()
            .filter(|l| l.trim_start().starts_with("spec."))
            .count();
        assert_eq!(reported, hooks, "{file}: one line per hook\n{out}");
    }
}

#[test]
fn the_iris_policy_runs_here_on_syscall_tracepoints() {
    let iris = shared_dir().join("policies/iris-read-file-sigkill.yaml");
    let (code, out) = check(&[iris.display().to_string()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "spec.kprobes[0] fd_install: tracepoints syscalls:sys_exit_{open,openat,openat2,creat}"
        ),
        "{out}"
    );
    assert!(
        out.contains("spec.kprobes[2] __x64_sys_read: tracepoint syscalls:sys_enter_read"),
        "{out}"
    );
}

#[test]
fn broken_policies_fail_with_file_line_and_field() {
    let broken = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/policies/broken");
    let (code, out) = check(&[format!("{broken}/wrong-operator.yaml")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("wrong-operator.yaml:16:19: spec.kprobes[0].selectors[0].matchArgs[0].operator: unknown operator \"Prefixx\""), "{out}");
}

#[test]
fn tracepoint_and_uprobe_hooks_name_their_mechanism_or_why_not() {
    let examples = shared_dir().join("policies/tetragon-examples");
    let path = |name: &str| examples.join(name).display().to_string();
    let (code, out) = check(&[
        path("raw_syscalls.yaml"),
        path("uprobe.yaml"),
        path("rawtp.yaml"),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "spec.tracepoints[0] sched/sched_process_exec: raw tracepoint sched/sched_process_exec"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "spec.tracepoints[0] raw_syscalls/sys_enter: tracepoint raw_syscalls/sys_enter"
        ),
        "{out}"
    );
    assert!(
        out.contains("uprobe /bin/bash:readline (file offset 0x"),
        "{out}"
    );
    assert!(
        out.contains("uprobe /bin/bash:main (file offset 0x"),
        "{out}"
    );
    let (code, out) = check(&[path("list-syscalls-tracepoint.yaml")]);
    assert_eq!(code, 0, "InMap on a syscall list runs here: {out}");
}

#[test]
fn killer_and_namespace_capabilities_run_here() {
    let examples = shared_dir().join("policies/tetragon-examples");
    let path = |name: &str| examples.join(name).display().to_string();
    // ia32 list entries, NotifyEnforcer with SIGKILL (a kill at the hit).
    let (code, out) = check(&[path("killer.yaml")]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "spec.tracepoints[0] raw_syscalls/sys_enter: tracepoint raw_syscalls/sys_enter"
        ),
        "{out}"
    );
    assert!(out.trim_end().ends_with("  runs here"), "{out}");
    // matchCapabilities with isNamespaceCapability.
    let (code, out) = check(&[path("fd_install_caps.yaml")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.trim_end().ends_with("  runs here"), "{out}");
}

#[test]
fn rate_limits_in_map_and_follow_children_run_here() {
    let policy = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/policies/shell-children-dups.yaml"
    );
    let (code, out) = check(&[policy.to_owned()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "spec.tracepoints[0] raw_syscalls/sys_enter: tracepoint raw_syscalls/sys_enter"
        ),
        "{out}"
    );
    assert!(out.trim_end().ends_with("  runs here"), "{out}");
}
