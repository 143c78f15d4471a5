//! Policies from the cluster (root, a real kube-apiserver): the CRDs load, a TracingPolicy
//! object is loaded by `tetrascope agent --kube`, enforces, and goes with its object; an invalid
//! object is reported by name; a TracingPolicyNamespaced applies to no host process; a user
//! without rights gets a clear message and a working agent. And the kernel's per-policy cgroup
//! filter, without Kubernetes.
mod common;

use std::{
    fs,
    os::unix::process::ExitStatusExt,
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use common::{
    agent::{Agent, TempDir},
    iris::{ensure_iris_key, exclusive, read_key},
    kube::{Cluster, install_crds, wait_until},
    pods::{NODE, TestCgroup, container_id, create_pod},
    require_root, shared_dir, tetrascope_bin,
};
use serde_json::Value;
use tetrascope::{
    policy::{model::Mode, store::PolicySource},
    sensor::SensorOptions,
    source::local::LocalSource,
};

const IRIS: &str = "iris-read-file-sigkill";

/// The IRIS policy's document as an object of `kind` named `name` (in `namespace`).
fn iris_object(kind: &str, name: &str, namespace: Option<&str>) -> String {
    let text = fs::read_to_string(shared_dir().join("policies/iris-read-file-sigkill.yaml"))
        .unwrap()
        .replace("kind: TracingPolicy", &format!("kind: {kind}"))
        .replace(&format!("name: \"{IRIS}\""), &format!("name: \"{name}\""));
    match namespace {
        Some(namespace) => text.replace(
            "metadata:\n",
            &format!("metadata:\n  namespace: {namespace}\n"),
        ),
        None => text,
    }
}

/// `tetrascope agent --kube` on a socket in `dir`.
fn kube_agent(dir: &TempDir, kubeconfig: &Path) -> Agent {
    let (socket, info) = (dir.socket("agent.sock"), dir.join("info.json"));
    let kubeconfig = kubeconfig.display().to_string();
    Agent::start(&[
        "--server-address",
        &socket,
        "--info-file",
        &info.display().to_string(),
        "--kube",
        "--kubeconfig",
        &kubeconfig,
        "--node-name",
        NODE,
    ])
}

/// `tetrascope policy list --agent ... --json`.
fn listed(dir: &TempDir) -> Vec<Value> {
    let out = Command::new(tetrascope_bin())
        .args(["policy", "list", "--json", "--agent"])
        .arg(dir.socket("agent.sock"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "policy list: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn wait_policy(dir: &TempDir, name: &str) -> Value {
    let mut found = Value::Null;
    wait_until(
        &format!("the agent lists {name}"),
        Duration::from_secs(30),
        || match listed(dir).into_iter().find(|p| p["name"] == name) {
            Some(policy) => {
                found = policy;
                true
            }
            None => false,
        },
    );
    found
}

#[test]
fn cluster_policies_load_enforce_and_unload_with_their_objects() {
    if !require_root() {
        return;
    }
    let _guard = exclusive();
    ensure_iris_key();
    let mut cluster = Cluster::start("policies");
    install_crds(&cluster);
    let dir = TempDir::new("kube-agent");
    let agent = kube_agent(&dir, &cluster.kubeconfig);

    let policies = "/apis/cilium.io/v1alpha1/tracingpolicies";
    cluster.create_yaml(policies, &iris_object("TracingPolicy", IRIS, None));
    let iris = wait_policy(&dir, IRIS);
    assert_eq!(iris["domain"], "k8s", "{iris}");
    assert_eq!(iris["enabled"], true, "{iris}");
    assert_eq!(iris["state"], "TP_STATE_ENABLED", "{iris}");
    assert_eq!(read_key().status.signal(), Some(libc::SIGKILL), "enforced");

    let bad =
        iris_object("TracingPolicy", "bad-operator", None).replace("\"Prefix\"", "\"Prefixx\"");
    cluster.create_yaml(policies, &bad);
    let line = agent.proc.wait_stderr("tracingpolicies/bad-operator");
    eprintln!("the agent: {line}");
    assert!(line.contains("operator"), "{line}");
    let names: Vec<Value> = listed(&dir).iter().map(|p| p["name"].clone()).collect();
    assert_eq!(names, [IRIS], "the invalid one is not loaded");
    assert_eq!(
        read_key().status.signal(),
        Some(libc::SIGKILL),
        "still enforced"
    );

    let (code, answer) = cluster.request_text("DELETE", &format!("{policies}/{IRIS}"), "", "");
    assert_eq!(code, 200, "{answer}");
    wait_until("the policy is unloaded", Duration::from_secs(30), || {
        listed(&dir).is_empty()
    });
    assert!(read_key().status.success(), "no longer enforced");

    // A namespaced policy applies only to the pods of its namespace: no host process.
    cluster.create_yaml(
        "/api/v1/namespaces",
        r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-a"}}"#,
    );
    cluster.create_yaml(
        "/apis/cilium.io/v1alpha1/namespaces/team-a/tracingpoliciesnamespaced",
        &iris_object("TracingPolicyNamespaced", "iris-team-a", Some("team-a")),
    );
    let namespaced = wait_policy(&dir, "iris-team-a");
    assert_eq!(namespaced["namespace"], "team-a", "{namespaced}");
    assert_eq!(namespaced["domain"], "k8s", "{namespaced}");
    assert_eq!(namespaced["enabled"], true, "{namespaced}");
    assert!(
        read_key().status.success(),
        "a host process is in no pod of team-a"
    );

    // A watch lost with the server resumes when it is back.
    cluster.stop_apiserver();
    cluster.start_apiserver();
    cluster.create_yaml(
        policies,
        &iris_object("TracingPolicy", "after-restart", None),
    );
    assert_eq!(wait_policy(&dir, "after-restart")["domain"], "k8s");
}

#[test]
fn a_user_without_rights_gets_a_clear_message_and_a_working_agent() {
    if !require_root() {
        return;
    }
    let _guard = exclusive();
    let cluster = Cluster::start("forbidden");
    install_crds(&cluster);
    let dir = TempDir::new("kube-limited");
    let mut agent = kube_agent(&dir, &cluster.limited_kubeconfig());
    let line = agent.proc.wait_stderr("is forbidden");
    eprintln!("the agent: {line}");
    assert!(line.contains("tracingpolicies"), "{line}");
    assert!(listed(&dir).is_empty(), "the agent still answers");
    assert!(agent.proc.exited().is_none(), "still running");
}

#[test]
fn a_cgroup_filter_restricts_a_policy_to_its_cgroups() {
    if !require_root() {
        return;
    }
    let _guard = exclusive();
    ensure_iris_key();
    let cgroup = TestCgroup::plain("filter");
    common::runtime().block_on(async {
        let (mut source, _, _) =
            LocalSource::start("cgroups".into(), SensorOptions::default()).unwrap();
        let iris = common::shared_policy("iris-read-file-sigkill.yaml");
        source
            .add_policy(iris, PolicySource::Api, Some(Mode::Enforce))
            .unwrap();

        source
            .set_policy_cgroups(IRIS, Some(vec![cgroup.id()]))
            .unwrap();
        assert_eq!(cgroup.read_key().signal(), Some(libc::SIGKILL), "inside");
        assert!(read_key().status.success(), "outside");

        source.set_policy_cgroups(IRIS, Some(Vec::new())).unwrap();
        assert!(cgroup.read_key().success(), "an empty set: inside");
        assert!(read_key().status.success(), "an empty set: outside");

        source.set_policy_cgroups(IRIS, None).unwrap();
        assert_eq!(read_key().status.signal(), Some(libc::SIGKILL), "no filter");
        source.remove_policy(IRIS).unwrap();
    });
}

/// A TracingPolicyNamespaced acts on the processes of its namespace's pods on this node only: a
/// reader in the container of a team-a pod is killed, one in a team-b pod's and one on the host
/// are not.
#[test]
fn a_namespaced_policy_acts_in_the_pods_of_its_namespace_only() {
    if !require_root() {
        return;
    }
    let _guard = exclusive();
    ensure_iris_key();
    let cluster = Cluster::start("namespaced");
    install_crds(&cluster);
    for namespace in ["team-a", "team-b"] {
        cluster.create(
            "/api/v1/namespaces",
            serde_json::json!({"metadata": {"name": namespace}}),
        );
    }
    let (id_a, id_b) = (container_id(1), container_id(2));
    let uid_a = create_pod(&cluster, NODE, "team-a", "iris-a", &id_a);
    let uid_b = create_pod(&cluster, NODE, "team-b", "iris-b", &id_b);
    let pod_a = TestCgroup::container(&uid_a, &id_a);
    let pod_b = TestCgroup::container(&uid_b, &id_b);
    let dir = TempDir::new("kube-namespaced");
    let _agent = kube_agent(&dir, &cluster.kubeconfig);

    cluster.create_yaml(
        "/apis/cilium.io/v1alpha1/namespaces/team-a/tracingpoliciesnamespaced",
        &iris_object("TracingPolicyNamespaced", "iris-team-a", Some("team-a")),
    );
    assert_eq!(wait_policy(&dir, "iris-team-a")["namespace"], "team-a");
    // The policy's cgroups follow the pod watch, which may list the pods a moment later.
    wait_until(
        "a reader in team-a's pod is killed",
        Duration::from_secs(30),
        || pod_a.read_key().signal() == Some(libc::SIGKILL),
    );
    assert!(pod_b.read_key().success(), "a reader in team-b's pod");
    assert!(read_key().status.success(), "a reader on the host");
}

/// Benchmark (prints numbers): from the creation of a TracingPolicy object to its load by the
/// agent and to the first reader killed, and from its deletion to the first reader spared.
#[test]
#[ignore = "a benchmark: scripts/bench.sh runs it"]
fn bench_apply_to_enforcement() {
    if !require_root() {
        return;
    }
    let _guard = exclusive();
    ensure_iris_key();
    let cluster = Cluster::start("apply-bench");
    install_crds(&cluster);
    let dir = TempDir::new("kube-bench");
    let _agent = kube_agent(&dir, &cluster.kubeconfig);
    let policies = "/apis/cilium.io/v1alpha1/tracingpolicies";
    let until = |killed: bool| {
        let start = Instant::now();
        while (read_key().status.signal() == Some(libc::SIGKILL)) != killed {
            assert!(start.elapsed() < Duration::from_secs(30), "never {killed}");
        }
        start.elapsed()
    };
    let (mut applied, mut deleted) = (Vec::new(), Vec::new());
    for round in 0..10 {
        let name = format!("iris-{round}");
        let start = Instant::now();
        cluster.create_yaml(policies, &iris_object("TracingPolicy", &name, None));
        let created = start.elapsed();
        _agent.proc.wait_stderr(&format!("{name}: loaded"));
        let loaded = start.elapsed();
        applied.push(until(true));
        println!(
            "round {round}: created in {created:?}, loaded at {loaded:?}, first kill {:?} later",
            applied.last().unwrap()
        );
        cluster.request_text("DELETE", &format!("{policies}/{name}"), "", "");
        deleted.push(until(false));
    }
    applied.sort();
    deleted.sort();
    println!(
        "kube: load to first kill: median {:?}, max {:?}; delete to release: median {:?}, max {:?} (10 rounds, readers polled back to back)",
        applied[5], applied[9], deleted[5], deleted[9]
    );
}

/// The ClusterRole `name` of deploy/kubernetes/rbac.yaml, created and bound to the user
/// `limited`.
fn grant_shipped_role(cluster: &Cluster, name: &str) {
    let rbac = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/kubernetes/rbac.yaml");
    let rbac = fs::read_to_string(rbac).unwrap();
    let role = rbac
        .split("\n---\n")
        .find(|document| {
            document.contains("kind: ClusterRole\n")
                && document.contains(&format!("name: {name}\n"))
        })
        .unwrap_or_else(|| panic!("deploy/kubernetes/rbac.yaml has no ClusterRole {name}"));
    cluster.create_yaml("/apis/rbac.authorization.k8s.io/v1/clusterroles", role);
    cluster.create(
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        serde_json::json!({
            "metadata": {"name": format!("limited-{name}")},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "limited"}],
        }),
    );
}

/// The policy pane's changes to the cluster's objects with the rights of the shipped roles: the
/// viewer may not change policies and is told which role may; the editor applies, switches
/// and deletes.
#[test]
fn policy_objects_are_changed_with_the_editor_role_only() {
    use tetrascope::{
        kube::{
            connect::{self, ClusterArgs},
            policy_edit::ClusterPolicies,
        },
        policy::model::Mode,
    };
    let cluster = Cluster::start("policy-edit");
    install_crds(&cluster);
    grant_shipped_role(&cluster, "tetrascope-viewer");
    let iris_file = shared_dir().join("policies/iris-read-file-sigkill.yaml");
    let iris = tetrascope::policy::load_file(&iris_file).unwrap();
    let object = "/apis/cilium.io/v1alpha1/tracingpolicies/iris-read-file-sigkill";
    common::runtime().block_on(async {
        let args = ClusterArgs {
            kubeconfig: Some(cluster.limited_kubeconfig()),
            context: None,
        };
        let policies = ClusterPolicies::new(connect::client(&args).await.unwrap());

        let refused = policies.apply(&iris).await.unwrap_err();
        assert!(
            refused.contains("forbidden") && refused.contains("tetrascope-policy-editor"),
            "{refused}"
        );
        assert_eq!(cluster.request("GET", object, None).0, 404);

        grant_shipped_role(&cluster, "tetrascope-policy-editor");
        // The server's authorizer learns of the binding from its own watch: a moment.
        let deadline = Instant::now() + Duration::from_secs(30);
        let applied = loop {
            match policies.apply(&iris).await {
                Ok(applied) => break applied,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("not yet: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("the editor role does not apply: {e}"),
            }
        };
        assert_eq!(
            applied[0].to_string(),
            "tracingpolicies/iris-read-file-sigkill"
        );
        let key = &applied[0];
        let mode = |object: &Value| object["spec"]["options"].to_string();
        assert_eq!(
            mode(&cluster.request("GET", object, None).1),
            "null",
            "the file's options"
        );

        policies.set_mode(key, Mode::Monitor).await.unwrap();
        let monitored = cluster.request("GET", object, None).1;
        assert_eq!(
            mode(&monitored),
            r#"[{"name":"policy-mode","value":"monitor"}]"#
        );
        assert_eq!(
            monitored["spec"]["kprobes"].as_array().map(Vec::len),
            Some(3),
            "the rest of the spec stays"
        );
        policies.set_mode(key, Mode::Enforce).await.unwrap();
        assert_eq!(
            mode(&cluster.request("GET", object, None).1),
            r#"[{"name":"policy-mode","value":"enforce"}]"#
        );

        policies.delete(key).await.unwrap();
        assert_eq!(cluster.request("GET", object, None).0, 404);
        let gone = policies.delete(key).await.unwrap_err();
        assert!(
            gone.contains("tracingpolicies/iris-read-file-sigkill: delete"),
            "{gone}"
        );
    });
}
