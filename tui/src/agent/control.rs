//! Policy requests of the gRPC API, carried out by the task that owns the event source (the
//! sensor and its policy store live there, not behind a lock on the hot path).
use tokio::sync::oneshot;
use tonic::Status;

use super::{policy_status, proto};
use crate::{
    policy::{self, model::Mode, store::PolicySource},
    source::local::LocalSource,
};

pub type Reply<T> = oneshot::Sender<Result<T, Status>>;

/// A policy is named by its name, namespace ("" for cluster-wide) and domain.
#[derive(Debug)]
pub struct PolicyName {
    pub name: String,
    pub namespace: String,
    /// "" means "grpc", as in Tetragon.
    pub domain: String,
}

impl PolicyName {
    pub fn new(name: String, namespace: String, domain: String) -> Self {
        PolicyName {
            name,
            namespace,
            domain,
        }
    }
}

pub enum Request {
    List {
        domain: String,
        reply: Reply<Vec<proto::TracingPolicyStatus>>,
    },
    Add {
        yaml: String,
        domain: String,
        reply: Reply<()>,
    },
    Delete {
        policy: PolicyName,
        reply: Reply<()>,
    },
    Configure {
        policy: PolicyName,
        enable: Option<bool>,
        mode: Option<Mode>,
        reply: Reply<()>,
    },
}

/// Carries out a request on the live source; `None` is an agent serving a recording.
pub fn handle(request: Request, source: Option<&mut LocalSource>) {
    let Some(source) = source else {
        let no_probes = || {
            Status::failed_precondition(
                "this agent serves a recording: it runs no probes and no policies",
            )
        };
        match request {
            Request::List { reply, .. } => drop(reply.send(Ok(Vec::new()))),
            Request::Add { reply, .. }
            | Request::Delete { reply, .. }
            | Request::Configure { reply, .. } => drop(reply.send(Err(no_probes()))),
        }
        return;
    };
    source.refresh_policy_counters();
    // A client that went away does not want the answer: ignore failed sends.
    match request {
        Request::List { domain, reply } => {
            let statuses = source
                .policies()
                .entries()
                .iter()
                .enumerate()
                .filter(|(_, e)| domain.is_empty() || policy_status::domain(&e.source) == domain)
                .map(|(i, e)| policy_status::status(i as u64 + 1, e))
                .collect();
            let _ = reply.send(Ok(statuses));
        }
        Request::Add {
            yaml,
            domain,
            reply,
        } => {
            let _ = reply.send(add(source, &yaml, &domain));
        }
        Request::Delete { policy, reply } => {
            let _ = reply.send(find(source, &policy).and_then(|name| {
                source
                    .remove_policy(&name)
                    .map(drop)
                    .map_err(Status::not_found)
            }));
        }
        Request::Configure {
            policy,
            enable,
            mode,
            reply,
        } => {
            let _ = reply.send(find(source, &policy).and_then(|name| {
                // Like Tetragon, not atomic: a mode change is kept if enabling then fails.
                if let Some(mode) = mode {
                    source
                        .set_policy_mode(&name, mode)
                        .map_err(Status::failed_precondition)?;
                }
                if let Some(enable) = enable {
                    source
                        .set_policy_enabled(&name, enable)
                        .map_err(Status::failed_precondition)?;
                }
                Ok(())
            }));
        }
    }
}

/// Adds the policies of one YAML text. A policy that cannot run here is not kept: the caller
/// hears why, as from Tetragon.
fn add(source: &mut LocalSource, yaml: &str, domain: &str) -> Result<(), Status> {
    if !(domain.is_empty() || domain == "grpc") {
        return Err(Status::invalid_argument(format!(
            "policies can be added to the grpc domain only, not {domain:?}"
        )));
    }
    let policies = policy::parse_str(yaml, None).map_err(|errors| {
        let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
        Status::invalid_argument(format!("invalid policy: {}", all.join("; ")))
    })?;
    for policy in policies {
        let name = policy.name.clone();
        let entry = source
            .add_policy(policy, PolicySource::Api, None)
            .map_err(Status::already_exists)?;
        if !entry.problems.is_empty() {
            let problems = entry.problems.join("; ");
            let _ = source.remove_policy(&name);
            return Err(Status::failed_precondition(format!(
                "policy {name:?} cannot run on this agent: {problems}"
            )));
        }
    }
    Ok(())
}

/// The name of the policy `wanted` designates, or why there is none.
fn find(source: &LocalSource, wanted: &PolicyName) -> Result<String, Status> {
    let domain = if wanted.domain.is_empty() {
        "grpc"
    } else {
        wanted.domain.as_str()
    };
    let named = source.policies().entries().iter().find(|e| {
        e.name() == wanted.name && e.policy.namespace.as_deref().unwrap_or("") == wanted.namespace
    });
    match named {
        Some(entry) if policy_status::domain(&entry.source) == domain => Ok(wanted.name.clone()),
        Some(entry) => Err(Status::not_found(format!(
            "policy {:?} is in domain {:?}, not {domain:?} (name its domain)",
            wanted.name,
            policy_status::domain(&entry.source)
        ))),
        None => Err(Status::not_found(format!(
            "no policy named {:?}{}",
            wanted.name,
            match wanted.namespace.as_str() {
                "" => String::new(),
                ns => format!(" in namespace {ns:?}"),
            }
        ))),
    }
}
