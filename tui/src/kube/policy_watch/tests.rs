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
        .map(|change| match change {
            PolicyChange::Applied { object, .. } => format!("applied {object}"),
            PolicyChange::ModeChanged { object, mode } => format!("{mode:?} {object}"),
            PolicyChange::Deleted { object } => format!("deleted {object}"),
        })
        .collect()
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
