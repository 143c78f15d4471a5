//! Helpers for the event module's tests.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Container, Image, Pod, Process, SecurityContext, Timestamp};

/// A process with only its binary set.
pub fn process(binary: &str) -> Option<Process> {
    Some(Process {
        binary: binary.into(),
        ..Process::default()
    })
}

/// Writes `message` and reads it back: both sides must agree on every field name.
pub fn round_trip<T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug>(
    message: T,
) {
    let json = serde_json::to_string(&message).unwrap();
    assert_eq!(serde_json::from_str::<T>(&json).unwrap(), message, "{json}");
}

/// A pod with every field set.
pub fn full_pod(container_pid: u32) -> Pod {
    Pod {
        namespace: "default".into(),
        name: "web".into(),
        uid: "1234".into(),
        container: Some(Container {
            id: "containerd://abc".into(),
            name: "web".into(),
            image: Some(Image {
                id: "docker.io/x@sha256:1".into(),
                name: "docker.io/x:1".into(),
            }),
            start_time: Some(Timestamp::default()),
            pid: Some(container_pid),
            maybe_exec_probe: true,
            security_context: Some(SecurityContext { privileged: true }),
        }),
        pod_labels: BTreeMap::from([("app".into(), "web".into())]),
        workload: "web".into(),
        workload_kind: "Deployment".into(),
        pod_annotations: BTreeMap::from([("a".into(), "b".into())]),
    }
}
