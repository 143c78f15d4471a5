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
