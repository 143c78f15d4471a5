//! Helpers shared by the integration tests: the built binary, root checks, live captures.
#![allow(dead_code)] // each test file uses its own subset

pub mod engine;
pub mod kube;
pub mod kubelet;
pub mod net;
pub mod pki;
pub mod pods;
pub mod tmux;
pub mod vm;

use std::{
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

pub mod agent;
pub mod iris;

use serde_json::Value;

/// The `tetrascope` binary of this build (target/<profile>/tetrascope, beside our deps dir).
pub fn tetrascope_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("tetrascope");
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build --workspace --bins` (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// The team folder beside the repository.
pub fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

/// Live tests load eBPF programs: they need root. They fail, loudly, without it, unless the
/// caller opts out with TETRASCOPE_SKIP_ROOT_TESTS=1 (returns false then).
pub fn require_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var_os("TETRASCOPE_SKIP_ROOT_TESTS").is_some() {
        eprintln!("not root and TETRASCOPE_SKIP_ROOT_TESTS set: skipping a live test");
        return false;
    }
    panic!("live probe tests need root (set TETRASCOPE_SKIP_ROOT_TESTS=1 to skip them)");
}

/// Waits until a spawned tetrascope (stderr piped) has attached its probes; its stderr keeps
/// being drained in the background so that it never blocks on it.
pub fn wait_for_attach(child: &mut Child) -> String {
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().expect("stderr piped");
    thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    loop {
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(line) if line.contains("probes attached") => return line,
            Ok(_) => continue,
            Err(e) => {
                let _ = child.kill();
                panic!(
                    "tetrascope did not attach its probes ({e}); exit: {:?}",
                    child.wait()
                );
            }
        }
    }
}

/// A running `tetrascope getevents -o json` on the live probes.
pub struct LiveCapture {
    child: Child,
    stdout: thread::JoinHandle<Vec<String>>,
    stderr_lines: mpsc::Receiver<String>,
    pub startup_line: String,
}

impl LiveCapture {
    /// Starts the capture and waits until the probes are attached.
    pub fn start(extra_args: &[&str]) -> Self {
        let mut child = Command::new(tetrascope_bin())
            .args(["getevents", "-o", "json"])
            .args(extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tetrascope");
        let mut out = child.stdout.take().unwrap();
        let stdout = thread::spawn(move || {
            let mut text = String::new();
            out.read_to_string(&mut text).expect("read stdout");
            text.lines().map(str::to_string).collect()
        });
        let (tx, stderr_lines) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let startup_line = loop {
            match stderr_lines.recv_timeout(Duration::from_secs(120)) {
                Ok(line) if line.contains("probes attached") => break line,
                Ok(_) => continue,
                Err(e) => {
                    let _ = child.kill();
                    let status = child.wait();
                    panic!("tetrascope did not attach its probes ({e}); exit: {status:?}");
                }
            }
        };
        Self {
            child,
            stdout,
            stderr_lines,
            startup_line,
        }
    }

    /// The tetrascope process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a stderr line holding `needle` (e.g. a policy's "enabled" line) and returns it.
    pub fn wait_stderr(&self, needle: &str) -> String {
        loop {
            match self.stderr_lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => continue,
                Err(e) => panic!("tetrascope never printed {needle:?} on stderr ({e})"),
            }
        }
    }

    /// Stops it with SIGTERM and returns the events it printed and the rest of its stderr.
    pub fn stop(mut self) -> (Vec<Value>, String) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().expect("wait tetrascope");
        let lines = self.stdout.join().expect("stdout reader");
        let stderr: Vec<String> = self.stderr_lines.try_iter().collect();
        assert!(
            status.success(),
            "tetrascope exited with {status}: {stderr:?}"
        );
        let events = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
            .collect();
        (events, stderr.join("\n"))
    }
}

/// JSON lines as events (the model types take events).
pub fn decode_events(values: &[Value]) -> Vec<tetrascope::event::Event> {
    values
        .iter()
        .map(|v| serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{v}: {e}")))
        .collect()
}

/// Whether process `pid` holds a raw tracepoint link (the syscall counter), from its fdinfo.
pub fn holds_raw_tracepoint(pid: u32) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return false;
    };
    fds.filter_map(Result::ok).any(|fd| {
        std::fs::read_to_string(fd.path())
            .is_ok_and(|info| info.contains("link_type:\traw_tracepoint"))
    })
}

/// The exec events (the `process_exec` object of each).
pub fn execs(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter_map(|e| e.get("process_exec"))
        .collect()
}

pub fn exits(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter_map(|e| e.get("process_exit"))
        .collect()
}

/// `(node, ktime, pid)` decoded from an exec_id.
pub fn decode_exec_id(exec_id: &str) -> (String, u64, u32) {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(exec_id)
        .expect("exec_id is base64");
    let text = String::from_utf8(raw).expect("exec_id is text");
    let mut parts = text.rsplitn(3, ':');
    let pid = parts.next().unwrap().parse().unwrap();
    let ktime = parts.next().unwrap().parse().unwrap();
    (parts.next().unwrap().to_string(), ktime, pid)
}

/// A fresh directory for a test's processes to run in, so their events are easy to pick out.
/// Runs `program ARGS` in `dir` and waits for it.
pub fn run_in(dir: &Path, program: &str, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("spawn")
}

pub fn marker_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tetrascope-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap()
}

/// The UI fixture (tests/fixtures/lineage.jsonl) replayed into an App, all of it, at `base`.
pub fn app_with_fixture(base: std::time::Instant) -> tetrascope::ui::App {
    use tetrascope::{
        record::ReadItem,
        source::replay::{ReplayOptions, ReplaySource},
        ui::{App, SourceStatus},
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/lineage.jsonl");
    let options = ReplayOptions {
        speed: None,
        paused: false,
    };
    let mut replay = ReplaySource::open(&path, options).unwrap();
    let mut app = App::new(SourceStatus {
        name: "replay lineage.jsonl".into(),
        ..SourceStatus::default()
    });
    while let Some(item) = replay.step().unwrap() {
        if let ReadItem::Event(event) = item {
            app.ingest(event, base);
        }
    }
    app
}

/// The shell call-out scenario in `dir`: the outer shell calls out through bash (which execs
/// `pwd -L` in place), then runs `pwd -P` itself, then exits with `status`. The explicit exit
/// keeps the shell from exec'ing its last command in place.
pub fn run_callout_scenario(dir: &Path, status: i32) {
    let script = format!(r#"/bin/bash -p -c "/usr/bin/pwd -L"; /usr/bin/pwd -P; exit {status}"#);
    let done = Command::new("/bin/bash")
        .args(["--norc", "-c", &script])
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(done.code(), Some(status));
}

/// The IRIS policy fixture (tests/fixtures/iris-session.jsonl: monitor, then enforce) replayed
/// into an App up to `events` events (all when None), with the policies as recorded there.
pub fn app_with_iris_session(events: Option<u64>, base: std::time::Instant) -> tetrascope::ui::App {
    use tetrascope::{
        record::{ReadItem, Recording},
        source::replay::{ReplayOptions, ReplaySource},
        ui::{App, SourceStatus, action::Action, recorded_rows},
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/iris-session.jsonl");
    let options = ReplayOptions {
        speed: None,
        paused: false,
    };
    let mut replay = ReplaySource::open(&path, options).unwrap();
    let mut app = App::new(SourceStatus {
        name: "replay iris-session.jsonl".into(),
        ..SourceStatus::default()
    });
    while events.is_none_or(|n| replay.position() < n) {
        match replay.step().unwrap() {
            Some(ReadItem::Event(event)) => app.ingest(event, base),
            Some(_) => {}
            None => break,
        }
    }
    let recording = Recording::open(&path).unwrap();
    app.policies
        .set_rows(recorded_rows(&recording, replay.position()));
    app.handle(Action::ExpandAll, 10);
    app
}

/// Draws `app` once as the UI does and returns the buffer with its styles, as insta stores it.
pub fn render(
    app: &mut tetrascope::ui::App,
    theme: &tetrascope::ui::theme::Theme,
    size: (u16, u16),
    now: std::time::Instant,
) -> String {
    use ratatui::{Terminal, backend::TestBackend};
    use tetrascope::ui::{Look, TreeCache, draw, keys::KeyMap};
    let keys = KeyMap::defaults();
    let look = Look {
        theme,
        keys: &keys,
        now,
    };
    let mut terminal = Terminal::new(TestBackend::new(size.0, size.1)).unwrap();
    let mut cache = TreeCache::default();
    terminal
        .draw(|frame| draw(frame, app, &mut cache, &look))
        .unwrap();
    format!("{:?}", terminal.backend().buffer())
}

/// A single-threaded runtime for tests that start the live source in-process (its ring buffer
/// registers with the runtime).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The first policy of a file under ../shared/policies.
pub fn shared_policy(name: &str) -> tetrascope::policy::model::TracingPolicy {
    tetrascope::policy::load_file(&shared_dir().join("policies").join(name))
        .unwrap()
        .remove(0)
}
