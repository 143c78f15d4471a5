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
pub use selector::Workloads;

use super::{
    cgroup_index::CgroupIndex,
    connect::{ClusterArgs, client},
};
use crate::{event::Pod, policy::model::TracingPolicy, sensor::cgroup};

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

    /// The cgroup v2 ids (directory inodes) of the containers on this node that `workloads`
    /// selects. Containers without a cgroup directory (not started, or gone) are left out.
    pub fn cgroup_ids(&self, workloads: &Workloads) -> Vec<u64> {
        let cache = self.cache.read().unwrap();
        let containers = cache.container_ids(workloads);
        self.cgroups.lock().unwrap().cgroups_of(&containers)
    }

    /// The cgroups a workload-selecting policy applies to on this node: those of the containers
    /// its namespace (a TracingPolicyNamespaced), podSelector and containerSelector select.
    pub fn policy_cgroups(&self, policy: &TracingPolicy) -> Vec<u64> {
        self.cgroup_ids(&Workloads::of(policy))
    }

    /// Changes whenever the cached pods change (so [`Self::cgroup_ids`] may answer otherwise):
    /// `changed().await` on it, then ask again.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::{fs, os::unix::fs::MetadataExt};

    use k8s_openapi::api::core::v1::Pod as KubePod;

    use super::*;

    use crate::policy::model::LabelSelector;

    fn in_namespace(namespace: &str) -> Workloads<'_> {
        Workloads {
            namespace: Some(namespace),
            ..Workloads::default()
        }
    }

    const ID: &str = "5f5df2f9ff01fc737c88f83254ca37c0c214ff7a648c9eabd5f01edcc0804e56";
    const INIT_ID: &str = "aaaaf2f9ff01fc737c88f83254ca37c0c214ff7a648c9eabd5f01edcc0804e56";

    fn kube_pod() -> KubePod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "iris", "namespace": "default", "uid": "u1", "labels": {"app": "iris"}},
            "status": {
                "containerStatuses": [{
                    "name": "iris", "containerID": format!("containerd://{ID}"),
                    "image": "iris:1", "imageID": "iris@sha256:1", "ready": true, "restartCount": 0,
                    "state": {"running": {"startedAt": "2024-10-01T02:12:16Z"}}
                }],
                "initContainerStatuses": [{
                    "name": "init", "containerID": format!("cri-o://{INIT_ID}"),
                    "image": "busybox", "imageID": "", "ready": false, "restartCount": 0
                }]
            }
        }))
        .unwrap()
    }

    #[test]
    fn pods_by_docker_key_and_cgroup_ids_by_namespace() {
        let root = std::env::temp_dir().join(format!("pod-metadata-{}", std::process::id()));
        let scope = root.join(format!("kubepods/pod-u1/{ID}"));
        fs::create_dir_all(&scope).unwrap();
        let (pods, changes) = PodMetadata::new(CgroupIndex::new(root.clone()));
        let changed = pods.changes();
        pods.cache()
            .write()
            .unwrap()
            .apply(CachedPod::from_pod(&kube_pod()).unwrap());
        changes.send_modify(|generation| *generation += 1);
        assert!(changed.has_changed().unwrap());

        let pod = pods.event_pod(docker_key(ID)).unwrap();
        let container = pod.container.unwrap();
        assert_eq!(container.id, format!("containerd://{ID}"));
        assert_eq!(container.image.unwrap().id, "iris@sha256:1");
        assert_eq!(container.start_time.unwrap().seconds, 1727748736);
        assert_eq!(
            (pod.workload.as_str(), pod.workload_kind.as_str()),
            ("iris", "Pod")
        );
        let init = pods.event_pod(docker_key(INIT_ID)).unwrap();
        assert_eq!(init.container.unwrap().name, "init");

        let inode = fs::metadata(&scope).unwrap().ino();
        assert_eq!(
            pods.cgroup_ids(&in_namespace("default")),
            [inode],
            "init has no cgroup"
        );
        assert!(pods.cgroup_ids(&in_namespace("kube-system")).is_empty());
        assert_eq!(
            pods.cgroup_ids(&Workloads::default()),
            pods.cgroup_ids(&in_namespace("default"))
        );
        let by_container = |key: &str, value: &str| LabelSelector {
            match_labels: vec![(key.into(), value.into())],
            ..LabelSelector::default()
        };
        let (iris, other, repo) = (
            by_container("name", "iris"),
            by_container("name", "other"),
            by_container("repo", "iris"),
        );
        let containers = |selector| Workloads {
            containers: Some(selector),
            ..Workloads::default()
        };
        assert_eq!(pods.cgroup_ids(&containers(&iris)), [inode]);
        assert_eq!(pods.cgroup_ids(&containers(&repo)), [inode], "iris:1");
        assert!(pods.cgroup_ids(&containers(&other)).is_empty());
        let namespace_label = by_container("k8s:io.kubernetes.pod.namespace", "default");
        let pods_in_default = Workloads {
            pods: Some(&namespace_label),
            ..Workloads::default()
        };
        assert_eq!(pods.cgroup_ids(&pods_in_default), [inode]);
        assert_eq!(pods.docker_of(inode), docker_key(ID));
        pods.cache().write().unwrap().delete("u1");
        assert!(pods.event_pod(docker_key(ID)).is_none());
        fs::remove_dir_all(&root).unwrap();
    }
}
