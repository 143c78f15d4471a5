//! TCP listeners (no root: the agents serve a recording): TLS with a throwaway CA made by the
//! openssl CLI, client certificates when the agent requires them, and plain TCP only with
//! --insecure.
mod common;

use std::path::Path;

use common::{
    agent::{Agent, Proc, TempDir, getevents, iris_session, wait_for_file},
    pki::{make_ca, signed_cert},
};

/// ca.crt, server.crt/server.key (SAN IP:127.0.0.1, DNS:localhost) and client.crt/client.key
/// in `dir`, all signed by the CA.
fn make_pki(dir: &Path) {
    make_ca(dir);
    signed_cert(
        dir,
        "server",
        "/CN=server",
        Some("IP:127.0.0.1,DNS:localhost"),
    );
    signed_cert(dir, "client", "/CN=client", None);
}

fn path(dir: &TempDir, name: &str) -> String {
    dir.join(name).display().to_string()
}

/// A replay agent on 127.0.0.1:0 with `extra` flags; its bound address.
fn tcp_agent(dir: &TempDir, extra: &[&str]) -> (Agent, String) {
    let info = path(dir, &format!("info-{}.json", extra.len()));
    let recording = iris_session().display().to_string();
    let mut args = vec![
        "--server-address",
        "127.0.0.1:0",
        "--info-file",
        &info,
        "--input",
        &recording,
        "--speed",
        "20",
    ];
    args.extend_from_slice(extra);
    let agent = Agent::start(&args);
    let address = agent.listening[0].clone();
    assert!(
        address.starts_with("127.0.0.1:") && !address.ends_with(":0"),
        "the bound port is printed: {address}"
    );
    let info = wait_for_file(Path::new(&info));
    assert!(info.contains(&address), "{info}");
    (agent, address)
}

/// A client that must not get through: it says so on stderr and keeps retrying.
fn refused(client: Proc, address: &str) -> String {
    let line = client.wait_stderr("retrying in");
    assert!(line.contains(address), "{line}");
    let (status, out, stderr) = client.stop();
    assert!(status.success(), "{status}: {stderr}");
    assert!(out.is_empty(), "no events without TLS: {out:?}");
    assert!(!stderr.contains("connected to"), "{stderr}");
    line
}

/// A client that gets the whole recording.
fn served(client: Proc) {
    client.wait_stderr("connected to");
    for i in 0..15 {
        client.wait_event(&format!("#{}", i + 1), |e| e["node_name"] == "demo-node");
    }
    let (status, _, stderr) = client.stop();
    assert!(status.success(), "{status}: {stderr}");
}

/// A replay agent serving TLS with a certificate of a fresh CA in `dir` (ca.crt), and `extra`
/// flags; its bound address.
fn tls_agent(dir: &TempDir, extra: &[&str]) -> (Agent, String) {
    make_pki(dir.path());
    let (cert, key) = (path(dir, "server.crt"), path(dir, "server.key"));
    let mut args = vec![
        "--server-tls-cert-file",
        &cert,
        "--server-tls-key-file",
        &key,
    ];
    args.extend_from_slice(extra);
    tcp_agent(dir, &args)
}

#[test]
fn tls_serves_clients_that_know_the_ca_and_refuses_plain_ones() {
    let dir = TempDir::new("tls");
    let ca = path(&dir, "ca.crt");
    let (agent, address) = tls_agent(&dir, &[]);
    // Plain first: it never gets to subscribe, so the recording waits for the TLS client.
    let reason = refused(getevents(&["--agent", &address]), &address);
    println!("plain client: {reason}");
    served(getevents(&["--agent", &address, "--tls-ca-cert-file", &ca]));
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{status}: {stderr}");
}

#[test]
fn an_agent_that_requires_client_certificates_refuses_clients_without_one() {
    let dir = TempDir::new("mtls");
    let ca = path(&dir, "ca.crt");
    let (agent, address) = tls_agent(
        &dir,
        &[
            "--server-tls-client-ca-files",
            &ca,
            "--server-tls-require-client-cert",
        ],
    );
    let reason = refused(
        getevents(&["--agent", &address, "--tls-ca-cert-file", &ca]),
        &address,
    );
    println!("client without a certificate: {reason}");
    let (client_cert, client_key) = (path(&dir, "client.crt"), path(&dir, "client.key"));
    served(getevents(&[
        "--agent",
        &address,
        "--tls-ca-cert-file",
        &ca,
        "--tls-cert-file",
        &client_cert,
        "--tls-key-file",
        &client_key,
    ]));
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{status}: {stderr}");
}

#[test]
fn plain_tcp_needs_insecure() {
    let dir = TempDir::new("insecure");
    let info = path(&dir, "info.json");
    let recording = iris_session().display().to_string();
    let mut refusing = Proc::spawn(&[
        "agent",
        "--server-address",
        "127.0.0.1:0",
        "--info-file",
        &info,
        "--input",
        &recording,
    ]);
    let status = refusing.wait_exit();
    drop(refusing.out.all());
    let stderr = refusing.err.text();
    assert!(!status.success(), "{status}");
    // The stderr reader may lag the exit by a moment: wait for the message itself.
    let message = if stderr.contains("--insecure") {
        stderr
    } else {
        refusing.wait_stderr("--insecure")
    };
    assert!(message.contains("TLS"), "{message}");
    assert!(
        !Path::new(&info).exists(),
        "no info file for an agent that refused to start"
    );

    let (agent, address) = tcp_agent(&dir, &["--insecure"]);
    served(getevents(&["--agent", &address]));
    let (status, stderr) = agent.stop();
    assert!(status.success(), "{status}: {stderr}");
}
