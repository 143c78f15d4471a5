//! Watching the cluster's TracingPolicy and TracingPolicyNamespaced objects: each new or changed
//! object becomes a policy to load, each deleted one a policy to unload.
//!
//! kube's watcher lists, then watches from the list's resourceVersion, resumes a lost watch from
//! the last one it saw and lists again when that is too old (410 Gone); objects deleted while
//! it was away are found missing from the new list. Errors (403, a missing CRD) are reported
//! and retried with backoff: the agent keeps running without cluster policies meanwhile.
use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use futures_util::{StreamExt, stream};
use kube::{
    Api, Client,
    core::DynamicObject,
    runtime::{WatchStreamExt, watcher},
};
use tokio::sync::mpsc;

use super::{
    policy_object::{self, KINDS, ObjectKey},
    signalling_watches,
};
use crate::policy::model::{Mode, PolicyKind, TracingPolicy};

/// A change of the cluster's policies for the agent's policy store.
#[derive(Debug)]
pub enum PolicyChange {
    /// A new or changed object: load it, in place of its previous version if any. `cgroups`:
    /// the cgroups it is restricted to, for a policy that selects workloads.
    Applied {
        object: ObjectKey,
        policy: Box<TracingPolicy>,
        cgroups: Option<Vec<u64>>,
    },
    /// Only the object's `policy-mode` changed: switch the loaded policy's mode.
    ModeChanged { object: ObjectKey, mode: Mode },
    /// The object is gone: unload its policy.
    Deleted { object: ObjectKey },
}

/// The cgroups on this node a workload-selecting policy applies to: those of the containers of
/// the pods in its namespace (for a TracingPolicyNamespaced) that its podSelector and
/// containerSelector select. The pod index implements it.
pub trait WorkloadCgroups: Send + Sync {
    fn cgroups(&self, policy: &TracingPolicy) -> Vec<u64>;
}

impl WorkloadCgroups for crate::kube::pods::PodMetadata {
    fn cgroups(&self, policy: &TracingPolicy) -> Vec<u64> {
        self.policy_cgroups(policy)
    }
}

/// No pod metadata: a workload-selecting policy applies to no process.
pub struct NoPods;

impl WorkloadCgroups for NoPods {
    fn cgroups(&self, _: &TracingPolicy) -> Vec<u64> {
        Vec::new()
    }
}

/// Watches both kinds until `changes` is closed; problems go to stderr, one line each.
pub async fn watch_policies(
    client: Client,
    pods: Arc<dyn WorkloadCgroups>,
    changes: mpsc::Sender<PolicyChange>,
) {
    watch_reporting(client, pods, changes, |line| {
        eprintln!("tetrascope agent: {line}")
    })
    .await
}

/// [`watch_policies`], its problems and recoveries told to `report`.
async fn watch_reporting(
    client: Client,
    pods: Arc<dyn WorkloadCgroups>,
    changes: mpsc::Sender<PolicyChange>,
    mut report: impl FnMut(String),
) {
    let streams = KINDS.map(|kind| {
        // None: the server accepted a watch of the kind.
        let (accepted, watching) = tokio::sync::watch::channel(());
        let client = signalling_watches(client.clone(), move || {
            accepted.send_replace(());
        });
        let api = Api::<DynamicObject>::all_with(client, &policy_object::api_resource(kind));
        let events = watcher(api, watcher::Config::default())
            .default_backoff()
            .map(Some);
        let accepted = stream::unfold(watching, |mut watching| async move {
            watching.changed().await.ok().map(|()| (None, watching))
        });
        stream::select(events, accepted).map(move |event| (kind, event))
    });
    let mut events = stream::select_all(streams.map(StreamExt::boxed));
    let mut tracker = Tracker::default();
    while let Some((kind, event)) = events.next().await {
        let changed = match event {
            Some(event) => tracker.event(kind, event, pods.as_ref()),
            None => {
                tracker.working(kind);
                Vec::new()
            }
        };
        tracker.reports.drain(..).for_each(&mut report);
        for change in changed {
            if changes.send(change).await.is_err() {
                return;
            }
        }
    }
}

/// What the watch has seen, to tell changes from repeats and find objects deleted unseen.
#[derive(Default)]
struct Tracker {
    /// Each object's document as last seen (valid or not).
    seen: HashMap<ObjectKey, String>,
    /// The objects of a list in progress, by kind.
    listing: HashMap<PolicyKind, HashSet<ObjectKey>>,
    /// The last error reported, by kind: repeats are not.
    failing: HashMap<PolicyKind, String>,
    /// Lines for stderr, taken by the watch.
    reports: Vec<String>,
}

impl Tracker {
    fn event(
        &mut self,
        kind: PolicyKind,
        event: watcher::Result<watcher::Event<DynamicObject>>,
        pods: &dyn WorkloadCgroups,
    ) -> Vec<PolicyChange> {
        let event = match event {
            Ok(event) => event,
            // Routine: the watcher lists again.
            Err(error) if super::expired(&error) => return Vec::new(),
            Err(error) => {
                let message = describe(kind, &error);
                if self.failing.get(&kind) != Some(&message) {
                    self.reports.push(message.clone());
                    self.failing.insert(kind, message);
                }
                return Vec::new();
            }
        };
        // `Init` starts every (re)list, before the server has answered.
        if !matches!(event, watcher::Event::Init) {
            self.working(kind);
        }
        match event {
            watcher::Event::Init => {
                self.listing.insert(kind, HashSet::new());
                Vec::new()
            }
            watcher::Event::InitApply(object) => {
                let key = ObjectKey::of(kind, &object);
                self.listing.entry(kind).or_default().insert(key.clone());
                self.applied(key, &object, pods).into_iter().collect()
            }
            watcher::Event::Apply(object) => {
                let key = ObjectKey::of(kind, &object);
                self.applied(key, &object, pods).into_iter().collect()
            }
            watcher::Event::Delete(object) => {
                let key = ObjectKey::of(kind, &object);
                self.seen.remove(&key);
                vec![PolicyChange::Deleted { object: key }]
            }
            watcher::Event::InitDone => {
                let listed = self.listing.remove(&kind).unwrap_or_default();
                let gone: Vec<ObjectKey> = self
                    .seen
                    .keys()
                    .filter(|key| key.kind == kind && !listed.contains(key))
                    .cloned()
                    .collect();
                gone.into_iter()
                    .map(|key| {
                        self.seen.remove(&key);
                        PolicyChange::Deleted { object: key }
                    })
                    .collect()
            }
        }
    }

    /// The watch of `kind` works (again): an event came, or the server accepted a watch (which
    /// kube's watcher resumes without an event).
    fn working(&mut self, kind: PolicyKind) {
        if self.failing.remove(&kind).is_some() {
            let plural = policy_object::plural(kind);
            self.reports.push(format!("watching {plural} again"));
        }
    }

    /// The change a new version of an object makes: none when it is the version already seen
    /// (a list after a lost watch repeats them) or invalid (reported; what runs stays).
    fn applied(
        &mut self,
        key: ObjectKey,
        object: &DynamicObject,
        pods: &dyn WorkloadCgroups,
    ) -> Option<PolicyChange> {
        let document = policy_object::document(&key, object);
        let previous = self.seen.get(&key);
        if previous == Some(&document) {
            return None;
        }
        let mode_only =
            previous.is_some_and(|previous| policy_object::same_but_mode(previous, &document));
        let read = policy_object::read(&key, &document);
        self.seen.insert(key.clone(), document);
        match read {
            Ok(policy) if mode_only => Some(PolicyChange::ModeChanged {
                object: key,
                mode: policy.spec.mode.unwrap_or_default(),
            }),
            Ok(policy) => Some(PolicyChange::Applied {
                cgroups: policy.selects_workloads().then(|| pods.cgroups(&policy)),
                object: key,
                policy: Box::new(policy),
            }),
            Err(errors) => {
                let report = format!("invalid policy object, not loaded: {errors}");
                self.reports.push(report);
                None
            }
        }
    }
}

/// A watch error as one line that says what to do about it.
fn describe(kind: PolicyKind, error: &watcher::Error) -> String {
    let plural = policy_object::plural(kind);
    let client_error = match error {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => e,
        other => return format!("watching {plural}: {other} (retrying)"),
    };
    match client_error {
        kube::Error::Api(status) if status.is_forbidden() => format!(
            "watching {plural} is forbidden: {} (grant list and watch on {plural}.cilium.io; retrying)",
            status.message
        ),
        kube::Error::Api(status) if status.is_not_found() => format!(
            "watching {plural}: the cluster has no such resource (install deploy/crds; retrying)"
        ),
        kube::Error::Api(status) => {
            format!(
                "watching {plural}: {} {}: {} (retrying)",
                status.code, status.reason, status.message
            )
        }
        other => format!("watching {plural}: {other} (retrying)"),
    }
}

#[cfg(test)]
mod tests;
