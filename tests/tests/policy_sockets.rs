//! Socket arguments and operators on the real kernel (root). Our kernel has no kprobes:
//! `security_socket_connect` runs at connect's entry there, its `socket` read from the fd and its
//! `sockaddr` from the caller's memory. Connects are selected by the address's port and CIDR
//! and by the socket's family, killed or denied (Override), and what-if decides the recorded
//! events as the probes did.
mod common;

use std::{
    fs,
    net::{SocketAddr, TcpListener},
    os::unix::process::ExitStatusExt,
};

use common::{
    LiveCapture, decode_events, marker_dir,
    net::{own_perl, perl_connect},
    require_root,
};
use serde_json::Value;
use tetrascope::policy::{
    model::Mode,
    parse_str,
    what_if::{WhatIf, WhatIfMatch},
};

/// Kills the connects of `perl` to `kill_port`, posts those to 127.0.0.0/8 and those of IPv6
/// sockets: one selector each, first match wins.
fn select_policy(perl: &str, kill_port: u16) -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: sock-select
spec:
  kprobes:
  - call: security_socket_connect
    syscall: false
    args:
    - index: 0
      type: socket
    - index: 1
      type: sockaddr
    - index: 2
      type: int
    selectors:
    - matchBinaries:
      - operator: In
        values: ["{perl}"]
      matchArgs:
      - index: 1
        operator: SPort
        values: ["{kill_port}"]
      matchActions:
      - action: Sigkill
    - matchBinaries:
      - operator: In
        values: ["{perl}"]
      matchArgs:
      - index: 1
        operator: SAddr
        values: ["127.0.0.0/8"]
    - matchBinaries:
      - operator: In
        values: ["{perl}"]
      matchArgs:
      - index: 0
        operator: Family
        values: [AF_INET6]
"#
    )
}

/// Denies the IPv4 connects of `perl` outside 127.0.0.0/8 (EPERM).
fn loopback_only_policy(perl: &str) -> String {
    format!(
        r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: sock-loopback-only
spec:
  kprobes:
  - call: sys_connect
    syscall: true
    args:
    - index: 0
      type: sock
    - index: 1
      type: sockaddr
    selectors:
    - matchBinaries:
      - operator: In
        values: ["{perl}"]
      matchArgs:
      - index: 0
        operator: Family
        values: [AF_INET]
      - index: 1
        operator: NotSAddr
        values: ["127.0.0.0/8"]
      matchActions:
      - action: Override
        argError: -1
"#
    )
}

fn hits<'a>(events: &'a [Value], policy: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter_map(|e| e.get("process_kprobe"))
        .filter(|k| k["policy_name"] == policy)
        .collect()
}

#[test]
fn connects_are_selected_by_port_address_and_family_and_what_if_agrees() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("sockets");
    let perl = own_perl(&dir, "sock-perl");
    let denied = own_perl(&dir, "sock-denied");
    let v4 = TcpListener::bind("127.0.0.1:0").unwrap();
    let v6 = TcpListener::bind("[::1]:0").unwrap();
    let any = TcpListener::bind("0.0.0.0:0").unwrap();
    // A port nothing listens on: the kill comes before the refusal.
    let kill_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let policies = dir.join("policies");
    fs::create_dir_all(&policies).unwrap();
    let select = select_policy(&perl, kill_port);
    fs::write(policies.join("select.yaml"), &select).unwrap();
    fs::write(
        policies.join("loopback.yaml"),
        loopback_only_policy(&denied),
    )
    .unwrap();

    let capture = LiveCapture::start(&["--policy", policies.to_str().unwrap()]);
    // Loaded in the order of their files' names.
    capture.wait_stderr("policy sock-loopback-only enabled (enforce)");
    capture.wait_stderr("policy sock-select enabled (enforce)");
    let killed = perl_connect(&perl, SocketAddr::from(([127, 0, 0, 1], kill_port)));
    let loopback = perl_connect(&perl, v4.local_addr().unwrap());
    let ipv6 = perl_connect(&perl, v6.local_addr().unwrap());
    // 127.0.0.2 is loopback too; 0.0.0.0 reaches this host but is outside 127.0.0.0/8.
    let any_port = any.local_addr().unwrap().port();
    let outside = perl_connect(&perl, SocketAddr::from(([0, 0, 0, 0], any_port)));
    let denied_outside = perl_connect(&denied, SocketAddr::from(([0, 0, 0, 0], any_port)));
    let denied_loopback = perl_connect(&denied, SocketAddr::from(([127, 0, 0, 2], any_port)));
    let (events, _) = capture.stop();

    assert_eq!(killed.status.signal(), Some(9), "{killed:?}");
    for out in [&loopback, &ipv6, &outside, &denied_loopback] {
        assert!(out.status.success(), "{out:?}");
    }
    assert!(!denied_outside.status.success());
    assert!(
        String::from_utf8_lossy(&denied_outside.stderr).contains("Operation not permitted"),
        "EPERM from argError -1: {denied_outside:?}"
    );

    // One event per selected connect, in order; 0.0.0.0 passed no selector.
    let selected = hits(&events, "sock-select");
    let seen: Vec<(&str, &str, u64, &str)> = selected
        .iter()
        .map(|k| {
            let address = &k["args"][1]["sockaddr_arg"];
            (
                k["action"].as_str().unwrap(),
                address["addr"].as_str().unwrap(),
                address["port"].as_u64().unwrap(),
                k["args"][0]["sock_arg"]["family"].as_str().unwrap(),
            )
        })
        .collect();
    let v4_port = v4.local_addr().unwrap().port() as u64;
    let v6_port = v6.local_addr().unwrap().port() as u64;
    assert_eq!(
        seen,
        [
            (
                "KPROBE_ACTION_SIGKILL",
                "127.0.0.1",
                kill_port as u64,
                "AF_INET"
            ),
            ("KPROBE_ACTION_POST", "127.0.0.1", v4_port, "AF_INET"),
            ("KPROBE_ACTION_POST", "::1", v6_port, "AF_INET6"),
        ],
        "{selected:#?}"
    );
    let socket = &selected[1]["args"][0]["sock_arg"];
    assert_eq!(socket["type"], "SOCK_STREAM", "{socket}");
    assert_eq!(socket["protocol"], "IPPROTO_TCP", "{socket}");
    assert_eq!(
        selected[1]["args"][2]["int_arg"], 16,
        "sockaddr_in's length"
    );

    let denials = hits(&events, "sock-loopback-only");
    assert_eq!(denials.len(), 1, "{denials:#?}");
    assert_eq!(denials[0]["action"], "KPROBE_ACTION_OVERRIDE");
    assert_eq!(denials[0]["args"][1]["sockaddr_arg"]["addr"], "0.0.0.0");

    // What-if on the same events picks the same selectors.
    let policy = parse_str(&select, None).unwrap().remove(0);
    let mut what_if = WhatIf::new(&policy, Mode::Enforce).unwrap();
    let decided: Vec<usize> = decode_events(&events)
        .iter()
        .filter_map(|event| what_if.evaluate(event))
        .filter(|m: &WhatIfMatch| m.hook == "security_socket_connect")
        .map(|m| m.selector)
        .collect();
    assert_eq!(decided, [1, 2, 3]);
}
