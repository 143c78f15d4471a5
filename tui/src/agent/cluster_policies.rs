//! The cluster's policy changes carried out on the policy store, with source `Cluster` (domain
//! "k8s"). Each outcome is one line on stderr: nobody waits for an answer.
use crate::{
    kube::{policy_object::ObjectKey, policy_watch::PolicyChange},
    policy::store::{PolicySource, PolicyStatus},
    source::local::LocalSource,
};

pub fn apply(source: &mut LocalSource, change: PolicyChange) {
    let outcome = match change {
        PolicyChange::Applied {
            object,
            policy,
            cgroups,
        } => load(source, &object, *policy, cgroups)
            .map(|verb| format!("{object}: {verb}"))
            .map_err(|error| format!("{object}: {error}")),
        PolicyChange::ModeChanged { object, mode } => match loaded_from(source, &object) {
            Ok(true) => source
                .set_policy_mode(&object.name, mode)
                .map(|()| format!("{object}: mode changed to {mode:?}"))
                .map_err(|error| format!("{object}: {error}")),
            Ok(false) | Err(_) => return,
        },
        PolicyChange::Deleted { object } => match loaded_from(source, &object) {
            Ok(true) => source
                .remove_policy(&object.name)
                .map(|_| format!("{object}: deleted, unloaded"))
                .map_err(|error| format!("{object}: {error}")),
            // Never loaded (invalid, or its name taken): nothing to undo.
            Ok(false) | Err(_) => return,
        },
    };
    match outcome {
        Ok(line) | Err(line) => eprintln!("tetrascope agent: {line}"),
    }
}

/// Loads a new object's policy, or reloads a changed one in place of its previous version.
/// The object's own policy-mode option (enforce by default) decides the mode; a policy disabled
/// through the API stays disabled.
fn load(
    source: &mut LocalSource,
    object: &ObjectKey,
    policy: crate::policy::model::TracingPolicy,
    cgroups: Option<Vec<u64>>,
) -> Result<&'static str, String> {
    let name = policy.name.clone();
    let reloaded = loaded_from(source, object)?;
    let was_disabled = reloaded
        && source.policies().get(&name).map(|e| &e.status) == Some(&PolicyStatus::Disabled);
    if reloaded {
        source.remove_policy(&name)?;
    }
    let entry = source.add_policy(policy, PolicySource::Cluster, None)?;
    if !entry.problems.is_empty() {
        return Err(format!(
            "cannot run on this node: {}",
            entry.problems.join("; ")
        ));
    }
    if let Some(cgroups) = cgroups {
        source.set_policy_cgroups(&name, Some(cgroups))?;
    }
    if was_disabled {
        source.set_policy_enabled(&name, false)?;
    }
    Ok(if reloaded {
        "changed, reloaded"
    } else {
        "loaded"
    })
}

/// Whether the store holds the policy of this object; an error when its name belongs to
/// another policy (from a file, the API or another object), which an object never replaces.
/// (The store keys policies by name alone.)
fn loaded_from(source: &LocalSource, object: &ObjectKey) -> Result<bool, String> {
    match source.policies().get(&object.name) {
        None => Ok(false),
        Some(entry)
            if entry.source == PolicySource::Cluster
                && entry.policy.namespace == object.namespace =>
        {
            Ok(true)
        }
        Some(entry) => Err(format!(
            "a policy named {:?} from {}{} is loaded already",
            object.name,
            entry.source,
            entry
                .policy
                .namespace
                .as_ref()
                .map(|ns| format!(" (namespace {ns})"))
                .unwrap_or_default()
        )),
    }
}
