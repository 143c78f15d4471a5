//! TracingPolicy and TracingPolicyNamespaced objects of the cluster as tetrascope's policies.
use std::{fmt, path::Path};

use kube::core::{ApiResource, DynamicObject};

use crate::policy::{
    self,
    model::{PolicyKind, TracingPolicy},
};

/// The two kinds of Tetragon's CRDs (deploy/crds).
pub const KINDS: [PolicyKind; 2] = [
    PolicyKind::TracingPolicy,
    PolicyKind::TracingPolicyNamespaced,
];

const GROUP: &str = "cilium.io";
const VERSION: &str = "v1alpha1";

pub fn api_resource(kind: PolicyKind) -> ApiResource {
    ApiResource {
        group: GROUP.into(),
        version: VERSION.into(),
        api_version: format!("{GROUP}/{VERSION}"),
        kind: kind_name(kind).into(),
        plural: plural(kind).into(),
    }
}

fn kind_name(kind: PolicyKind) -> &'static str {
    match kind {
        PolicyKind::TracingPolicy => "TracingPolicy",
        PolicyKind::TracingPolicyNamespaced => "TracingPolicyNamespaced",
    }
}

pub fn plural(kind: PolicyKind) -> &'static str {
    match kind {
        PolicyKind::TracingPolicy => "tracingpolicies",
        PolicyKind::TracingPolicyNamespaced => "tracingpoliciesnamespaced",
    }
}

/// One object of the cluster, as messages name it: `tracingpolicies/NAME` or
/// `tracingpoliciesnamespaced/NAMESPACE/NAME`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ObjectKey {
    pub kind: PolicyKind,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectKey {
    pub fn of(kind: PolicyKind, object: &DynamicObject) -> Self {
        ObjectKey {
            kind,
            namespace: object.metadata.namespace.clone(),
            name: object.metadata.name.clone().unwrap_or_default(),
        }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/", plural(self.kind))?;
        if let Some(namespace) = &self.namespace {
            write!(f, "{namespace}/")?;
        }
        f.write_str(&self.name)
    }
}

/// The object as a policy document: its kind, name, namespace and spec, as JSON (which the
/// policy reader reads as YAML). Two versions with the same text are the same policy.
pub fn document(key: &ObjectKey, object: &DynamicObject) -> String {
    let mut metadata = serde_json::json!({ "name": key.name });
    if let Some(namespace) = &key.namespace {
        metadata["namespace"] = namespace.clone().into();
    }
    let document = serde_json::json!({
        "apiVersion": api_resource(key.kind).api_version,
        "kind": kind_name(key.kind),
        "metadata": metadata,
        "spec": object.data.get("spec").cloned().unwrap_or_default(),
    });
    serde_json::to_string_pretty(&document).expect("JSON values serialize")
}

/// Whether two documents made by [`document`] differ at most in their `policy-mode` options:
/// such a change switches the loaded policy's mode rather than reloading it (which would
/// reset its counters and leave a moment without it).
pub fn same_but_mode(before: &str, after: &str) -> bool {
    let without_mode = |document: &str| {
        let mut value: serde_json::Value = serde_json::from_str(document).ok()?;
        // `get_mut`, not indexing: indexing would add `options: null` where there is none.
        let spec = value.get_mut("spec")?.as_object_mut()?;
        if let Some(options) = spec.get_mut("options").and_then(|o| o.as_array_mut()) {
            options.retain(|option| option["name"] != "policy-mode");
            if options.is_empty() {
                spec.remove("options");
            }
        }
        Some(value)
    };
    matches!((without_mode(before), without_mode(after)), (Some(a), Some(b)) if a == b)
}

/// Reads a document made by [`document`]; errors name the object and the field, e.g.
/// `tracingpolicies/NAME:12:27: spec.kprobes[0].selectors[0].matchArgs[0].operator: ...`.
pub fn read(key: &ObjectKey, document: &str) -> Result<TracingPolicy, String> {
    let origin = key.to_string();
    match policy::parse_str(document, Some(Path::new(&origin))) {
        Ok(mut policies) if policies.len() == 1 => {
            let mut policy = policies.remove(0);
            // The origin named the object in errors; the policy comes from no file.
            policy.file = None;
            Ok(policy)
        }
        Ok(_) => Err(format!("{origin}: not one policy")),
        Err(errors) => Err(errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_options(options: serde_json::Value) -> String {
        let document = serde_json::json!({"kind": "TracingPolicy", "metadata": {"name": "p"},
            "spec": {"options": options, "kprobes": [{"call": "sys_read", "syscall": true}]}});
        document.to_string()
    }

    #[test]
    fn a_change_of_mode_alone_is_told_from_other_changes() {
        let monitor =
            with_options(serde_json::json!([{"name": "policy-mode", "value": "monitor"}]));
        let enforce =
            with_options(serde_json::json!([{"name": "policy-mode", "value": "enforce"}]));
        let none = with_options(serde_json::json!([]));
        let other =
            with_options(serde_json::json!([{"name": "disable-kprobe-multi", "value": "1"}]));
        assert!(same_but_mode(&monitor, &enforce));
        assert!(same_but_mode(&monitor, &none));
        let mut bare: serde_json::Value = serde_json::from_str(&none).unwrap();
        bare["spec"].as_object_mut().unwrap().remove("options");
        assert!(same_but_mode(&monitor, &bare.to_string()));
        assert!(!same_but_mode(&monitor, &other));
        let hooks_changed = monitor.replace("sys_read", "sys_write");
        assert!(!same_but_mode(&monitor, &hooks_changed));
    }
}
