//! Kubernetes metadata of a process (tetragon.md §1.6): `Pod`, `Container`, `Image`.
//!
//! `Pod` and `Container` are on every pod event, twice, so they are decoded in place too.

use std::collections::BTreeMap;

use serde::de::MapAccess;
use serde::{Deserialize, Serialize};

use super::merge::{Merge, deserialize_by_merge, message, skip, string, value};
use super::protojson::{self, OptInt};
use super::timestamp::Timestamp;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Pod {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<Container>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub workload: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub workload_kind: String,
    /// Only with the agent flag `--enable-pod-annotations`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_annotations: BTreeMap<String, String>,
}

impl Merge for Pod {
    fn merge_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "namespace" => self.namespace = string(map)?,
            "name" => self.name = string(map)?,
            "uid" => self.uid = string(map)?,
            "container" => message(&mut self.container, map)?,
            "pod_labels" | "podLabels" => self.pod_labels = value(map)?,
            "workload" => self.workload = string(map)?,
            "workload_kind" | "workloadKind" => self.workload_kind = string(map)?,
            "pod_annotations" | "podAnnotations" => self.pod_annotations = value(map)?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Container {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    /// PID inside the container's PID namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "protojson::is_default")]
    pub maybe_exec_probe: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,
}

impl Merge for Container {
    fn merge_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "id" => self.id = string(map)?,
            "name" => self.name = string(map)?,
            "image" => self.image = map.next_value()?,
            "start_time" | "startTime" => self.start_time = map.next_value()?,
            "pid" => self.pid = map.next_value::<OptInt<_>>()?.0,
            "maybe_exec_probe" | "maybeExecProbe" => self.maybe_exec_probe = value(map)?,
            "security_context" | "securityContext" => self.security_context = map.next_value()?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

deserialize_by_merge!(Pod, Container);

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Image {
    /// Registry path and digest.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Registry path and tag.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityContext {
    #[serde(skip_serializing_if = "protojson::is_default")]
    pub privileged: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_round_trips() {
        let pod = crate::event::test_support::full_pod(0);
        let json = serde_json::to_string(&pod).unwrap();
        assert_eq!(serde_json::from_str::<Pod>(&json).unwrap(), pod, "{json}");
    }

    #[test]
    fn reads_camel_case_and_nulls() {
        let pod: Pod = serde_json::from_str(
            r#"{"namespace":null,"podLabels":{"a":"b"},"workloadKind":"Pod",
                "container":{"pid":"7","maybeExecProbe":true,"securityContext":{"privileged":true}}}"#,
        )
        .unwrap();
        assert_eq!(pod.namespace, "");
        assert_eq!(pod.pod_labels["a"], "b");
        assert_eq!(pod.workload_kind, "Pod");
        let container = pod.container.unwrap();
        assert_eq!(container.pid, Some(7));
        assert!(container.maybe_exec_probe && container.security_context.unwrap().privileged);
    }
}
