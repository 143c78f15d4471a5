//! `tetrascope --kube` against a real API server: the agents' pods are found by their labels,
//! reached by port-forward (through a kubelet stand-in) with TLS checked against the CA of the
//! agents' Secret, and followed as they come and go; its policy pane changes the cluster's
//! TracingPolicy objects, which a live agent then loads, enforces and unloads.
mod common;

use std::{os::unix::process::ExitStatusExt, path::Path, process::Command, time::Duration};

use base64::Engine;
use common::{
    agent::Agent,
    iris::{ensure_iris_key, exclusive, iris_policy, read_key},
    kube::{Cluster, install_crds, wait_until},
    kubelet::Kubelet,
    pki::signed_cert,
    require_root, tetrascope_bin,
    tmux::Tmux,
};
use serde_json::{Value, json};

/// `tetrascope agent` serving TLS on a free port of 127.0.0.1 with the certificate of `dir`,
/// and `extra` arguments; its port.
fn tls_agent(dir: &Path, extra: &[&str]) -> (Agent, u16) {
    let path = |name: &str| dir.join(name).display().to_string();
    let (cert, key, info) = (
        path("agent.crt"),
        path("agent.key"),
        path("agent-info.json"),
    );
    let mut args = vec![
        "--server-address",
        "127.0.0.1:0",
        "--server-tls-cert-file",
        &cert,
        "--server-tls-key-file",
        &key,
        "--info-file",
        &info,
    ];
    args.extend_from_slice(extra);
    let agent = Agent::start(&args);
    let port = agent.listening[0]
        .rsplit_once(':')
        .unwrap()
        .1
        .parse()
        .unwrap();
    (agent, port)
}

/// Makes the agent on `agent_port` reachable as the agent pod of node-1 in the namespace
/// `tetrascope`, as deploy/kubernetes runs it: the TLS Secret with its CA, a Node whose kubelet
/// (a stand-in on 127.0.0.1) forwards to the agent, the pod running.
fn expose_agent(cluster: &Cluster, agent_port: u16) -> Kubelet {
    let dir = &cluster.dir;
    signed_cert(dir, "kubelet", "/CN=node-1", Some("IP:127.0.0.1"));
    let kubelet = Kubelet::start(
        &dir.join("kubelet.crt"),
        &dir.join("kubelet.key"),
        agent_port,
    );
    cluster.create(
        "/api/v1/namespaces",
        json!({"metadata": {"name": "tetrascope"}}),
    );
    let ca = std::fs::read(dir.join("ca.crt")).unwrap();
    cluster.create(
        "/api/v1/namespaces/tetrascope/secrets",
        json!({"metadata": {"name": "tetrascope-agent-tls"},
               "data": {"ca.crt": base64::engine::general_purpose::STANDARD.encode(ca)}}),
    );
    cluster.create("/api/v1/nodes", json!({"metadata": {"name": "node-1"}}));
    let node_status = json!({"status": {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet.port}}}});
    let (code, answer) =
        cluster.request("PATCH", "/api/v1/nodes/node-1/status", Some(&node_status));
    assert_eq!(code, 200, "{answer}");
    run_pod(cluster, "tetrascope-agent-a");
    kubelet
}

/// The agent's certificate, for the name the cluster view checks.
fn agent_cert(dir: &Path) {
    signed_cert(
        dir,
        "agent",
        "/CN=tetrascope-agent",
        Some("DNS:tetrascope-agent"),
    );
}

/// `tetrascope --kube` on the cluster in tmux.
fn cluster_view(cluster: &Cluster, name: &str) -> Tmux {
    let tmux = Tmux::start(name, 170, 45);
    tmux.type_text(&format!(
        "{} --kube --kubeconfig {}; echo exited-$?",
        tetrascope_bin().display(),
        cluster.kubeconfig.display()
    ));
    tmux.send(&["Enter"]);
    tmux
}

fn agent_pod(name: &str) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {
            "app.kubernetes.io/name": "tetrascope", "app.kubernetes.io/component": "agent"}},
        "spec": {"nodeName": "node-1", "containers": [{"name": "agent", "image": "tetrascope:latest"}]}
    })
}

fn run_pod(cluster: &Cluster, name: &str) {
    cluster.create("/api/v1/namespaces/tetrascope/pods", agent_pod(name));
    let running = json!({"status": {"phase": "Running"}});
    let path = format!("/api/v1/namespaces/tetrascope/pods/{name}/status");
    let (code, answer) = cluster.request("PATCH", &path, Some(&running));
    assert_eq!(code, 200, "{answer}");
}

#[test]
fn the_cluster_view_finds_the_agents_and_follows_them() {
    let cluster = Cluster::start("view");
    agent_cert(&cluster.dir);
    let recording = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/iris-session.jsonl");
    let recording = recording.display().to_string();
    let (_agent, port) = tls_agent(&cluster.dir, &["--input", &recording, "--speed", "20"]);
    let _kubelet = expose_agent(&cluster, port);

    let ui = cluster_view(&cluster, "kube-view");
    // The pod's node first, then the recording's node: its events came through the
    // port-forward.
    let screen = ui.wait_for("the agent's node and its events", |s| {
        s.contains("demo-node ●") && s.contains("/usr/bin/cat")
    });
    assert!(screen.contains("cluster"), "{screen}");

    // The pod goes: its agent leaves the view; a new one comes and is followed.
    let (code, _) = cluster.request(
        "DELETE",
        "/api/v1/namespaces/tetrascope/pods/tetrascope-agent-a?gracePeriodSeconds=0",
        None,
    );
    assert_eq!(code, 200);
    ui.wait_for("the agent gone", |s| !s.contains("demo-node ●"));
    // The new pod's agent (the same process, whose recording has played: no events name it).
    run_pod(&cluster, "tetrascope-agent-b");
    ui.wait_for("the new agent, named by its pod's node", |s| {
        s.contains("node-1 ●")
    });
}

/// The cluster's IRIS object as the API server has it (None once it is gone).
fn iris_object(cluster: &Cluster) -> Option<Value> {
    let path = "/apis/cilium.io/v1alpha1/tracingpolicies/iris-read-file-sigkill";
    let (code, object) = cluster.request("GET", path, None);
    (code == 200).then_some(object)
}

fn policy_mode(object: &Value) -> Option<&str> {
    object["spec"]["options"]
        .as_array()?
        .iter()
        .rfind(|option| option["name"] == "policy-mode")?["value"]
        .as_str()
}

#[test]
fn the_policy_pane_applies_enforces_and_deletes_cluster_policies() {
    if !require_root() {
        return;
    }
    let _one = exclusive();
    ensure_iris_key();
    let cluster = Cluster::start("view-policies");
    install_crds(&cluster);
    agent_cert(&cluster.dir);
    let kubeconfig = cluster.kubeconfig.display().to_string();
    let (agent, port) = tls_agent(
        &cluster.dir,
        &[
            "--kube",
            "--kubeconfig",
            &kubeconfig,
            "--no-syscalls",
            "--no-files",
        ],
    );
    let _kubelet = expose_agent(&cluster, port);
    let ui = cluster_view(&cluster, "kube-view-policies");
    ui.wait_for("the agent", |s| s.contains(" ●"));

    // o: the file becomes an object of the cluster, in monitor mode; the agent loads it.
    ui.send(&["o"]);
    ui.type_text(&iris_policy());
    ui.send(&["Enter"]);
    ui.wait_for("the object's row", |s| {
        s.contains("iris-read-file-sigkill") && s.contains("cluster k8s, 1 node")
    });
    let object = iris_object(&cluster).expect("the object was created");
    assert_eq!(policy_mode(&object), Some("monitor"), "{object}");
    assert_eq!(
        object["metadata"]["managedFields"][0]["manager"],
        "tetrascope"
    );
    assert!(read_key().status.success(), "monitor mode kills nothing");

    // m, y: the object says enforce; the agent switches its mode and kills the reader.
    ui.send(&["BTab"]);
    ui.send(&["m"]);
    ui.wait_for("the confirmation", |s| {
        s.contains("Enforce iris-read-file-sigkill in the cluster?")
    });
    ui.send(&["y"]);
    ui.wait_for("enforce, reported by the agent", |s| s.contains("ENFORCE"));
    let object = iris_object(&cluster).unwrap();
    assert_eq!(policy_mode(&object), Some("enforce"), "{object}");
    agent.proc.wait_stderr("mode changed to Enforce");
    let killed = read_key();
    assert_eq!(killed.status.signal(), Some(libc::SIGKILL), "{killed:?}");
    ui.wait_for("the kill counted on the object's row", |s| {
        s.lines().any(|l| {
            l.contains("iris-read-file-sigkill") && l.contains("ENFORCE") && l.contains(" 1 ")
        })
    });

    // x, y: the object is deleted; the agent unloads the policy.
    ui.send(&["x"]);
    ui.wait_for("the question", |s| {
        s.contains("Delete iris-read-file-sigkill from the cluster?")
    });
    ui.send(&["y"]);
    wait_until("the object is gone", Duration::from_secs(30), || {
        iris_object(&cluster).is_none()
    });
    agent.proc.wait_stderr("deleted, unloaded");
    assert!(
        read_key().status.success(),
        "a deleted object kills nothing"
    );
    ui.wait_for("the row gone", |s| s.contains("No policy loaded"));
    ui.send(&["q"]);
    ui.wait_for("a clean exit", |s| s.contains("exited-0"));
}

#[test]
fn the_cluster_view_says_why_it_cannot_start() {
    let cluster = Cluster::start("view-denied");
    let out = Command::new(tetrascope_bin())
        .arg("--kube")
        .arg("--kubeconfig")
        .arg(cluster.limited_kubeconfig())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tetrascope-agent-tls") && stderr.contains("forbidden"),
        "{stderr}"
    );
    let out = Command::new(tetrascope_bin())
        .args(["--kube", "--kubeconfig", "/nonexistent/kubeconfig"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("/nonexistent/kubeconfig"),
        "{stderr}"
    );
}
