//! What the cache keeps of a Pod: only the fields events carry.
use std::{collections::BTreeMap, sync::Arc};

use k8s_openapi::api::core::v1::{ContainerStatus, Pod as KubePod};

use super::workload::workload;
use crate::event::{Container, Image, Pod, Timestamp};

pub struct CachedPod {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub labels: BTreeMap<String, String>,
    pub workload: String,
    pub workload_kind: String,
    pub containers: Vec<CachedContainer>,
}

pub struct CachedContainer {
    /// As the status spells it: `containerd://<id>`, `cri-o://<id>`, `docker://<id>`.
    pub status_id: String,
    pub name: String,
    pub image: Image,
    pub start_time: Option<Timestamp>,
}

impl CachedContainer {
    /// The bare id (after `runtime://`).
    pub fn id(&self) -> &str {
        self.status_id
            .split_once("://")
            .map_or(self.status_id.as_str(), |(_, id)| id)
    }
}

impl CachedPod {
    /// None for a pod without a uid (not from a server).
    pub fn from_pod(pod: &KubePod) -> Option<Arc<Self>> {
        let meta = &pod.metadata;
        let (workload, workload_kind) = workload(meta);
        let status = pod.status.as_ref();
        let containers = status
            .into_iter()
            .flat_map(|s| {
                [
                    &s.container_statuses,
                    &s.init_container_statuses,
                    &s.ephemeral_container_statuses,
                ]
            })
            .flatten()
            .flatten()
            .filter_map(cached_container)
            .collect();
        Some(Arc::new(Self {
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone()?,
            labels: meta.labels.clone().unwrap_or_default(),
            workload,
            workload_kind,
            containers,
        }))
    }

    /// The event's `pod` for the process in container `index`.
    pub fn event_pod(&self, index: usize) -> Pod {
        let container = self.containers.get(index).map(|c| Container {
            id: c.status_id.clone(),
            name: c.name.clone(),
            image: Some(c.image.clone()),
            start_time: c.start_time,
            ..Container::default()
        });
        Pod {
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            uid: self.uid.clone(),
            container,
            pod_labels: self.labels.clone(),
            workload: self.workload.clone(),
            workload_kind: self.workload_kind.clone(),
            ..Pod::default()
        }
    }
}

/// A status with a container id (a container not created yet has none).
fn cached_container(status: &ContainerStatus) -> Option<CachedContainer> {
    let status_id = status.container_id.clone().filter(|id| !id.is_empty())?;
    let running = status.state.as_ref().and_then(|s| s.running.as_ref());
    let start_time = running
        .and_then(|r| r.started_at.as_ref())
        .map(|t| Timestamp {
            seconds: t.0.as_second(),
            nanos: t.0.subsec_nanosecond() as u32,
        });
    Some(CachedContainer {
        status_id,
        name: status.name.clone(),
        image: Image {
            id: status.image_id.clone(),
            name: status.image.clone(),
        },
        start_time,
    })
}
