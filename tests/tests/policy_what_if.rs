//! What-if gives the same matches as the live engine gave for the same events (root): record a
//! session with the IRIS policy in monitor mode, then evaluate the policy on the recording.
mod common;

use std::{
    collections::BTreeMap,
    fs,
    process::{Command, Stdio},
    thread,
    time::Duration,
};

use common::{marker_dir, require_root, shared_dir, tetrascope_bin, wait_for_attach};
use serde_json::Value;

#[test]
fn what_if_on_a_recording_matches_what_the_live_engine_did() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("what-if");
    let recording = dir.join("session.jsonl");
    let policy = shared_dir().join("policies/iris-read-file-sigkill.yaml");
    fs::create_dir_all("/usr/irissys/mgr").unwrap();
    fs::write("/usr/irissys/mgr/iris.key", "KEY\n").unwrap();
    fs::write(dir.join("other.txt"), "other\n").unwrap();

    let mut recorder = Command::new(tetrascope_bin())
        .args([
            "record",
            "--duration",
            "8s",
            "--policy-mode",
            "monitor",
            "-o",
        ])
        .arg(&recording)
        .arg("--policy")
        .arg(&policy)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_attach(&mut recorder);
    thread::sleep(Duration::from_millis(500));
    for args in [
        vec!["/usr/bin/head", "-c", "2", "/usr/irissys/mgr/iris.key"],
        vec!["/usr/bin/head", "-c", "2", "other.txt"],
        vec!["/bin/bash", "-c", "read -r x < /usr/irissys/mgr/iris.key"],
        vec!["/usr/bin/tail", "/usr/irissys/mgr/iris.key"],
    ] {
        let status = Command::new(args[0])
            .args(&args[1..])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "monitor mode: {args:?} is not killed");
    }
    assert!(recorder.wait().unwrap().success());

    // What the live engine did: its policy events, by position in the recording.
    let text = fs::read_to_string(&recording).unwrap();
    let mut live = BTreeMap::new();
    // Events of no policy (the file-access observations) are hooks' calls too: what-if may
    // match them; the comparison is on the events the policy produced.
    let mut observations = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let event: Value = serde_json::from_str(line).unwrap();
        if let Some(kprobe) = event.get("process_kprobe")
            && kprobe.get("policy_name").is_none()
        {
            observations.push(index + 1);
        }
        if let Some(kprobe) = event.get("process_kprobe")
            && kprobe["policy_name"] == "iris-read-file-sigkill"
        {
            let would_kill = kprobe["tags"]
                .as_array()
                .is_some_and(|tags| tags.iter().any(|t| t == "tetrascope:would-kill"));
            live.insert(index + 1, if would_kill { "WouldKill" } else { "Matched" });
        }
    }
    assert!(
        live.values().filter(|v| **v == "WouldKill").count() >= 3,
        "head, bash and tail each read the key: {live:?}"
    );

    let out = Command::new(tetrascope_bin())
        .args(["policy", "what-if", "--mode", "monitor", "--policy"])
        .arg(&policy)
        .arg(&recording)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut what_if = BTreeMap::new();
    for line in stdout.lines().filter(|l| l.starts_with("event ")) {
        let mut words = line.split_whitespace();
        let index: usize = words.nth(1).unwrap().parse().unwrap();
        let verdict = words.nth(3).unwrap().trim_end_matches(':');
        what_if.insert(
            index,
            if verdict == "WouldKill" {
                "WouldKill"
            } else {
                "Matched"
            },
        );
    }
    let (on_observations, on_policy_events): (BTreeMap<_, _>, BTreeMap<_, _>) = what_if
        .into_iter()
        .partition(|(index, _)| observations.contains(index));
    assert_eq!(
        on_policy_events, live,
        "what-if and the live engine disagree\n{stdout}"
    );
    assert!(
        on_observations.values().all(|v| *v == "Matched"),
        "observations of the key's opens match as opens: {on_observations:?}"
    );
}
