//! Pod metadata for events: a watch of the pods on this node, looked up by the container of a
//! process (its cgroup), and the cgroup ids of a namespace's containers for namespaced policies.
mod cache;
mod cached;
mod selector;
mod watch;
mod workload;

use std::sync::{Arc, Mutex, RwLock};

use anyhow::{Context, Result};

pub use cache::{DOCKER_ID_LEN, PodCache, docker_key};
pub use cached::{CachedContainer, CachedPod};

use super::{
    cgroup_index::CgroupIndex,
    connect::{ClusterArgs, client},
};
use crate::{event::Pod, policy::model::LabelSelector, sensor::cgroup};

/// A handle on the pod cache; clones share it.
#[derive(Clone)]
pub struct PodMetadata {
    cache: Arc<RwLock<PodCache>>,
    cgroups: Arc<Mutex<CgroupIndex>>,
    changes: tokio::sync::watch::Receiver<u64>,
    problem: Arc<Mutex<Option<String>>>,
}

impl PodMetadata {
    /// Starts watching the pods of `node` on the current tokio runtime. Errors only when
    /// there is no configuration to connect with or no cgroup v2 hierarchy; a server that is
    /// down or refuses is reported by [`Self::problem`] (and on stderr with `stderr`) while the
    /// watch keeps retrying.
    pub async fn start(cluster: &ClusterArgs, node: &str, stderr: bool) -> Result<Self> {
        let root = cgroup::v2_root().context("no cgroup v2 hierarchy to map containers from")?;
        let client = client(cluster).await?;
        let (metadata, changes) = Self::new(CgroupIndex::new(root));
        let reporting = watch::Reporting {
            problem: metadata.problem.clone(),
            stderr,
        };
        tokio::spawn(watch::run(
            client,
            node.to_string(),
            metadata.cache.clone(),
            changes,
            reporting,
        ));
        Ok(metadata)
    }

    /// Container cgroup directories on this node, as last seen.
    pub fn container_cgroups(&self) -> usize {
        self.cgroups.lock().unwrap().containers()
    }

    /// Why pod metadata is unavailable right now, if it is.
    pub fn problem(&self) -> Option<String> {
        self.problem.lock().unwrap().clone()
    }

    /// A handle on an empty cache (filled by the caller through [`Self::cache`]); the sender
    /// bumps [`Self::changes`].
    pub fn new(cgroups: CgroupIndex) -> (Self, tokio::sync::watch::Sender<u64>) {
        let (sender, changes) = tokio::sync::watch::channel(0);
        let metadata = Self {
            cache: Arc::default(),
            cgroups: Arc::new(Mutex::new(cgroups)),
            changes,
            problem: Arc::default(),
        };
        (metadata, sender)
    }

    pub fn cache(&self) -> &RwLock<PodCache> {
        &self.cache
    }

    /// A process's `docker` field from its cgroup id: the first 31 characters of its container's
    /// id, empty outside containers.
    pub fn docker_of(&self, cgroup_id: u64) -> String {
        let container = self.cgroups.lock().unwrap().container_of(cgroup_id);
        container.map_or_else(String::new, |id| docker_key(&id).to_string())
    }

    /// The event `pod` of a process whose `docker` field is `docker`, if its pod is known.
    pub fn event_pod(&self, docker: &str) -> Option<Pod> {
        self.cache.read().unwrap().event_pod(docker)
    }

    /// The cgroup v2 ids (directory inodes) of the containers on this node of the pods in
    /// `namespace` that `pod_selector` selects (all of them for None). Containers without a
    /// cgroup directory (not started, or gone) are left out.
    pub fn cgroup_ids(&self, namespace: &str, pod_selector: Option<&LabelSelector>) -> Vec<u64> {
        let cache = self.cache.read().unwrap();
        let mut cgroups = self.cgroups.lock().unwrap();
        cache
            .container_ids(namespace, pod_selector)
            .into_iter()
            .filter_map(|id| cgroups.cgroup_of(id))
            .collect()
    }

    /// Changes whenever the cached pods change (so [`Self::cgroup_ids`] may answer otherwise):
    /// `changed().await` on it, then ask again.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.clone()
    }
}
