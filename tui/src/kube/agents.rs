//! The agents of a cluster: the pods of tetrascope's DaemonSet (deploy/kubernetes), followed as
//! nodes come and go, reached by port-forward and checked against the CA in the cluster's TLS
//! Secret.
use std::collections::HashSet;

use anyhow::{Context, Result};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::{
    Api,
    runtime::{WatchStreamExt, watcher},
};

use crate::{
    agent::{address::Address, client::Dialer, tls::ClientTls},
    source::remote::Membership,
};

/// The labels of the agents' pods.
pub const AGENT_SELECTOR: &str =
    "app.kubernetes.io/name=tetrascope,app.kubernetes.io/component=agent";
/// The agents' TLS port.
pub const AGENT_PORT: u16 = 54321;
/// The Secret with the agents' certificate and its CA (`ca.crt`).
pub const TLS_SECRET: &str = "tetrascope-agent-tls";
/// The name the agents' certificate is issued to (deploy/kubernetes/make-tls-secret.sh).
pub const AGENT_TLS_NAME: &str = "tetrascope-agent";

/// Port-forwards through `client`, TLS checked against the CA of the agents' Secret.
pub async fn dialer(client: &kube::Client, namespace: &str) -> Result<Dialer> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = secrets.get(TLS_SECRET).await.with_context(|| {
        format!("reading the agents' CA from the secret {namespace}/{TLS_SECRET}")
    })?;
    let ca = secret
        .data
        .and_then(|data| data.get("ca.crt").map(|bytes| bytes.0.clone()))
        .with_context(|| format!("the secret {namespace}/{TLS_SECRET} has no ca.crt"))?;
    Ok(Dialer {
        tls: Some(ClientTls::from_ca_pem(ca, Some(AGENT_TLS_NAME.into()))),
        kube: Some(client.clone()),
    })
}

/// Follows the agents' pods until the source goes away: running pods join, the others leave.
/// Watch errors go to the status bar; the watch backs off and resumes.
pub async fn follow(client: kube::Client, namespace: String, members: Membership) {
    let pods: Api<Pod> = Api::namespaced(client, &namespace);
    let config = watcher::Config::default().labels(AGENT_SELECTOR);
    let mut events = watcher(pods, config).default_backoff().boxed();
    let mut running: HashSet<String> = HashSet::new();
    // The pods of a relist, to find those that left while the watch was down.
    let mut relisted: Option<HashSet<String>> = None;
    let address = |name: &str| Address::Pod {
        namespace: namespace.clone(),
        name: name.to_owned(),
        port: AGENT_PORT,
    };
    while let Some(event) = events.next().await {
        match event {
            Ok(watcher::Event::Init) => relisted = Some(HashSet::new()),
            Ok(watcher::Event::InitApply(pod) | watcher::Event::Apply(pod)) => {
                let name = pod.metadata.name.clone().unwrap_or_default();
                if let Some(seen) = relisted.as_mut() {
                    seen.insert(name.clone());
                }
                if is_running(&pod) {
                    if running.insert(name.clone()) {
                        let node = pod.spec.and_then(|s| s.node_name).unwrap_or_default();
                        members.join(address(&name), node).await;
                    }
                } else if running.remove(&name) {
                    members.leave(address(&name)).await;
                }
            }
            Ok(watcher::Event::Delete(pod)) => {
                let name = pod.metadata.name.unwrap_or_default();
                if running.remove(&name) {
                    members.leave(address(&name)).await;
                }
            }
            Ok(watcher::Event::InitDone) => {
                let seen = relisted.take().unwrap_or_default();
                let gone: Vec<String> = running.difference(&seen).cloned().collect();
                for name in gone {
                    running.remove(&name);
                    members.leave(address(&name)).await;
                }
            }
            Err(e) => {
                members
                    .say(format!("watching the agents in {namespace}: {e}"))
                    .await;
            }
        }
    }
}

fn is_running(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && pod
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .is_some_and(|phase| phase == "Running")
}
