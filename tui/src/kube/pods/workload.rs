//! A pod's workload as Tetragon names it: the controller that owns it, one level up for the
//! ReplicaSets of Deployments, or the pod itself.
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The label a Deployment puts on its ReplicaSet's pods; the ReplicaSet's name ends in `-<hash>`.
const TEMPLATE_HASH: &str = "pod-template-hash";

/// `(workload, workload_kind)` of a pod.
pub fn workload(meta: &ObjectMeta) -> (String, String) {
    let pod_name = meta.name.clone().unwrap_or_default();
    let owner = meta.owner_references.as_deref().and_then(|owners| {
        owners
            .iter()
            .find(|o| o.controller == Some(true))
            .or(owners.first())
    });
    let Some(owner) = owner else {
        return (pod_name, "Pod".into());
    };
    if owner.kind == "ReplicaSet" {
        let hash = meta.labels.as_ref().and_then(|l| l.get(TEMPLATE_HASH));
        if let Some(deployment) = deployment_of(&owner.name, hash.map(String::as_str)) {
            return (deployment.into(), "Deployment".into());
        }
    }
    (owner.name.clone(), owner.kind.clone())
}

/// The Deployment of ReplicaSet `name`: the name without its `-<pod-template-hash>` suffix
/// (the label's value when the pod has it, else a last segment that looks like a hash).
fn deployment_of<'a>(name: &'a str, hash: Option<&str>) -> Option<&'a str> {
    let (deployment, suffix) = name.rsplit_once('-')?;
    let looks_like_hash = match hash {
        Some(hash) => suffix == hash,
        None => {
            suffix.len() >= 5
                && suffix
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        }
    };
    (looks_like_hash && !deployment.is_empty()).then_some(deployment)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

    use super::*;

    fn pod(owner: Option<(&str, &str)>, hash: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            name: Some("iris-7d9f8c6b5-x2x9z".into()),
            labels: hash.map(|h| [(TEMPLATE_HASH.to_string(), h.to_string())].into()),
            owner_references: owner.map(|(kind, name)| {
                vec![OwnerReference {
                    kind: kind.into(),
                    name: name.into(),
                    controller: Some(true),
                    ..OwnerReference::default()
                }]
            }),
            ..ObjectMeta::default()
        }
    }

    fn pair(name: &str, kind: &str) -> (String, String) {
        (name.into(), kind.into())
    }

    #[test]
    fn replica_set_of_a_deployment() {
        let owner = Some(("ReplicaSet", "iris-7d9f8c6b5"));
        assert_eq!(
            workload(&pod(owner, Some("7d9f8c6b5"))),
            pair("iris", "Deployment")
        );
        assert_eq!(workload(&pod(owner, None)), pair("iris", "Deployment"));
        // A hash label that does not end the name: a ReplicaSet of its own.
        assert_eq!(
            workload(&pod(owner, Some("other"))),
            pair("iris-7d9f8c6b5", "ReplicaSet")
        );
    }

    #[test]
    fn direct_controllers_and_bare_pods() {
        for kind in ["DaemonSet", "StatefulSet", "Job"] {
            assert_eq!(workload(&pod(Some((kind, "web")), None)), pair("web", kind));
        }
        assert_eq!(
            workload(&pod(None, None)),
            pair("iris-7d9f8c6b5-x2x9z", "Pod")
        );
    }
}
