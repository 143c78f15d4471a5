//! GetUrl and DnsLookup (root): actions tetrascope does in user space once the hit's event
//! arrives. A real HTTP server in the test hears the GET; the lookup's event is named after it.
mod common;

use std::{
    fs,
    io::{BufRead, BufReader, Write},
    net::TcpListener,
    sync::mpsc,
    thread,
    time::Duration,
};

use common::{LiveCapture, marker_dir, require_root, run_in};

#[test]
fn get_url_requests_the_url_and_dns_lookup_resolves_the_name_when_a_selector_matches() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("user-actions");
    fs::write(dir.join("x.canary"), "x").unwrap();
    fs::write(dir.join("x.lookup"), "x").unwrap();
    fs::write(dir.join("x.other"), "x").unwrap();
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let (heard, requests) = mpsc::channel();
    thread::spawn(move || {
        for stream in server.incoming() {
            let mut stream = stream.unwrap();
            let mut line = String::new();
            BufReader::new(&stream).read_line(&mut line).unwrap();
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
            let _ = heard.send(line.trim_end().to_owned());
        }
    });
    let policy = dir.join("canary.yaml");
    fs::write(
        &policy,
        format!(
            r#"apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: canary
spec:
  kprobes:
  - call: sys_openat
    syscall: true
    args:
    - index: 1
      type: string
    selectors:
    - matchArgs:
      - index: 1
        operator: Postfix
        values: [".canary"]
      matchActions:
      - action: GetUrl
        argUrl: http://127.0.0.1:{port}/canary-tripped
    - matchArgs:
      - index: 1
        operator: Postfix
        values: [".lookup"]
      matchActions:
      - action: DnsLookup
        argFqdn: localhost
"#
        ),
    )
    .unwrap();

    let capture = LiveCapture::start(&["--policy", policy.to_str().unwrap()]);
    capture.wait_stderr("policy canary enabled (enforce)");
    for file in ["x.other", "x.canary", "x.lookup"] {
        assert!(run_in(&dir, "/usr/bin/cat", &[file]).status.success());
    }
    let request = requests.recv_timeout(Duration::from_secs(10));
    let (events, stderr) = capture.stop();

    assert_eq!(
        request.as_deref(),
        Ok("GET /canary-tripped HTTP/1.1"),
        "{stderr}"
    );
    assert!(requests.try_recv().is_err(), "one GET, for the canary only");
    let actions: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| e.get("process_kprobe"))
        .filter(|k| k["policy_name"] == "canary")
        .map(|k| {
            (
                k["args"][0]["string_arg"].as_str().unwrap(),
                k["action"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("x.canary", "KPROBE_ACTION_GETURL"),
            ("x.lookup", "KPROBE_ACTION_DNSLOOKUP")
        ]
    );
    assert!(!stderr.contains("DnsLookup localhost"), "{stderr}");
}
