//! The real binary in a real terminal (tmux): start on a recording, navigate the tree, search,
//! open details, quit; the terminal is restored.
mod common;

use std::{
    path::Path,
    process::Command,
    thread,
    time::{Duration, Instant},
};

use common::{marker_dir, require_root, tetrascope_bin, tmux::Tmux};

/// A shell in tmux running `tetrascope replay` on the UI fixture with `options`, then printing
/// its exit status as `exited-N`.
fn replay_fixture(name: &str, options: &str) -> Tmux {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/lineage.jsonl");
    let tmux = Tmux::start(name, 120, 40);
    tmux.type_text(&format!(
        "{} replay {} {options}; echo exited-$?",
        tetrascope_bin().display(),
        fixture.display()
    ));
    tmux.send(&["Enter"]);
    tmux
}

#[test]
fn navigate_search_details_and_quit_in_a_real_terminal() {
    let tmux = replay_fixture("replay", "--speed 100");
    tmux.wait_for("the replayed tree", |s| {
        s.contains("Processes (7)") && s.contains("Events (9)")
    });

    tmux.send(&["*"]);
    tmux.wait_for("the re-exec row", |s| s.contains("↪ /usr/bin/pwd"));
    tmux.send(&["j", "j"]);

    tmux.send(&["/"]);
    tmux.type_text("iriskey");
    tmux.wait_for("the query line", |s| s.contains("/iriskey"));
    tmux.send(&["Enter"]);
    let searched = tmux.wait_for("one match", |s| s.contains("1 match "));
    assert!(
        !searched.contains("pid 303"),
        "non-matching processes are hidden:\n{searched}"
    );

    tmux.send(&["Enter"]);
    tmux.wait_for("the details of cat", |s| {
        s.contains("Process /usr/bin/cat") && s.contains("Ancestors")
    });
    tmux.send(&["Escape"]);
    tmux.wait_for("details closed", |s| !s.contains("Ancestors"));

    tmux.send(&["q"]);
    let after = tmux.wait_for("the shell again", |s| s.contains("exited-0"));
    assert!(
        !after.contains("Processes ("),
        "the alternate screen is gone:\n{after}"
    );
    // The terminal is back in cooked mode with echo on.
    tmux.type_text("stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e echo | sort | paste -sd, -");
    tmux.send(&["Enter"]);
    tmux.wait_for("cooked mode", |s| s.contains("echo,icanon"));
}

#[test]
fn a_replay_starts_part_way_paused_and_steps() {
    let tmux = replay_fixture("start", "--start 3s --paused");
    // 3 s after the first event: six events played, tini and irisdb alive, nothing playing.
    tmux.wait_for("the state at 3 s", |s| {
        s.contains("Processes (2)") && s.contains("⏸ 6 ")
    });
    tmux.send(&["."]);
    tmux.wait_for("one step: the cat exec", |s| {
        s.contains("Processes (3)") && s.contains("/usr/bin/cat")
    });
    tmux.send(&["q"]);
    tmux.wait_for("a clean exit", |s| s.contains("exited-0"));
}

#[test]
fn the_live_view_shows_new_processes_and_records_them() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("ui-record");
    for old in std::fs::read_dir(&dir).unwrap() {
        std::fs::remove_file(old.unwrap().path()).unwrap();
    }
    let tmux = Tmux::start("live", 120, 40);
    tmux.type_text(&format!(
        "cd {} && {} 2>/dev/null; echo exited-$?",
        dir.display(),
        tetrascope_bin().display()
    ));
    tmux.send(&["Enter"]);
    tmux.wait_for("the live view", |s| {
        s.contains("Processes (") && s.contains(" local ")
    });
    let status = Command::new("/usr/bin/sleep")
        .arg("0.0101")
        .status()
        .unwrap();
    assert!(status.success());
    tmux.wait_for("the new process in the stream", |s| {
        s.contains("/usr/bin/sleep 0.0101")
    });

    // R records from the live view until R again.
    tmux.send(&["R"]);
    tmux.wait_for("recording", |s| s.contains("● REC tetrascope-"));
    Command::new("/usr/bin/sleep")
        .arg("0.0102")
        .status()
        .unwrap();
    tmux.wait_for("the recorded process", |s| {
        s.contains("/usr/bin/sleep 0.0102")
    });
    tmux.send(&["R"]);
    tmux.wait_for("the recording closed", |s| s.contains("recorded "));
    tmux.send(&["q"]);
    tmux.wait_for("a clean exit", |s| s.contains("exited-0"));

    let recording = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.extension().is_some_and(|x| x == "jsonl")
                && !p.to_string_lossy().ends_with(".meta.jsonl")
        })
        .expect("a recording in the working directory");
    let out = Command::new(tetrascope_bin())
        .args(["getevents", "-o", "compact", "--input"])
        .arg(&recording)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("/usr/bin/sleep 0.0102"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The story of the policy pane, live: a loop reads the IRIS key while the policy is in monitor
/// mode (would-be kills), the user switches it to enforce (with confirmation) and the reads die,
/// then disarms all and the reads succeed again. The recording keeps the switch.
#[test]
fn the_policy_pane_switches_enforcement_live() {
    use std::{
        os::unix::process::ExitStatusExt,
        sync::{
            Arc, Mutex,
            atomic::{AtomicBool, Ordering},
        },
    };
    if !require_root() {
        return;
    }
    const KEY: &str = "/usr/irissys/mgr/iris.key";
    std::fs::create_dir_all("/usr/irissys/mgr").unwrap();
    std::fs::write(KEY, "IRIS-KEY\n").unwrap();
    let dir = marker_dir("ui-policy");
    for old in std::fs::read_dir(&dir).unwrap() {
        std::fs::remove_file(old.unwrap().path()).unwrap();
    }
    let policy = common::shared_dir().join("policies/iris-read-file-sigkill.yaml");
    let tmux = Tmux::start("policy", 160, 45);
    tmux.type_text(&format!(
        "cd {} && {} --policy {} --policy-mode monitor 2>/dev/null; echo exited-$?",
        dir.display(),
        tetrascope_bin().display(),
        policy.display()
    ));
    tmux.send(&["Enter"]);
    tmux.wait_for("the policy in the pane", |s| {
        s.contains("iris-read-file-sigkill") && s.contains("monitor")
    });
    tmux.send(&["R"]);
    tmux.wait_for("recording", |s| s.contains("● REC tetrascope-"));

    // The reader loop: every read's outcome, in order.
    let outcomes: Arc<Mutex<Vec<bool>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (outcomes, stop) = (outcomes.clone(), stop.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let status = Command::new("/usr/bin/head")
                    .args(["-c", "4", KEY])
                    .output()
                    .unwrap()
                    .status;
                let killed = status.signal() == Some(libc::SIGKILL);
                assert!(killed || status.success(), "{status:?}");
                outcomes.lock().unwrap().push(!killed);
                thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let reads_since = |from: usize| outcomes.lock().unwrap()[from..].to_vec();
    tmux.wait_for("would-be kills", |s| s.contains("would-kill "));
    assert!(
        reads_since(0).iter().all(|ok| *ok),
        "monitor mode kills nothing"
    );

    // The policy pane is the last pane: BackTab from the tree. m asks before enforcing, y enforces.
    tmux.send(&["BTab"]);
    tmux.send(&["m"]);
    tmux.wait_for("the confirmation", |s| {
        s.contains("Enforce iris-read-file-sigkill?")
    });
    let enforced_at = outcomes.lock().unwrap().len();
    tmux.send(&["y"]);
    let screen = tmux.wait_for("kills in the status bar, stream and tree", |s| {
        (s.contains(" 1 kill ") || s.contains(" kills "))
            && s.contains("✖ killed by iris-read-file-sigkill")
            && s.contains("ENFORCE")
    });
    assert!(
        screen.contains("read"),
        "the killing read is in the stream:\n{screen}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !reads_since(enforced_at).contains(&false) {
        assert!(
            Instant::now() < deadline,
            "no read was killed after enforcing"
        );
        thread::sleep(Duration::from_millis(100));
    }

    // Disarm all: reads succeed again.
    tmux.send(&["D"]);
    tmux.wait_for("disarmed", |s| {
        s.contains("disarmed: 1 policies switched to monitor")
    });
    // The read under way when D was pressed may still have been enforced: count from the next.
    let disarmed_at = outcomes.lock().unwrap().len() + 1;
    let deadline = Instant::now() + Duration::from_secs(20);
    while outcomes.lock().unwrap().len() < disarmed_at + 3 {
        assert!(Instant::now() < deadline, "the reader stalled");
        thread::sleep(Duration::from_millis(100));
    }
    assert!(
        reads_since(disarmed_at).iter().all(|ok| *ok),
        "reads succeed after disarming: {:?}",
        reads_since(enforced_at)
    );
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap();

    tmux.send(&["R"]);
    tmux.wait_for("the recording closed", |s| s.contains("recorded "));
    tmux.send(&["q"]);
    tmux.wait_for("a clean exit", |s| s.contains("exited-0"));
    let sidecar = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".meta.jsonl"))
        .expect("the recording's sidecar");
    let meta = std::fs::read_to_string(sidecar).unwrap();
    for change in [
        r#""change":"loaded""#,
        r#""change":"enforce""#,
        r#""change":"monitor""#,
    ] {
        assert!(meta.contains(change), "the sidecar notes {change}:\n{meta}");
    }
    // The recording holds everything the host did meanwhile: do not leave it behind.
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_ui_merges_agents_with_their_nodes_and_follows_their_connections() {
    use common::agent::{Agent, TempDir};
    let dir = TempDir::new("ui-agents");
    let iris = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/iris-session.jsonl");
    let seed = common::shared_dir().join("fixtures/seed-events.jsonl");
    let speed = ["--speed", "20"];
    let a = Agent::replay(&dir, "a.sock", &iris, &speed);
    let _b = Agent::replay(&dir, "b.sock", &seed, &speed);
    let tmux = Tmux::start("agents", 170, 40);
    tmux.type_text(&format!(
        "{} --agent {} --agent {} --agent {}; echo exited-$?",
        tetrascope_bin().display(),
        dir.socket("a.sock"),
        dir.socket("b.sock"),
        dir.socket("missing.sock"),
    ));
    tmux.send(&["Enter"]);
    let screen = tmux.wait_for("both nodes, a node column and the missing agent", |s| {
        s.contains("demo-node ●")
            && s.contains("kind-worker2 ●")
            && s.contains("kind-worker2 🚀")
            && s.contains("[demo-node]")
            && s.contains("✖ No such file or directory")
    });
    assert!(screen.contains("[kind-worker2]"), "{screen}");

    // An agent that goes away is shown down, and back when it returns.
    drop(a);
    tmux.wait_for("the lost agent", |s| s.contains("demo-node ✖"));
    let _a = Agent::replay(&dir, "a.sock", &iris, &speed);
    tmux.wait_for("the agent back", |s| s.contains("demo-node ●"));
    tmux.send(&["q"]);
    tmux.wait_for("a clean exit", |s| s.contains("exited-0"));
}

#[test]
fn the_policy_pane_enforces_and_deletes_an_agents_policy() {
    use common::agent::{Agent, TempDir};
    use std::os::unix::process::ExitStatusExt;
    if !require_root() {
        return;
    }
    const KEY: &str = "/usr/irissys/mgr/iris.key";
    std::fs::create_dir_all("/usr/irissys/mgr").unwrap();
    std::fs::write(KEY, "IRIS-KEY\n").unwrap();
    let dir = TempDir::new("ui-agent-policy");
    let socket = dir.socket("live.sock");
    let info = dir.join("live.json").display().to_string();
    let _agent = Agent::start(&[
        "--server-address",
        &socket,
        "--info-file",
        &info,
        "--no-syscalls",
        "--no-files",
    ]);
    let policy = common::shared_dir().join("policies/iris-read-file-sigkill.yaml");
    let tmux = Tmux::start("agent-policy", 170, 45);
    tmux.type_text(&format!(
        "{} --agent {socket} 2>/dev/null; echo exited-$?",
        tetrascope_bin().display(),
    ));
    tmux.send(&["Enter"]);
    tmux.wait_for("the agent", |s| s.contains(" ●"));
    tmux.send(&["o"]);
    tmux.type_text(&policy.display().to_string());
    tmux.send(&["Enter"]);
    tmux.wait_for("the policy, added in monitor mode", |s| {
        s.contains("iris-read-file-sigkill") && s.contains("monitor") && s.contains(": added")
    });
    let read = || {
        Command::new("/usr/bin/head")
            .args(["-c", "4", KEY])
            .output()
            .unwrap()
    };
    assert!(read().status.success(), "monitor mode kills nothing");

    tmux.send(&["BTab"]);
    tmux.send(&["m"]);
    tmux.wait_for("the confirmation", |s| {
        s.contains("Enforce iris-read-file-sigkill on agent")
    });
    tmux.send(&["y"]);
    tmux.wait_for("enforce on the agent", |s| s.contains("ENFORCE"));
    let killed = read();
    assert_eq!(killed.status.signal(), Some(libc::SIGKILL), "{killed:?}");
    assert!(killed.stdout.is_empty());
    tmux.wait_for("the kill in the UI", |s| {
        s.contains("✖ killed by iris-read-file-sigkill")
    });

    tmux.send(&["x"]);
    tmux.wait_for("the policy gone", |s| s.contains("No policy loaded"));
    assert!(read().status.success(), "a deleted policy kills nothing");
    tmux.send(&["q"]);
    tmux.wait_for("a clean exit", |s| s.contains("exited-0"));
}
