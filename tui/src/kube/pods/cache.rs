//! The pods of this node by uid, and their containers by `docker` key (the first 31 characters
//! of the container id, which is what a process's `docker` field holds).
use std::{collections::HashMap, sync::Arc};

use super::{cached::CachedPod, selector::Workloads};
use crate::event::Pod;

/// Characters of a container id in a process's `docker` field (Tetragon's length).
pub const DOCKER_ID_LEN: usize = 31;

#[derive(Default)]
pub struct PodCache {
    pods: HashMap<String, Arc<CachedPod>>,
    /// docker key → (pod, index of the container in it).
    by_docker: HashMap<Box<str>, (Arc<CachedPod>, usize)>,
}

/// A process's `docker` field for a container id.
pub fn docker_key(container_id: &str) -> &str {
    &container_id[..container_id.len().min(DOCKER_ID_LEN)]
}

impl PodCache {
    /// Adds or replaces a pod (keyed by uid).
    pub fn apply(&mut self, pod: Arc<CachedPod>) {
        self.delete(&pod.uid);
        for (index, container) in pod.containers.iter().enumerate() {
            self.by_docker
                .insert(docker_key(container.id()).into(), (pod.clone(), index));
        }
        self.pods.insert(pod.uid.clone(), pod);
    }

    pub fn delete(&mut self, uid: &str) {
        if let Some(old) = self.pods.remove(uid) {
            for container in &old.containers {
                self.by_docker.remove(docker_key(container.id()));
            }
        }
    }

    /// Replaces everything (after a relist).
    pub fn replace_all(&mut self, pods: impl IntoIterator<Item = Arc<CachedPod>>) {
        *self = Self::default();
        for pod in pods {
            self.apply(pod);
        }
    }

    /// The event `pod` of the process whose `docker` field is `docker`.
    pub fn event_pod(&self, docker: &str) -> Option<Pod> {
        let (pod, index) = self.by_docker.get(docker)?;
        Some(pod.event_pod(*index))
    }

    /// Ids of the containers that `workloads` selects.
    pub fn container_ids(&self, workloads: &Workloads) -> Vec<&str> {
        self.pods
            .values()
            .filter(|pod| workloads.selects_pod(pod))
            .flat_map(|pod| {
                pod.containers
                    .iter()
                    .filter(|c| workloads.selects_container(c))
                    .map(|c| c.id())
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.pods.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }
}
