//! `tetrascope --kube` against a real API server: the agents' pods are found by their labels,
//! reached by port-forward (through a kubelet stand-in) with TLS checked against the CA of the
//! agents' Secret, and followed as they come and go.
mod common;

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use base64::Engine;
use common::{kube::Cluster, kubelet::Kubelet, pki::signed_cert, tetrascope_bin};
use serde_json::json;

/// A replay agent serving TLS on a free port of 127.0.0.1, stopped on drop.
struct TlsAgent {
    child: Child,
    port: u16,
}

impl TlsAgent {
    fn start(dir: &Path, recording: &Path) -> Self {
        let mut child = Command::new(tetrascope_bin())
            .args(["agent", "--server-address", "127.0.0.1:0"])
            .arg("--server-tls-cert-file")
            .arg(dir.join("agent.crt"))
            .arg("--server-tls-key-file")
            .arg(dir.join("agent.key"))
            .arg("--info-file")
            .arg(dir.join("agent-info.json"))
            .arg("--input")
            .arg(recording)
            .args(["--speed", "20"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("the agent says where it listens")
                .unwrap();
            if let Some(address) = line.strip_prefix("tetrascope agent: listening on ") {
                break address.rsplit_once(':').unwrap().1.parse().unwrap();
            }
        };
        thread::spawn(move || for _ in lines {});
        TlsAgent { child, port }
    }
}

impl Drop for TlsAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The UI in tmux, killed on drop.
struct Screen(String);

impl Screen {
    /// Runs `command`; what it says when it ends stays on the screen.
    fn start(command: &str) -> Self {
        let session = format!("tetrascope-kube-view-{}", std::process::id());
        let shell = format!("{command} 2>&1; echo exited-$?; sleep 3600");
        let status = Command::new("tmux")
            .args(["new-session", "-d", "-s", &session, "-x", "170", "-y", "40"])
            .args(["sh", "-c", &shell])
            .status()
            .unwrap();
        assert!(status.success());
        Screen(session)
    }

    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = Command::new("tmux")
                .args(["capture-pane", "-p", "-t", &self.0])
                .output()
                .unwrap();
            let screen = String::from_utf8_lossy(&out.stdout).into_owned();
            if ready(&screen) {
                return screen;
            }
            assert!(Instant::now() < deadline, "waited for {what}:\n{screen}");
            thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .status();
    }
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
    let dir = &cluster.dir;
    signed_cert(
        dir,
        "agent",
        "/CN=tetrascope-agent",
        Some("DNS:tetrascope-agent"),
    );
    signed_cert(dir, "kubelet", "/CN=node-1", Some("IP:127.0.0.1"));
    let recording = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/iris-session.jsonl");
    let agent = TlsAgent::start(dir, &recording);
    let kubelet = Kubelet::start(
        &dir.join("kubelet.crt"),
        &dir.join("kubelet.key"),
        agent.port,
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
    run_pod(&cluster, "tetrascope-agent-a");

    let ui = Screen::start(&format!(
        "{} --kube --kubeconfig {}",
        tetrascope_bin().display(),
        cluster.kubeconfig.display()
    ));
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
