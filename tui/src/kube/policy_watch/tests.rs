use kube::core::{DynamicObject, Status};
use serde_json::json;

use super::*;

fn object(kind: PolicyKind, name: &str, namespace: Option<&str>, prefix: &str) -> DynamicObject {
    let spec = json!({"kprobes": [{
        "call": "__x64_sys_openat",
        "syscall": true,
        "args": [{"index": 1, "type": "string"}],
        "selectors": [{"matchArgs": [{"index": 1, "operator": "Prefix", "values": [prefix]}]}],
    }]});
    let object = DynamicObject::new(name, &policy_object::api_resource(kind));
    match namespace {
        Some(namespace) => object.within(namespace),
        None => object,
    }
    .data(json!({ "spec": spec }))
}

fn cluster(name: &str, prefix: &str) -> DynamicObject {
    object(PolicyKind::TracingPolicy, name, None, prefix)
}

/// Feeds events of the cluster-wide kind; the changes as `applied NAME` / `deleted NAME`.
fn feed(tracker: &mut Tracker, events: Vec<watcher::Event<DynamicObject>>) -> Vec<String> {
    events
        .into_iter()
        .flat_map(|event| tracker.event(PolicyKind::TracingPolicy, Ok(event), &NoPods))
        .map(label)
        .collect()
}

/// A change as `applied NAME`, `deleted NAME` or `MODE NAME`.
fn label(change: PolicyChange) -> String {
    match change {
        PolicyChange::Applied { object, .. } => format!("applied {object}"),
        PolicyChange::ModeChanged { object, mode } => format!("{mode:?} {object}"),
        PolicyChange::Deleted { object } => format!("deleted {object}"),
    }
}

#[test]
fn a_relist_repeats_nothing_and_finds_the_objects_deleted_meanwhile() {
    use watcher::Event::*;
    let mut tracker = Tracker::default();
    let first = feed(
        &mut tracker,
        vec![
            Init,
            InitApply(cluster("a", "/a")),
            InitApply(cluster("b", "/b")),
            InitDone,
        ],
    );
    assert_eq!(
        first,
        ["applied tracingpolicies/a", "applied tracingpolicies/b"]
    );
    // The watch was lost, the list is too old (410): a new list without b.
    let relisted = feed(
        &mut tracker,
        vec![Init, InitApply(cluster("a", "/a")), InitDone],
    );
    assert_eq!(relisted, ["deleted tracingpolicies/b"]);
}

#[test]
fn a_changed_object_is_applied_again_and_a_repeat_is_not() {
    let mut tracker = Tracker::default();
    let changes = feed(
        &mut tracker,
        vec![
            watcher::Event::Apply(cluster("a", "/a")),
            watcher::Event::Apply(cluster("a", "/a")),
            watcher::Event::Apply(cluster("a", "/changed")),
            watcher::Event::Delete(cluster("a", "/changed")),
        ],
    );
    assert_eq!(
        changes,
        [
            "applied tracingpolicies/a",
            "applied tracingpolicies/a",
            "deleted tracingpolicies/a"
        ]
    );
}

#[test]
fn a_change_of_mode_alone_switches_the_mode_without_a_reload() {
    let mut tracker = Tracker::default();
    let mut monitor = cluster("a", "/a");
    monitor.data["spec"]["options"] = json!([{"name": "policy-mode", "value": "monitor"}]);
    let mut enforce = monitor.clone();
    enforce.data["spec"]["options"][0]["value"] = json!("enforce");
    let changes = feed(
        &mut tracker,
        vec![
            watcher::Event::Apply(monitor.clone()),
            watcher::Event::Apply(enforce),
            watcher::Event::Apply(cluster("a", "/a")),
            watcher::Event::Apply(monitor),
        ],
    );
    assert_eq!(
        changes,
        [
            "applied tracingpolicies/a",
            "Enforce tracingpolicies/a",
            // No option: enforce, Tetragon's default.
            "Enforce tracingpolicies/a",
            "Monitor tracingpolicies/a",
        ]
    );
}

#[test]
fn an_invalid_object_changes_nothing() {
    let mut tracker = Tracker::default();
    let mut bad = cluster("bad", "/a");
    bad.data["spec"]["kprobes"][0]["selectors"][0]["matchArgs"][0]["operator"] = json!("Prefixx");
    assert!(feed(&mut tracker, vec![watcher::Event::Apply(bad)]).is_empty());
}

#[test]
fn a_namespaced_policy_gets_the_cgroups_of_its_workloads() {
    struct Fixed;
    impl WorkloadCgroups for Fixed {
        fn cgroups(&self, policy: &TracingPolicy) -> Vec<u64> {
            assert_eq!(policy.namespace.as_deref(), Some("team-a"));
            vec![7]
        }
    }
    let mut tracker = Tracker::default();
    let kind = PolicyKind::TracingPolicyNamespaced;
    let event = watcher::Event::Apply(object(kind, "p", Some("team-a"), "/a"));
    let changes = tracker.event(kind, Ok(event), &Fixed);
    let [
        PolicyChange::Applied {
            object, cgroups, ..
        },
    ] = changes.as_slice()
    else {
        panic!("{changes:?}");
    };
    assert_eq!(object.to_string(), "tracingpoliciesnamespaced/team-a/p");
    assert_eq!(cgroups.as_deref(), Some(&[7][..]));

    let mut tracker = Tracker::default();
    let event = watcher::Event::Apply(cluster("everywhere", "/a"));
    let changes = tracker.event(PolicyKind::TracingPolicy, Ok(event), &Fixed);
    assert!(
        matches!(&changes[..], [PolicyChange::Applied { cgroups: None, .. }]),
        "a cluster-wide policy without selectors is not filtered: {changes:?}"
    );
}

#[test]
fn a_forbidden_watch_says_so_and_what_to_grant() {
    let status = Status::failure(
        "tracingpolicies.cilium.io is forbidden: User \"x\"",
        "Forbidden",
    )
    .with_code(403);
    let error = watcher::Error::InitialListFailed(kube::Error::Api(Box::new(status)));
    let message = describe(PolicyKind::TracingPolicy, &error);
    assert_eq!(
        message,
        "watching tracingpolicies is forbidden: tracingpolicies.cilium.io is forbidden: User \"x\" \
         (grant list and watch on tracingpolicies.cilium.io; retrying)"
    );
}

/// The policy watch end to end, on a scripted API server.
mod scripted {
    use std::sync::Mutex;

    use serde_json::Value;

    use super::*;
    use crate::kube::test_server::{self, ApiServer, bookmark, event, expired};

    const POLICIES: &str = "/apis/cilium.io/v1alpha1/tracingpolicies";

    struct Watch {
        server: ApiServer,
        changes: mpsc::Receiver<PolicyChange>,
        reports: Arc<Mutex<Vec<String>>>,
    }

    impl Watch {
        /// `watch_policies` on a client of a scripted server; the namespaced kind has no
        /// objects.
        fn start() -> Self {
            let (client, server) = test_server::client();
            let (sender, changes) = mpsc::channel(16);
            let reports = Arc::<Mutex<Vec<String>>>::default();
            let report = {
                let reports = reports.clone();
                move |line| reports.lock().unwrap().push(line)
            };
            tokio::spawn(watch_reporting(client, Arc::new(NoPods), sender, report));
            Watch {
                server,
                changes,
                reports,
            }
        }

        /// The changes sent so far, as `applied NAME` / `deleted NAME`.
        fn changes(&mut self) -> Vec<String> {
            std::iter::from_fn(|| self.changes.try_recv().ok())
                .map(super::label)
                .collect()
        }

        fn reports(&self) -> Vec<String> {
            self.reports.lock().unwrap().clone()
        }
    }

    /// A TracingPolicy as the server sends it, at `resource_version`.
    fn policy(name: &str, prefix: &str, resource_version: &str) -> Value {
        let mut object = serde_json::to_value(cluster(name, prefix)).unwrap();
        object["metadata"]["resourceVersion"] = resource_version.into();
        object
    }

    #[tokio::test(start_paused = true)]
    async fn a_watch_too_old_relists_and_changes_only_what_changed_meanwhile() {
        let mut watch = Watch::start();
        let list = watch.server.list(POLICIES).await;
        list.list("10", vec![policy("a", "/a", "1"), policy("b", "/b", "2")]);
        let resumed = watch.server.watch(POLICIES).await;
        assert_eq!(resumed.query("resourceVersion").as_deref(), Some("10"));
        assert_eq!(
            watch.changes(),
            ["applied tracingpolicies/a", "applied tracingpolicies/b"]
        );
        // The server has compacted past 10 meanwhile: a must be listed anew.
        resumed.watch(vec![expired()]);
        let relist = watch.server.list(POLICIES).await;
        relist.list("20", vec![policy("a", "/a", "1"), policy("c", "/c", "12")]);
        let watching = watch.server.watch(POLICIES).await;
        assert_eq!(watching.query("resourceVersion").as_deref(), Some("20"));
        assert_eq!(
            watch.changes(),
            ["applied tracingpolicies/c", "deleted tracingpolicies/b"]
        );
        assert_eq!(watch.reports(), [] as [String; 0], "a 410 is routine");
    }

    #[tokio::test(start_paused = true)]
    async fn a_watch_that_ends_resumes_from_the_last_version_seen() {
        let mut watch = Watch::start();
        let list = watch.server.list(POLICIES).await;
        list.list("10", vec![policy("a", "/a", "1")]);
        let first = watch.server.watch(POLICIES).await;
        first.watch(vec![
            event("MODIFIED", &policy("a", "/changed", "11")),
            bookmark("cilium.io/v1alpha1", "TracingPolicy", "15"),
        ]);
        let resumed = watch.server.next(POLICIES).await;
        assert!(resumed.is_watch(), "resumed, not listed again");
        assert_eq!(resumed.query("resourceVersion").as_deref(), Some("15"));
        // The connection breaks after an object: resumed from that object's version.
        let open = resumed.open_watch(vec![event("ADDED", &policy("c", "/c", "16"))]);
        open.break_off();
        let resumed = watch.server.next(POLICIES).await;
        assert!(resumed.is_watch(), "resumed, not listed again");
        assert_eq!(resumed.query("resourceVersion").as_deref(), Some("16"));
        let _open = resumed.open_watch(Vec::new());
        // The break is reported, and so is the resumed watch working (without any event).
        let recovered = async {
            while watch.reports().len() < 2 {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), recovered)
            .await
            .unwrap_or_else(|_| panic!("not reported as working again: {:?}", watch.reports()));
        let reports = watch.reports();
        assert!(
            reports[0]
                == "watching tracingpolicies: Error reading events stream: ServiceError: \
                    connection reset (retrying)",
            "{reports:?}"
        );
        assert_eq!(reports[1..], ["watching tracingpolicies again"]);
        assert_eq!(
            watch.changes(),
            [
                "applied tracingpolicies/a",
                "applied tracingpolicies/a",
                "applied tracingpolicies/c"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_forbidden_list_is_reported_once_and_retried_until_it_works() {
        let mut watch = Watch::start();
        let message = "tracingpolicies.cilium.io is forbidden: User \"agent\" cannot list";
        for _ in 0..3 {
            watch
                .server
                .list(POLICIES)
                .await
                .status(403, "Forbidden", message);
        }
        let list = watch.server.list(POLICIES).await;
        list.list("5", vec![policy("a", "/a", "1")]);
        let watching = watch.server.watch(POLICIES).await;
        assert_eq!(watching.query("resourceVersion").as_deref(), Some("5"));
        assert_eq!(watch.changes(), ["applied tracingpolicies/a"]);
        assert_eq!(
            watch.reports(),
            [
                format!(
                    "watching tracingpolicies is forbidden: {message} (grant list and watch on \
                     tracingpolicies.cilium.io; retrying)"
                ),
                "watching tracingpolicies again".to_string(),
            ]
        );
    }
}
