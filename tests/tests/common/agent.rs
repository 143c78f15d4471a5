//! Helpers of the agent tests: `tetrascope agent` and `tetrascope getevents --agent` as child
//! processes that are always killed (also when a test panics), temp directories that are
//! always removed, and the library client.
use std::{
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex, mpsc},
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;
use tetrascope::agent::{address::Address, client};

use super::tetrascope_bin;

/// How long to wait for anything a test waits for (generous: a debug build on 2 busy cores).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Short: unix socket paths are limited to 108 bytes.
        let dir = std::env::temp_dir().join(format!("ts-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// `unix://DIR/NAME`.
    pub fn socket(&self, name: &str) -> String {
        format!("unix://{}", self.join(name).display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The lines of one output of a child: as they come, and all of them so far.
pub struct Lines {
    rx: mpsc::Receiver<String>,
    all: Arc<Mutex<Vec<String>>>,
    reader: Option<thread::JoinHandle<()>>,
}

impl Lines {
    fn follow(stream: impl Read + Send + 'static) -> Self {
        let (tx, rx) = mpsc::channel();
        let all = Arc::new(Mutex::new(Vec::new()));
        let keep = all.clone();
        let reader = thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                keep.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        Lines {
            rx,
            all,
            reader: Some(reader),
        }
    }

    /// The next line (from those not yet waited for) that satisfies `wanted`, within `patience`.
    pub fn wait(&self, patience: Duration, wanted: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + patience;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) if wanted(&line) => return Some(line),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    /// Every line so far.
    pub fn all(&self) -> Vec<String> {
        self.all.lock().unwrap().clone()
    }

    pub fn text(&self) -> String {
        self.all().join("\n")
    }

    /// Waits for the end of the stream (the child has exited) and returns every line.
    fn finish(&mut self) -> Vec<String> {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.all()
    }
}

/// A tetrascope child process, SIGKILLed when dropped unless stopped before.
pub struct Proc {
    child: Child,
    pub out: Lines,
    pub err: Lines,
    exited: Option<ExitStatus>,
}

impl Proc {
    pub fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new(tetrascope_bin())
            .args(args)
            .env_remove("NODE_NAME")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tetrascope");
        let out = Lines::follow(child.stdout.take().unwrap());
        let err = Lines::follow(child.stderr.take().unwrap());
        Proc {
            child,
            out,
            err,
            exited: None,
        }
    }

    /// How it ended, if it has.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a stderr line holding `needle`; panics with everything it printed if none.
    pub fn wait_stderr(&self, needle: &str) -> String {
        self.err
            .wait(PATIENCE, |l| l.contains(needle))
            .unwrap_or_else(|| {
                panic!(
                    "no stderr line with {needle:?} in {PATIENCE:?}; stderr so far:\n{}",
                    self.err.text()
                )
            })
    }

    /// Waits for a JSON line on stdout satisfying `wanted`.
    pub fn wait_event(&self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let line = self
            .out
            .wait(PATIENCE, |l| {
                serde_json::from_str::<Value>(l).is_ok_and(|v| wanted(&v))
            })
            .unwrap_or_else(|| {
                panic!(
                    "no event {what} in {PATIENCE:?}; stderr:\n{}",
                    self.err.text()
                )
            });
        serde_json::from_str(&line).unwrap()
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Waits for the exit, killing the child if it takes longer than PATIENCE.
    pub fn wait_exit(&mut self) -> ExitStatus {
        if let Some(status) = self.exited {
            return status;
        }
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the child did not exit in {PATIENCE:?}");
            }
            thread::sleep(Duration::from_millis(20));
        };
        self.exited = Some(status);
        status
    }

    /// SIGTERM, then its exit status, its stdout lines and its stderr.
    pub fn stop(mut self) -> (ExitStatus, Vec<String>, String) {
        self.signal(libc::SIGTERM);
        let status = self.wait_exit();
        let out = self.out.finish();
        let err = self.err.finish().join("\n");
        (status, out, err)
    }

    /// SIGKILL, and the exit reaped.
    pub fn kill(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            self.exited = self.child.wait().ok();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A running `tetrascope agent`.
pub struct Agent {
    pub proc: Proc,
    /// The addresses it printed it listens on, in order.
    pub listening: Vec<String>,
}

impl Agent {
    /// Starts `tetrascope agent ARGS` and waits until every listener is up (as many as
    /// `--server-address` flags).
    pub fn start(args: &[&str]) -> Self {
        let listeners = args.iter().filter(|a| **a == "--server-address").count();
        let mut all = vec!["agent"];
        all.extend_from_slice(args);
        let mut proc = Proc::spawn(&all);
        let mut listening = Vec::new();
        let started = Instant::now();
        while listening.len() < listeners.max(1) {
            if let Some(line) = proc
                .err
                .wait(Duration::from_millis(250), |l| l.contains("listening on "))
            {
                listening.push(line.rsplit("listening on ").next().unwrap().to_string());
                continue;
            }
            let exited = proc.child.try_wait().unwrap();
            if exited.is_some() || started.elapsed() > Duration::from_secs(180) {
                proc.kill();
                thread::sleep(Duration::from_millis(100));
                panic!(
                    "the agent did not start (exit: {exited:?}); stderr:\n{}",
                    proc.err.text()
                );
            }
        }
        Agent { proc, listening }
    }

    /// A replay agent of `recording` on the unix socket `socket`, its info file in `dir`.
    pub fn replay(dir: &TempDir, socket: &str, recording: &Path, extra: &[&str]) -> Self {
        let info = dir.join(&format!("{socket}.info.json"));
        let mut args = vec![
            "--server-address".to_string(),
            dir.socket(socket),
            "--info-file".into(),
            info.display().to_string(),
            "--input".into(),
            recording.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Agent::start(&args)
    }

    /// SIGTERM; the exit status and stderr.
    pub fn stop(self) -> (ExitStatus, String) {
        let (status, _, err) = self.proc.stop();
        (status, err)
    }
}

/// The IRIS demo recording of the tests crate.
pub fn iris_session() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/iris-session.jsonl")
}

/// `tetrascope getevents -o json ARGS` (add `--agent ADDR`).
pub fn getevents(args: &[&str]) -> Proc {
    let mut all = vec!["getevents", "-o", "json"];
    all.extend_from_slice(args);
    Proc::spawn(&all)
}

/// The library client of the agent at `address` (a unix:// or host:port text).
pub async fn connect(address: &str) -> client::Client {
    let address: Address = address.parse().unwrap();
    client::Dialer::default()
        .connect(&address)
        .await
        .unwrap_or_else(|e| panic!("connecting to {address}: {e:#}"))
}

/// Runs `tetrascope ARGS` to its end (e.g. `policy list --agent ...`).
pub fn run(args: &[&str]) -> std::process::Output {
    Command::new(tetrascope_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run tetrascope")
}

/// The event type of a JSON event (its one key besides node_name, time...).
pub fn event_type(event: &Value) -> &str {
    event
        .as_object()
        .and_then(|o| {
            o.keys()
                .find(|k| k.starts_with("process_") || k.starts_with("rate_limit"))
        })
        .map_or("", String::as_str)
}

/// The text of `path` once it exists (the agent writes its info file after its "listening"
/// lines).
pub fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.is_empty()
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        thread::sleep(Duration::from_millis(20));
    }
}
