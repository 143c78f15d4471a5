//! Which containers a workload-selecting policy applies to: Kubernetes label selectors
//! (`matchLabels` AND every `matchExpressions` entry) over pod labels and container fields,
//! as Tetragon's policy filter reads them.
use super::cached::{CachedContainer, CachedPod};
use crate::policy::model::{LabelSelector, TracingPolicy};

/// The pseudo-label of a pod's namespace that a podSelector can use (Tetragon's).
const NAMESPACE_LABEL: &str = "k8s:io.kubernetes.pod.namespace";

/// A policy's workload selection: its namespace (a TracingPolicyNamespaced), podSelector and
/// containerSelector. None in any of them selects everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct Workloads<'a> {
    pub namespace: Option<&'a str>,
    pub pods: Option<&'a LabelSelector>,
    pub containers: Option<&'a LabelSelector>,
}

impl<'a> Workloads<'a> {
    pub fn of(policy: &'a TracingPolicy) -> Self {
        Workloads {
            namespace: policy.namespace.as_deref(),
            pods: policy.spec.pod_selector.as_ref(),
            containers: policy.spec.container_selector.as_ref(),
        }
    }

    pub fn selects_pod(&self, pod: &CachedPod) -> bool {
        self.namespace.is_none_or(|ns| pod.namespace == ns)
            && selects(self.pods, |key| match key {
                NAMESPACE_LABEL => Some(pod.namespace.as_str()),
                _ => pod.labels.get(key).map(String::as_str),
            })
    }

    /// By the container's `name` and `repo` (its image without tag or digest).
    pub fn selects_container(&self, container: &CachedContainer) -> bool {
        selects(self.containers, |key| match key {
            "name" => Some(container.name.as_str()),
            "repo" => Some(repository(&container.image.name)),
            _ => None,
        })
    }
}

/// An image reference without its tag and digest: `docker.io/library/nginx:1.27` →
/// `docker.io/library/nginx` (a registry's port is not a tag).
fn repository(image: &str) -> &str {
    let image = image.split_once('@').map_or(image, |(name, _)| name);
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => name,
        _ => image,
    }
}

/// Whether the labels that `label` looks up are selected; None (no selector) selects
/// everything.
fn selects<'l>(selector: Option<&LabelSelector>, label: impl Fn(&str) -> Option<&'l str>) -> bool {
    let Some(selector) = selector else {
        return true;
    };
    selector
        .match_labels
        .iter()
        .all(|(key, value)| label(key) == Some(value.as_str()))
        && selector.match_expressions.iter().all(|e| {
            let value = label(&e.key);
            match e.operator.as_str() {
                "In" => value.is_some_and(|v| e.values.iter().any(|w| w == v)),
                "NotIn" => value.is_none_or(|v| !e.values.iter().any(|w| w == v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false, // validation rejects other operators; select nothing rather than all
            }
        })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::policy::model::LabelExpression;

    fn selects_labels(selector: Option<&LabelSelector>, labels: &BTreeMap<String, String>) -> bool {
        selects(selector, |key| labels.get(key).map(String::as_str))
    }

    #[test]
    fn labels_and_expressions() {
        let labels: BTreeMap<String, String> = [("app".into(), "iris".into())].into();
        let expression = |operator: &str, values: &[&str]| LabelSelector {
            match_expressions: vec![LabelExpression {
                key: "app".into(),
                operator: operator.into(),
                values: values.iter().map(|v| v.to_string()).collect(),
            }],
            ..LabelSelector::default()
        };
        assert!(selects_labels(None, &labels));
        let by_label = LabelSelector {
            match_labels: vec![("app".into(), "iris".into())],
            ..LabelSelector::default()
        };
        assert!(selects_labels(Some(&by_label), &labels));
        assert!(!selects_labels(Some(&by_label), &BTreeMap::new()));
        assert!(selects_labels(
            Some(&expression("In", &["iris", "web"])),
            &labels
        ));
        assert!(!selects_labels(
            Some(&expression("NotIn", &["iris"])),
            &labels
        ));
        assert!(selects_labels(Some(&expression("Exists", &[])), &labels));
        assert!(!selects_labels(
            Some(&expression("DoesNotExist", &[])),
            &labels
        ));
    }

    #[test]
    fn image_repositories() {
        assert_eq!(
            repository("docker.io/library/nginx:1.27"),
            "docker.io/library/nginx"
        );
        assert_eq!(repository("nginx"), "nginx");
        assert_eq!(repository("localhost:5000/iris"), "localhost:5000/iris");
        assert_eq!(
            repository("localhost:5000/iris:2@sha256:ab"),
            "localhost:5000/iris"
        );
    }
}
