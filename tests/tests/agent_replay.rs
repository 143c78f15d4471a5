//! Agents serving recordings (no root): two agents merged by one client, a client that
//! reconnects to an agent that died and came back, bad requests, and a slow client's drops.
mod common;

use std::{collections::BTreeMap, io::Write, time::Instant};

use serde_json::Value;
use tetrascope::{
    agent::proto,
    event::{Event, decode_json_line},
};
use tonic::Code;

use common::{
    agent::{Agent, PATIENCE, Proc, TempDir, connect, getevents, iris_session},
    runtime,
};

/// The recording's events, as decoded by the library.
fn recorded() -> Vec<Event> {
    std::fs::read_to_string(iris_session())
        .unwrap()
        .lines()
        .map(|l| decode_json_line(l.as_bytes()).unwrap())
        .collect()
}

/// Waits for `n` JSON events on the client's stdout.
fn collect(client: &Proc, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| client.wait_event(&format!("#{}", i + 1), |_| true))
        .collect()
}

fn as_events(values: &[Value]) -> Vec<Event> {
    values
        .iter()
        .map(|v| decode_json_line(v.to_string().as_bytes()).unwrap())
        .collect()
}

#[test]
fn one_client_merges_two_agents_with_their_node_names() {
    let dir = TempDir::new("merge");
    let fast = ["--speed", "20"];
    let a = Agent::replay(
        &dir,
        "a.sock",
        &iris_session(),
        &[&fast[..], &["--node-name", "node-a"]].concat(),
    );
    let b = Agent::replay(
        &dir,
        "b.sock",
        &iris_session(),
        &[&fast[..], &["--node-name", "node-b"]].concat(),
    );
    let client = getevents(&[
        "--agent",
        &dir.socket("a.sock"),
        "--agent",
        &dir.socket("b.sock"),
    ]);
    let expected = recorded();
    let values = collect(&client, 2 * expected.len());
    let (status, _, stderr) = client.stop();
    assert!(status.success(), "{status}: {stderr}");
    assert!(
        stderr.contains(&format!("connected to {}", dir.socket("a.sock")))
            && stderr.contains(&format!("connected to {}", dir.socket("b.sock"))),
        "{stderr}"
    );
    let mut by_node: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    for event in as_events(&values) {
        by_node
            .entry(event.node_name.clone())
            .or_default()
            .push(event);
    }
    assert_eq!(
        by_node.keys().collect::<Vec<_>>(),
        ["node-a", "node-b"],
        "every event carries the node name of its agent"
    );
    for (node, events) in &by_node {
        // Each agent's events, whole and in order, only their node name changed.
        let want: Vec<Event> = expected
            .iter()
            .cloned()
            .map(|mut e| {
                e.node_name.clone_from(node);
                e
            })
            .collect();
        assert_eq!(events, &want, "the events of {node}");
    }
    for agent in [a, b] {
        let (status, stderr) = agent.stop();
        assert!(status.success(), "{status}: {stderr}");
        assert!(
            stderr.contains("stopped after 15 events (0 dropped"),
            "{stderr}"
        );
    }
}

#[test]
fn a_client_reconnects_to_an_agent_that_came_back() {
    let dir = TempDir::new("reconnect");
    let socket = dir.socket("agent.sock");
    let mut first = Agent::replay(
        &dir,
        "agent.sock",
        &iris_session(),
        &["--speed", "20", "--node-name", "first"],
    );
    let client = getevents(&["--agent", &socket]);
    client.wait_stderr(&format!("connected to {socket}"));
    let before = collect(&client, recorded().len());
    assert!(before.iter().all(|e| e["node_name"] == "first"));

    first.proc.kill();
    let down = client.wait_stderr("retrying in");
    assert!(down.contains(&socket), "{down}");
    // Still running, still trying: a few retries go by while nobody listens.
    client.wait_stderr("retrying in");
    assert!(
        std::fs::metadata(dir.join("agent.sock")).is_ok(),
        "a SIGKILLed agent leaves its socket behind (the next one replaces it)"
    );

    let second = Agent::replay(
        &dir,
        "agent.sock",
        &iris_session(),
        &["--speed", "20", "--node-name", "second"],
    );
    client.wait_stderr(&format!("connected to {socket}"));
    let after = collect(&client, recorded().len());
    assert!(
        after.iter().all(|e| e["node_name"] == "second"),
        "events of the new agent: {after:?}"
    );
    let (status, _, stderr) = client.stop();
    assert!(status.success(), "{status}: {stderr}");
    let (status, stderr) = second.stop();
    assert!(status.success(), "{status}: {stderr}");
    assert!(
        !dir.join("agent.sock").exists(),
        "SIGTERM removes the socket"
    );
}

/// The status of a call that must fail.
fn refused<T: std::fmt::Debug>(result: Result<tonic::Response<T>, tonic::Status>) -> tonic::Status {
    match result {
        Ok(response) => panic!("the call succeeded: {response:?}"),
        Err(status) => status,
    }
}

const POLICY: &str = "apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: reads
spec:
  kprobes:
  - call: security_file_permission
    syscall: false
    args:
    - index: 0
      type: file
";

#[test]
fn bad_requests_get_the_right_status_and_the_agent_carries_on() {
    let dir = TempDir::new("badreq");
    let agent = Agent::replay(&dir, "agent.sock", &iris_session(), &[]);
    let socket = dir.socket("agent.sock");
    runtime().block_on(async {
        let mut client = connect(&socket).await;

        // A regex that does not compile: INVALID_ARGUMENT naming the field.
        let request = proto::GetEventsRequest {
            allow_list: vec![proto::Filter {
                binary_regex: vec!["(unclosed".into()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let status = refused(client.get_events(request).await);
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(
            status.message().contains("allow_list[0].binary_regex[0]"),
            "{status:?}"
        );

        // 5 MiB: over the 4 MiB limit.
        let huge = proto::AddTracingPolicyRequest {
            yaml: format!("{POLICY}# {}\n", "x".repeat(5 << 20)),
            domain: String::new(),
        };
        let status = refused(client.add_tracing_policy(huge).await);
        // grpc-go (Tetragon) says RESOURCE_EXHAUSTED; tonic 0.14's decoder says OUT_OF_RANGE
        // for the same limit. Either way it is the size that is refused, not the YAML.
        assert!(
            matches!(status.code(), Code::ResourceExhausted | Code::OutOfRange),
            "{status:?}"
        );
        assert!(status.message().contains("too large"), "{status:?}");
        let health = tokio::time::timeout(
            PATIENCE,
            client.get_health(proto::GetHealthStatusRequest::default()),
        )
        .await
        .expect("GetHealth answered in time after the refused request, same connection")
        .expect("GetHealth after the refused request")
        .into_inner();
        assert_eq!(health.health_status[0].details, "running");

        // A replay agent runs no policies: FAILED_PRECONDITION, good YAML or bad.
        for yaml in [POLICY, "kind: TracingPolicy\nspec: [unclosed\n"] {
            let request = proto::AddTracingPolicyRequest {
                yaml: yaml.into(),
                domain: String::new(),
            };
            let status = refused(client.add_tracing_policy(request).await);
            assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
            assert!(status.message().contains("recording"), "{status:?}");
        }
        let delete = proto::DeleteTracingPolicyRequest {
            name: "reads".into(),
            ..Default::default()
        };
        let status = refused(client.delete_tracing_policy(delete).await);
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        let list = client
            .list_tracing_policies(proto::ListTracingPoliciesRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(list.policies.is_empty());
    });
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{status}: {stderr}");

    // --read-only: PERMISSION_DENIED before anything else is looked at.
    let agent = Agent::replay(&dir, "ro.sock", &iris_session(), &["--read-only"]);
    runtime().block_on(async {
        let mut client = connect(&dir.socket("ro.sock")).await;
        let request = proto::AddTracingPolicyRequest {
            yaml: POLICY.into(),
            domain: String::new(),
        };
        let status = refused(client.add_tracing_policy(request).await);
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
        let configure = proto::ConfigureTracingPolicyRequest {
            name: "reads".into(),
            enable: Some(false),
            ..Default::default()
        };
        let status = refused(client.configure_tracing_policy(configure).await);
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    });
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{status}: {stderr}");
}

const TOTAL: u64 = 50_000;

/// A recording of TOTAL execs, 1 ms apart, of one template with varying pids and exec_ids.
fn write_storm(path: &std::path::Path) {
    let template: Value = serde_json::from_str(
        std::fs::read_to_string(iris_session())
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    use base64::Engine;
    for i in 0..TOTAL {
        let mut event = template.clone();
        let pid = 10_000 + i;
        let process = &mut event["process_exec"]["process"];
        process["pid"] = pid.into();
        process["exec_id"] = base64::engine::general_purpose::STANDARD
            .encode(format!("storm:{}:{pid}", 1_000_000 + i))
            .into();
        let (secs, ms) = (i / 1000, i % 1000);
        event["time"] = format!("2024-10-01T03:{:02}:{:02}.{ms:03}Z", secs / 60, secs % 60).into();
        serde_json::to_writer(&mut out, &event).unwrap();
        out.write_all(b"\n").unwrap();
    }
    out.flush().unwrap();
}

#[test]
fn a_slow_client_hears_of_every_event_it_missed() {
    let dir = TempDir::new("slow");
    let storm = dir.join("storm.jsonl");
    write_storm(&storm);
    let agent = Agent::replay(
        &dir,
        "agent.sock",
        &storm,
        &["--speed", "100000", "--event-queue-size", "100"],
    );
    let (received, reports) = runtime().block_on(async {
        let mut client = connect(&dir.socket("agent.sock")).await;
        let mut stream = client
            .get_events(proto::GetEventsRequest::default())
            .await
            .unwrap()
            .into_inner();
        let first = stream.message().await.unwrap().expect("a first event");
        assert!(matches!(
            first.event,
            Some(proto::get_events_response::Event::ProcessExec(_))
        ));
        // The slow part: the client reads nothing more until the agent has played everything
        // (whatever the machine's speed, far more than its queue and the transport hold).
        agent
            .proc
            .wait_stderr(&format!("the recording has ended after {TOTAL} events"));
        let mut received = 1u64;
        let mut reports = Vec::new();
        let deadline = Instant::now() + 2 * PATIENCE;
        // Every event is either received or counted in a report: wait until they add up.
        while received + reports.iter().sum::<u64>() < TOTAL {
            let left = deadline.saturating_duration_since(Instant::now());
            let next = tokio::time::timeout(left, stream.message()).await;
            let Ok(next) = next else {
                panic!(
                    "stalled: {received} received + {reports:?} reported dropped < {TOTAL} sent"
                );
            };
            match next.unwrap().expect("the stream stays open").event {
                Some(proto::get_events_response::Event::RateLimitInfo(info)) => {
                    reports.push(info.number_of_dropped_process_events);
                }
                Some(proto::get_events_response::Event::ProcessExec(_)) => received += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        (received, reports)
    });
    let dropped: u64 = reports.iter().sum();
    println!("slow client: {received} received, {dropped} dropped in {reports:?}");
    assert!(
        !reports.is_empty() && reports.iter().all(|n| *n > 0),
        "{reports:?}"
    );
    assert_eq!(received + dropped, TOTAL);
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{status}: {stderr}");
    assert!(
        stderr.contains(&format!(
            "stopped after {TOTAL} events ({dropped} dropped for slow clients)"
        )),
        "{stderr}"
    );
}
