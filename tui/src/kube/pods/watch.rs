//! The watch of this node's pods into the cache. kube's watcher relists after a 410 and, with
//! its default backoff, keeps retrying while the server is down or refuses us; a failure is
//! reported once, and so is the recovery: the next event, or the server accepting a watch
//! (which the watcher resumes from its resourceVersion without an event).
use std::sync::{Arc, Mutex, RwLock};

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod as KubePod;
use kube::{
    Api, Client,
    runtime::{WatchStreamExt, watcher},
};
use tokio::sync::watch;

use super::{cache::PodCache, cached::CachedPod};
use crate::kube::{expired, signalling_watches};

/// Where the watch reports.
pub struct Reporting {
    /// The current failure, None while the watch works.
    pub problem: Arc<Mutex<Option<String>>>,
    /// Also print failures and recoveries on stderr (not under the full-screen UI).
    pub stderr: bool,
}

impl Reporting {
    fn set(&self, problem: Option<String>) {
        if self.stderr {
            match &problem {
                Some(p) => eprintln!("tetrascope: {p}"),
                None => eprintln!("tetrascope: pod metadata available again"),
            }
        }
        *self.problem.lock().unwrap() = problem;
    }
}

/// Runs until the process ends; bumps `changes` whenever the cache changed.
pub async fn run(
    client: Client,
    node: String,
    cache: Arc<RwLock<PodCache>>,
    changes: watch::Sender<u64>,
    reporting: Reporting,
) {
    let (accepted, mut watching) = watch::channel(());
    let client = signalling_watches(client, move || {
        accepted.send_replace(());
    });
    let api: Api<KubePod> = Api::all(client);
    let config = watcher::Config::default().fields(&format!("spec.nodeName={node}"));
    let mut events = watcher(api, config).default_backoff().boxed();
    // Pods of a relist in progress, swapped in whole at its end.
    let mut relisted = Vec::new();
    let mut failing = false;
    loop {
        let event = tokio::select! {
            Ok(()) = watching.changed() => {
                if failing {
                    reporting.set(None);
                    failing = false;
                }
                continue;
            }
            event = events.next() => match event {
                Some(event) => event,
                None => return,
            },
        };
        let event = match event {
            Ok(event) => event,
            // Routine: the watcher lists again.
            Err(error) if expired(&error) => continue,
            Err(error) => {
                if !failing {
                    reporting.set(Some(format!(
                        "pod metadata unavailable ({error}); events go out without pod fields until the watch of the pods of {node} works (retrying)"
                    )));
                }
                failing = true;
                continue;
            }
        };
        // `Init` starts every (re)list, before the server has answered.
        if failing && !matches!(event, watcher::Event::Init) {
            reporting.set(None);
            failing = false;
        }
        let changed = match event {
            watcher::Event::Init => {
                relisted.clear();
                false
            }
            watcher::Event::InitApply(pod) => {
                relisted.extend(CachedPod::from_pod(&pod));
                false
            }
            watcher::Event::InitDone => {
                cache.write().unwrap().replace_all(relisted.drain(..));
                true
            }
            watcher::Event::Apply(pod) => {
                if let Some(pod) = CachedPod::from_pod(&pod) {
                    cache.write().unwrap().apply(pod);
                }
                true
            }
            watcher::Event::Delete(pod) => {
                if let Some(uid) = &pod.metadata.uid {
                    cache.write().unwrap().delete(uid);
                }
                true
            }
        };
        if changed {
            changes.send_modify(|generation| *generation += 1);
        }
    }
}

#[cfg(test)]
mod tests;
