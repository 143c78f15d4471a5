//! Pod metadata on live events (`getevents --kube`), against a real kube-apiserver: a process in
//! a cgroup named like a containerd container of a pod on this node carries the pod; a process
//! outside carries none; a pod that appears after its process started still reaches the events
//! that waited for it; a user without rights gets one clear message and events without pods.
mod common;

use std::{path::Path, process::Command, thread, time::Duration};

use common::{
    LiveCapture,
    kube::Cluster,
    marker_dir,
    pods::{IMAGE, IMAGE_ID, NODE, TestCgroup, container_id, create_pod},
    require_root,
};
use serde_json::Value;

/// The exec and exit events of `/bin/true` run from `cwd`.
fn true_events<'a>(events: &'a [Value], cwd: &Path) -> Vec<&'a Value> {
    let cwd = cwd.to_str().unwrap();
    let found: Vec<&Value> = events
        .iter()
        .filter_map(|e| e.get("process_exec").or(e.get("process_exit")))
        .map(|body| &body["process"])
        .filter(|p| p["cwd"] == cwd && p["binary"].as_str().unwrap_or("").ends_with("/true"))
        .collect();
    assert_eq!(found.len(), 2, "exec and exit of /bin/true in {cwd}");
    found
}

/// The number just before `words` in the counters line.
fn count_before(line: &str, words: &str) -> u64 {
    let head = &line[..line
        .find(words)
        .unwrap_or_else(|| panic!("{words:?} in {line}"))];
    head.split_whitespace().last().unwrap().parse().unwrap()
}

fn assert_pod(process: &Value, name: &str, uid: &str, id: &str) {
    let pod = &process["pod"];
    assert_eq!(pod["namespace"], "default", "{process}");
    assert_eq!(pod["name"], name);
    assert_eq!(pod["uid"], uid);
    assert_eq!(pod["pod_labels"]["app"], "iris");
    assert_eq!(pod["workload"], "iris");
    assert_eq!(pod["workload_kind"], "Deployment");
    let container = &pod["container"];
    assert_eq!(container["id"], format!("containerd://{id}"));
    assert_eq!(container["name"], "iris");
    assert_eq!(container["image"]["name"], IMAGE);
    assert_eq!(container["image"]["id"], IMAGE_ID);
    assert_eq!(container["start_time"], "2026-11-29T10:00:00Z");
    assert_eq!(process["docker"], &id[..31]);
}

#[test]
fn container_processes_carry_their_pods() {
    if !require_root() {
        return;
    }
    let cluster = Cluster::start("pods");
    let id = container_id(1);
    let uid = create_pod(&cluster, NODE, "default", "iris-7d9f8c6b5-x2x9z", &id);
    let cgroup = TestCgroup::container(&uid, &id);
    // A container whose pod the API server learns of only after its process ran.
    let late_id = container_id(2);
    let late_cgroup = TestCgroup::container("5a1e0000-0000-4000-8000-000000000002", &late_id);

    let kubeconfig = cluster.kubeconfig.to_str().unwrap().to_string();
    let capture = LiveCapture::start(&["--kube", "--kubeconfig", &kubeconfig, "--node-name", NODE]);
    let watching = capture.wait_stderr("watching the pods of");
    assert!(watching.contains("2 container cgroups"), "{watching}");
    // Let the watch list the pods.
    thread::sleep(Duration::from_secs(2));
    let (inside, outside, late, own_pids) = (
        marker_dir("kube-inside"),
        marker_dir("kube-outside"),
        marker_dir("kube-late"),
        marker_dir("kube-own-pids"),
    );
    cgroup.run_true(&inside);
    // As a container runtime starts its first process: PID 1 of a new pid namespace.
    let in_own_pids = cgroup.exec("/usr/bin/unshare --pid --fork /bin/true", &own_pids);
    assert!(in_own_pids.success());
    let status = Command::new("/bin/true")
        .current_dir(&outside)
        .status()
        .unwrap();
    assert!(status.success());
    late_cgroup.run_true(&late);
    let late_uid = create_pod(&cluster, NODE, "default", "iris-7d9f8c6b5-late1", &late_id);
    thread::sleep(Duration::from_secs(3));
    let (events, stderr) = capture.stop();

    for process in true_events(&events, &inside) {
        assert_pod(process, "iris-7d9f8c6b5-x2x9z", &uid, &id);
        assert_eq!(
            process["pod"]["container"]["pid"], process["pid"],
            "{process}"
        );
    }
    for process in true_events(&events, &own_pids) {
        assert_pod(process, "iris-7d9f8c6b5-x2x9z", &uid, &id);
        assert_eq!(process["pod"]["container"]["pid"], 1, "{process}");
        assert_ne!(process["pid"], 1, "{process}");
    }
    for process in true_events(&events, &outside) {
        assert!(process.get("pod").is_none(), "{process}");
        assert!(process.get("docker").is_none(), "{process}");
    }
    let summary = stderr
        .lines()
        .find(|l| l.contains("events of container processes"))
        .unwrap_or_else(|| panic!("no pod counters in {stderr}"));
    eprintln!("{summary}");
    let late_events = true_events(&events, &late);
    if late_events[0].get("pod").is_some() {
        for process in late_events {
            assert_pod(process, "iris-7d9f8c6b5-late1", &late_uid, &late_id);
        }
        let late = count_before(summary, "with their pods after waiting");
        assert!(late >= 2, "{summary}");
    } else {
        // The pod came after the bounded wait (a slow machine): counted as missed.
        assert!(count_before(summary, "without") >= 2, "{summary}");
    }
}

#[test]
fn a_user_without_rights_gets_one_message_and_events_without_pods() {
    if !require_root() {
        return;
    }
    let cluster = Cluster::start("pods-forbidden");
    let kubeconfig = cluster.limited_kubeconfig();
    let capture = LiveCapture::start(&[
        "--kube",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--node-name",
        NODE,
    ]);
    let message = capture.wait_stderr("pod metadata unavailable");
    assert!(message.contains("forbidden"), "{message}");
    let dir = marker_dir("kube-forbidden");
    let status = Command::new("/bin/true")
        .current_dir(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    thread::sleep(Duration::from_secs(1));
    let (events, stderr) = capture.stop();
    true_events(&events, &dir);
    assert!(
        !stderr.contains("pod metadata unavailable"),
        "reported once, not again on each retry: {stderr}"
    );
}

#[test]
fn the_watch_resumes_when_the_api_server_is_back() {
    if !require_root() {
        return;
    }
    let mut cluster = Cluster::start("pods-restart");
    let kubeconfig = cluster.kubeconfig.to_str().unwrap().to_string();
    let capture = LiveCapture::start(&["--kube", "--kubeconfig", &kubeconfig, "--node-name", NODE]);
    capture.wait_stderr("watching the pods of");
    cluster.stop_apiserver();
    capture.wait_stderr("pod metadata unavailable");
    cluster.start_apiserver();
    capture.wait_stderr("pod metadata available again");

    let id = container_id(3);
    let uid = create_pod(&cluster, NODE, "default", "iris-7d9f8c6b5-back1", &id);
    let cgroup = TestCgroup::container(&uid, &id);
    let dir = marker_dir("kube-back");
    thread::sleep(Duration::from_secs(1));
    cgroup.run_true(&dir);
    thread::sleep(Duration::from_secs(1));
    let (events, _) = capture.stop();
    for process in true_events(&events, &dir) {
        assert_pod(process, "iris-7d9f8c6b5-back1", &uid, &id);
    }
}
