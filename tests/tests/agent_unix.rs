//! A live agent on a unix socket (root): policies added and changed through the API act on
//! the kernel, getevents filters on the agent, the socket is root-only and cleaned up.
mod common;

use std::{
    os::unix::{fs::PermissionsExt, process::ExitStatusExt},
    process::{Command, Output},
};

use serde_json::Value;
use tetrascope::agent::proto;
use tonic::Code;

use common::{
    agent::{Agent, TempDir, connect, getevents, run, wait_for_file},
    iris::{ensure_iris_key, exclusive, iris_policy, read_key},
    require_root, runtime,
};

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// `policy list --json`: one status per line.
fn list(socket: &str) -> Vec<Value> {
    let out = run(&["policy", "list", "--json", "--agent", socket]);
    ok(&out, "policy list")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A field of a JSON status, in snake_case or protojson's camelCase.
fn field<'a>(v: &'a Value, snake: &str) -> &'a Value {
    if let Some(found) = v.get(snake) {
        return found;
    }
    let mut camel = String::new();
    let mut up = false;
    for c in snake.chars() {
        if c == '_' {
            up = true;
        } else if up {
            camel.extend(c.to_uppercase());
            up = false;
        } else {
            camel.push(c);
        }
    }
    v.get(&camel).unwrap_or(&Value::Null)
}

fn change(socket: &str, args: &[&str]) {
    let mut all = vec!["policy"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--agent", socket]);
    ok(&run(&all), &format!("policy {args:?}"));
}

fn counter(status: &Value, name: &str) -> u64 {
    let counters = field(field(status, "stats"), "action_counters");
    let v = field(counters, name);
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

fn kprobes_of_policy(e: &Value) -> bool {
    e["process_kprobe"]["policy_name"] == "iris-read-file-sigkill"
}

#[test]
fn policies_through_the_unix_socket_act_on_the_kernel() {
    if !require_root() {
        return;
    }
    let _one = exclusive();
    ensure_iris_key();
    let dir = TempDir::new("unix");
    let info = dir.join("info.json");
    let socket = dir.socket("agent.sock");
    let info_arg = info.display().to_string();
    let agent = Agent::start(&["--server-address", &socket, "--info-file", &info_arg]);

    // Root-only socket; the info file names it.
    let mode = std::fs::metadata(dir.join("agent.sock"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let info_json: Value = serde_json::from_str(&wait_for_file(&info)).unwrap();
    assert_eq!(info_json["server_address"], socket.as_str());

    // A broken YAML: INVALID_ARGUMENT naming where.
    runtime().block_on(async {
        let mut client = connect(&socket).await;
        let request = proto::AddTracingPolicyRequest {
            yaml: "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: broken\nspec:\n  kprobes: [unclosed\n".into(),
            domain: String::new(),
        };
        let status = client.add_tracing_policy(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        // Line 7, where the unclosed flow sequence ends.
        assert!(status.message().contains(":7:"), "{status:?}");
    });

    change(&socket, &["add", &iris_policy()]);
    let statuses = list(&socket);
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    let status = &statuses[0];
    assert_eq!(field(status, "name"), "iris-read-file-sigkill");
    assert_eq!(field(status, "state"), "TP_STATE_ENABLED", "{status}");
    assert_eq!(field(status, "mode"), "TP_MODE_ENFORCE", "{status}");
    assert_eq!(field(status, "domain"), "grpc", "{status}");

    // Enforce: the reader is SIGKILLed before it prints anything.
    let killed = read_key();
    assert_eq!(killed.status.signal(), Some(libc::SIGKILL), "{killed:?}");
    assert!(killed.stdout.is_empty(), "{killed:?}");

    // Monitor: the read happens, and the would-be kill is counted.
    change(&socket, &["mode", "monitor", "iris-read-file-sigkill"]);
    assert_eq!(ok(&read_key(), "head in monitor mode"), "IRIS-");
    let status = list(&socket).remove(0);
    assert_eq!(field(&status, "mode"), "TP_MODE_MONITOR", "{status}");
    assert!(counter(&status, "monitor_signal") >= 1, "{status}");

    // Disabled: no events of the policy for a reader.
    change(&socket, &["disable", "iris-read-file-sigkill"]);
    let status = list(&socket).remove(0);
    assert_eq!(field(&status, "state"), "TP_STATE_DISABLED", "{status}");
    let client = getevents(&["--agent", &socket, "--process", "head"]);
    client.wait_stderr("connected to");
    let disabled = read_key();
    assert_eq!(ok(&disabled, "head, policy disabled"), "IRIS-");
    // Its exit marks that the stream carried its events.
    client.wait_event("the exit of the reader", |e| {
        e["process_exit"]["process"]["binary"] == "/usr/bin/head"
    });
    let (status, out, stderr) = client.stop();
    assert!(status.success(), "{stderr}");
    let events: Vec<Value> = out
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        !events.iter().any(kprobes_of_policy),
        "no events of a disabled policy: {out:?}"
    );

    change(&socket, &["enable", "iris-read-file-sigkill"]);
    let status = list(&socket).remove(0);
    assert_eq!(field(&status, "state"), "TP_STATE_ENABLED", "{status}");
    assert_eq!(ok(&read_key(), "head, re-enabled in monitor mode"), "IRIS-");

    change(&socket, &["delete", "iris-read-file-sigkill"]);
    assert!(list(&socket).is_empty());

    let (status, stderr) = agent.stop();
    assert!(status.success(), "{status}: {stderr}");
    assert!(!dir.join("agent.sock").exists(), "the socket is removed");
    assert!(!info.exists(), "the info file is removed");
}

#[test]
fn getevents_filters_on_the_agent() {
    if !require_root() {
        return;
    }
    let _one = exclusive();
    ensure_iris_key();
    let dir = TempDir::new("unixf");
    let socket = dir.socket("agent.sock");
    let info = dir.join("info.json").display().to_string();
    let agent = Agent::start(&["--server-address", &socket, "--info-file", &info]);
    change(&socket, &["add", &iris_policy()]);
    change(&socket, &["mode", "monitor", "iris-read-file-sigkill"]);
    let client = getevents(&["--agent", &socket, "--process", "head"]);
    client.wait_stderr("connected to");
    let truth = Command::new("/bin/true").status().unwrap();
    assert!(truth.success());
    assert_eq!(ok(&read_key(), "head"), "IRIS-");
    client.wait_event("the policy's kprobe event of head", |e| {
        kprobes_of_policy(e) && e["process_kprobe"]["process"]["binary"] == "/usr/bin/head"
    });
    client.wait_event("the exit of head", |e| {
        e["process_exit"]["process"]["binary"] == "/usr/bin/head"
    });
    let (status, out, stderr) = client.stop();
    assert!(status.success(), "{stderr}");
    let events: Vec<Value> = out
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let binaries: Vec<String> = events
        .iter()
        .filter_map(|e| e.as_object())
        .flat_map(|o| o.values())
        .filter_map(|body| body["process"]["binary"].as_str())
        .map(str::to_string)
        .collect();
    assert!(
        binaries.iter().all(|b| b.ends_with("/head")),
        "only head's events, none of true: {binaries:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["process_exec"]["process"]["binary"] == "/usr/bin/head"),
        "the exec of head"
    );
    change(&socket, &["delete", "iris-read-file-sigkill"]);
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{status}: {stderr}");
}
