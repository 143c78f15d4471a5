//! A real kube-apiserver and etcd on loopback, one pair per test (../shared/kube-testing.md):
//! throwaway certificates, RBAC on, an admin kubeconfig and a token per test user.
use super::pki::{make_ca, openssl, signed_cert};
use std::{
    fs,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

pub struct Cluster {
    etcd: Child,
    apiserver: Child,
    /// How the apiserver was started, to start it again.
    apiserver_command: (PathBuf, Vec<String>),
    pub dir: PathBuf,
    /// An admin (system:masters) kubeconfig.
    pub kubeconfig: PathBuf,
    /// `https://127.0.0.1:PORT`
    pub server: String,
}

/// The token of the user `limited` (no RBAC bindings: everything is forbidden to it).
pub const LIMITED_TOKEN: &str = "limited-token-0123456789";

/// The cached kube-apiserver (scripts/kube-apiserver.sh builds it once per machine), or the one
/// `TETRASCOPE_KUBE_APISERVER` names.
pub fn apiserver_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("TETRASCOPE_KUBE_APISERVER") {
        return PathBuf::from(path);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/kube-apiserver.sh");
    let out = Command::new("bash")
        .arg(&script)
        .stderr(Stdio::inherit())
        .output()
        .expect("running scripts/kube-apiserver.sh");
    assert!(out.status.success(), "scripts/kube-apiserver.sh failed");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    /// Starts etcd and the apiserver and waits until the apiserver is ready.
    pub fn start(name: &str) -> Cluster {
        let binary = apiserver_binary();
        let dir =
            std::env::temp_dir().join(format!("tetrascope-kube-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        make_ca(&dir);
        signed_cert(
            &dir,
            "server",
            "/CN=kube-apiserver",
            Some("IP:127.0.0.1,DNS:localhost"),
        );
        signed_cert(&dir, "admin", "/O=system:masters/CN=admin", None);
        openssl(&dir, &["genrsa", "-out", "sa.key", "2048"]);
        openssl(&dir, &["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);
        fs::write(
            dir.join("tokens.csv"),
            format!("{LIMITED_TOKEN},limited,1001\n"),
        )
        .unwrap();

        let (client, peer, secure) = (free_port(), free_port(), free_port());
        let etcd = Command::new("etcd")
            .arg(format!("--data-dir={}", dir.join("etcd").display()))
            .arg(format!("--listen-client-urls=http://127.0.0.1:{client}"))
            .arg(format!("--advertise-client-urls=http://127.0.0.1:{client}"))
            .arg(format!("--listen-peer-urls=http://127.0.0.1:{peer}"))
            .arg(format!(
                "--initial-advertise-peer-urls=http://127.0.0.1:{peer}"
            ))
            .arg(format!("--initial-cluster=default=http://127.0.0.1:{peer}"))
            .arg("--unsafe-no-fsync")
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.join("etcd.log")).unwrap())
            .spawn()
            .expect("etcd is installed (scripts/kube-apiserver.sh installs it)");
        let file = |name: &str| dir.join(name).display().to_string();
        let args = vec![
            format!("--etcd-servers=http://127.0.0.1:{client}"),
            "--bind-address=127.0.0.1".into(),
            format!("--secure-port={secure}"),
            format!("--tls-cert-file={}", file("server.crt")),
            format!("--tls-private-key-file={}", file("server.key")),
            format!("--client-ca-file={}", file("ca.crt")),
            format!("--service-account-key-file={}", file("sa.pub")),
            format!("--service-account-signing-key-file={}", file("sa.key")),
            "--service-account-issuer=https://kubernetes.default.svc".into(),
            format!("--token-auth-file={}", file("tokens.csv")),
            "--authorization-mode=RBAC".into(),
            "--disable-admission-plugins=ServiceAccount".into(),
            "--endpoint-reconciler-type=none".into(),
            "--allow-privileged=true".into(),
            "--service-cluster-ip-range=10.96.0.0/24".into(),
            // Port-forwards go to a kubelet stand-in, which accepts the admin certificate.
            format!("--kubelet-client-certificate={}", file("admin.crt")),
            format!("--kubelet-client-key={}", file("admin.key")),
            "--kubelet-preferred-address-types=InternalIP".into(),
        ];
        let apiserver = spawn_apiserver(&binary, &args, &dir);
        let server = format!("https://127.0.0.1:{secure}");
        let kubeconfig = dir.join("kubeconfig");
        fs::write(&kubeconfig, kubeconfig_text(&dir, &server)).unwrap();
        let cluster = Cluster {
            etcd,
            apiserver,
            apiserver_command: (binary, args),
            dir,
            kubeconfig,
            server,
        };
        cluster.wait_ready();
        cluster
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let out = Command::new("curl")
                .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"])
                .arg(self.dir.join("ca.crt"))
                .arg("--cert")
                .arg(self.dir.join("admin.crt"))
                .arg("--key")
                .arg(self.dir.join("admin.key"))
                .arg(format!("{}/readyz", self.server))
                .output()
                .unwrap();
            if out.stdout == b"200" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the apiserver never became ready; its log:\n{}",
                fs::read_to_string(self.dir.join("apiserver.log")).unwrap_or_default()
            );
            thread::sleep(Duration::from_millis(250));
        }
    }

    /// Stops the apiserver (etcd keeps the data); [`Self::start_apiserver`] brings it back.
    pub fn stop_apiserver(&mut self) {
        let _ = self.apiserver.kill();
        let _ = self.apiserver.wait();
    }

    /// Starts the apiserver again, as before, and waits until it is ready.
    pub fn start_apiserver(&mut self) {
        let (binary, args) = &self.apiserver_command;
        self.apiserver = spawn_apiserver(binary, args, &self.dir);
        self.wait_ready();
    }

    /// An API request as the admin: `method` on `path` (e.g. `/api/v1/namespaces`) with a
    /// text body of `content_type` (none when empty); the status code and the answer's text.
    pub fn request_text(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> (u16, String) {
        let mut curl = Command::new("curl");
        curl.args(["-s", "-w", "\n%{http_code}", "-X", method, "--cacert"])
            .arg(self.dir.join("ca.crt"))
            .arg("--cert")
            .arg(self.dir.join("admin.crt"))
            .arg("--key")
            .arg(self.dir.join("admin.key"))
            .arg(format!("{}{path}", self.server));
        if !body.is_empty() {
            curl.args(["-H", &format!("Content-Type: {content_type}")])
                .args(["--data-binary", body]);
        }
        let out = curl.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (answer, code) = text.rsplit_once('\n').unwrap_or(("", &text));
        (code.trim().parse().unwrap_or(0), answer.to_owned())
    }

    /// [`Self::request_text`] with JSON (a merge patch for PATCH) both ways.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let content_type = if method == "PATCH" {
            "application/merge-patch+json"
        } else {
            "application/json"
        };
        let body = body.map(ToString::to_string).unwrap_or_default();
        let (code, answer) = self.request_text(method, path, content_type, &body);
        (
            code,
            serde_json::from_str(&answer).unwrap_or(serde_json::Value::Null),
        )
    }

    /// Creates an object written in YAML (POST to `path`), asserting that the server took it.
    pub fn create_yaml(&self, path: &str, yaml: &str) {
        let (code, answer) = self.request_text("POST", path, "application/yaml", yaml);
        assert!(code == 201 || code == 200, "POST {path}: {code} {answer}");
    }

    /// Creates an object (POST to `path`), asserting that the server accepted it.
    pub fn create(&self, path: &str, object: serde_json::Value) -> serde_json::Value {
        let (code, answer) = self.request("POST", path, Some(&object));
        assert!(code == 201 || code == 200, "POST {path}: {code} {answer}");
        answer
    }

    /// Merge-patches the object at `path` (e.g. a `/status` subresource), asserting success.
    pub fn patch(&self, path: &str, patch: serde_json::Value) -> serde_json::Value {
        let (code, answer) = self.request("PATCH", path, Some(&patch));
        assert_eq!(code, 200, "PATCH {path}: {answer}");
        answer
    }

    /// A kubeconfig for the user `limited` (a token with no rights).
    pub fn limited_kubeconfig(&self) -> PathBuf {
        let path = self.dir.join("limited.kubeconfig");
        let text = kubeconfig_text(&self.dir, &self.server).replace(
            &format!(
                "client-certificate: {}\n    client-key: {}",
                self.dir.join("admin.crt").display(),
                self.dir.join("admin.key").display()
            ),
            &format!("token: {LIMITED_TOKEN}"),
        );
        fs::write(&path, text).unwrap();
        path
    }
}

fn spawn_apiserver(binary: &Path, args: &[String], dir: &Path) -> Child {
    Command::new(binary)
        .args(args)
        .stdout(Stdio::null())
        .stderr(
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("apiserver.log"))
                .unwrap(),
        )
        .spawn()
        .unwrap()
}

fn kubeconfig_text(dir: &Path, server: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: {server}
    certificate-authority: {ca}
users:
- name: admin
  user:
    client-certificate: {cert}
    client-key: {key}
contexts:
- name: test
  context:
    cluster: test
    user: admin
current-context: test
",
        ca = dir.join("ca.crt").display(),
        cert = dir.join("admin.crt").display(),
        key = dir.join("admin.key").display(),
    )
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in [&mut self.apiserver, &mut self.etcd] {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Polls `done` until it holds; fails the test after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(200));
    }
}

/// Creates both CRDs from deploy/crds and waits until the server serves them.
pub fn install_crds(cluster: &Cluster) {
    let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds");
    for plural in ["tracingpolicies", "tracingpoliciesnamespaced"] {
        let manifest = fs::read_to_string(crds.join(format!("cilium.io_{plural}.yaml"))).unwrap();
        let path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
        cluster.create_yaml(path, &manifest);
        wait_until(
            &format!("{plural}.cilium.io is established"),
            Duration::from_secs(30),
            || {
                let (_, body) =
                    cluster.request_text("GET", &format!("{path}/{plural}.cilium.io"), "", "");
                let crd: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                crd["status"]["conditions"]
                    .as_array()
                    .is_some_and(|conditions| {
                        conditions
                            .iter()
                            .any(|c| c["type"] == "Established" && c["status"] == "True")
                    })
            },
        );
    }
}
