//! Changes to the cluster's TracingPolicy objects, for the policy pane of the cluster view:
//! apply a file's policies, switch an object between enforce and monitor, delete it. The
//! agents' watches then load, reload or unload it on every node.
use http::{Method, Request, header};
use kube::{
    Api, Client,
    api::{DeleteParams, PostParams},
    core::DynamicObject,
};
use serde_json::{Value, json};

use super::policy_object::{ObjectKey, api_resource, plural};
use crate::policy::model::{Mode, PolicyKind, TracingPolicy};

/// Who the API server records as the owner of the fields we apply.
const FIELD_MANAGER: &str = "tetrascope";
const MODE_OPTION: &str = "policy-mode";

/// The cluster's policy objects, through a client with the rights of the user.
#[derive(Clone)]
pub struct ClusterPolicies {
    client: Client,
}

impl ClusterPolicies {
    pub fn new(client: Client) -> Self {
        ClusterPolicies { client }
    }

    /// The object a policy of the pane names: namespaced when it has a namespace.
    pub fn key(name: &str, namespace: Option<&str>) -> ObjectKey {
        ObjectKey {
            kind: match namespace {
                Some(_) => PolicyKind::TracingPolicyNamespaced,
                None => PolicyKind::TracingPolicy,
            },
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
        }
    }

    /// Creates or updates the object of each policy (server-side apply of its YAML document,
    /// as `kubectl apply --server-side` does). A namespaced policy without a namespace goes
    /// into the client's default namespace. Returns the objects applied.
    pub async fn apply(&self, policies: &[TracingPolicy]) -> Result<Vec<ObjectKey>, String> {
        let mut applied = Vec::new();
        for policy in policies {
            let key = ObjectKey {
                kind: policy.kind,
                namespace: match policy.kind {
                    PolicyKind::TracingPolicyNamespaced => Some(
                        policy
                            .namespace
                            .clone()
                            .unwrap_or_else(|| self.client.default_namespace().to_owned()),
                    ),
                    PolicyKind::TracingPolicy => None,
                },
                name: policy.name.clone(),
            };
            let request = Request::builder()
                .method(Method::PATCH)
                .uri(format!(
                    "{}?fieldManager={FIELD_MANAGER}&force=true",
                    object_path(&key)
                ))
                .header(header::CONTENT_TYPE, "application/apply-patch+yaml")
                .body(policy.yaml.clone().into_bytes())
                .map_err(|e| format!("{key}: {e}"))?;
            self.client
                .request::<DynamicObject>(request)
                .await
                .map_err(|e| explain(&key, "apply", &e))?;
            applied.push(key);
        }
        Ok(applied)
    }

    /// Sets the object's `policy-mode` option, so that every node (and every node to come)
    /// loads it in `mode`. The update carries the version read: a concurrent change makes it
    /// fail rather than be overwritten.
    pub async fn set_mode(&self, key: &ObjectKey, mode: Mode) -> Result<(), String> {
        let api = self.api(key);
        let mut object = api
            .get(&key.name)
            .await
            .map_err(|e| explain(key, "read", &e))?;
        set_mode_option(&mut object.data, mode);
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..PostParams::default()
        };
        api.replace(&key.name, &params, &object)
            .await
            .map_err(|e| explain(key, "update", &e))?;
        Ok(())
    }

    pub async fn delete(&self, key: &ObjectKey) -> Result<(), String> {
        self.api(key)
            .delete(&key.name, &DeleteParams::default())
            .await
            .map_err(|e| explain(key, "delete", &e))?;
        Ok(())
    }

    fn api(&self, key: &ObjectKey) -> Api<DynamicObject> {
        let resource = api_resource(key.kind);
        match &key.namespace {
            Some(namespace) => Api::namespaced_with(self.client.clone(), namespace, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        }
    }
}

fn object_path(key: &ObjectKey) -> String {
    let resource = api_resource(key.kind);
    match &key.namespace {
        Some(namespace) => format!(
            "/apis/{}/namespaces/{namespace}/{}/{}",
            resource.api_version, resource.plural, key.name
        ),
        None => format!(
            "/apis/{}/{}/{}",
            resource.api_version, resource.plural, key.name
        ),
    }
}

/// Sets `spec.options[policy-mode]`, keeping the other options (and dropping repeats of
/// policy-mode, of which the last would win).
fn set_mode_option(data: &mut Value, mode: Mode) {
    let value = match mode {
        Mode::Enforce => "enforce",
        Mode::Monitor => "monitor",
    };
    let spec = &mut data["spec"];
    let mut options: Vec<Value> = spec["options"]
        .as_array()
        .map(|options| {
            options
                .iter()
                .filter(|o| o["name"] != MODE_OPTION)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    options.push(json!({ "name": MODE_OPTION, "value": value }));
    spec["options"] = Value::Array(options);
}

/// One line that says what failed and, for refusals, which right is missing.
fn explain(key: &ObjectKey, verb: &str, error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) if status.is_forbidden() => format!(
            "{key}: {verb} forbidden: {} (the tetrascope-policy-editor role of deploy/kubernetes/rbac.yaml grants it)",
            status.message
        ),
        kube::Error::Api(status) if status.is_not_found() && verb == "apply" => format!(
            "{key}: the cluster has no {} resource (install deploy/crds)",
            plural(key.kind)
        ),
        kube::Error::Api(status) => format!("{key}: {verb}: {}", status.message),
        other => format!("{key}: {verb}: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_option_is_set_once_and_other_options_stay() {
        let mut data = json!({"spec": {"options": [
            {"name": "disable-kprobe-multi", "value": "1"},
            {"name": "policy-mode", "value": "monitor"},
            {"name": "policy-mode", "value": "monitor"},
        ], "kprobes": []}});
        set_mode_option(&mut data, Mode::Enforce);
        assert_eq!(
            data["spec"]["options"],
            json!([
                {"name": "disable-kprobe-multi", "value": "1"},
                {"name": "policy-mode", "value": "enforce"},
            ])
        );
        let mut bare = json!({"spec": {"kprobes": []}});
        set_mode_option(&mut bare, Mode::Monitor);
        assert_eq!(
            bare["spec"]["options"],
            json!([{"name": "policy-mode", "value": "monitor"}])
        );
    }

    #[test]
    fn objects_are_addressed_by_kind_and_namespace() {
        let cluster = ClusterPolicies::key("iris", None);
        assert_eq!(
            object_path(&cluster),
            "/apis/cilium.io/v1alpha1/tracingpolicies/iris"
        );
        let namespaced = ClusterPolicies::key("iris", Some("team-a"));
        assert_eq!(
            object_path(&namespaced),
            "/apis/cilium.io/v1alpha1/namespaces/team-a/tracingpoliciesnamespaced/iris"
        );
    }
}
