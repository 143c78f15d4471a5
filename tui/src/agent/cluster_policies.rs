//! The cluster's policy changes carried out on the policy store, with source `Cluster` (domain
//! "k8s"). Each outcome is one line on stderr: nobody waits for an answer.
use crate::{
    kube::policy_watch::PolicyChange,
    policy::store::{PolicySource, PolicyStatus},
    source::local::LocalSource,
};

pub fn apply(source: &mut LocalSource, change: PolicyChange) {
    let outcome = match change {
        PolicyChange::Applied {
            object,
            policy,
            cgroups,
        } => load(source, *policy, cgroups).map(|verb| format!("{object}: {verb}")),
        PolicyChange::Deleted { object } => match cluster_policy(source, &object.name) {
            Ok(true) => source
                .remove_policy(&object.name)
                .map(|_| format!("{object}: deleted, unloaded")),
            // Never loaded (it was invalid): nothing to undo.
            Ok(false) => return,
            Err(error) => Err(error),
        }
        .map_err(|error| format!("{object}: {error}")),
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
    policy: crate::policy::model::TracingPolicy,
    cgroups: Option<Vec<u64>>,
) -> Result<&'static str, String> {
    let name = policy.name.clone();
    let reloaded = cluster_policy(source, &name)?;
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

/// Whether the store holds a cluster policy of this name; an error when the name belongs to a
/// policy from elsewhere (a file, the API), which a cluster object never replaces.
fn cluster_policy(source: &LocalSource, name: &str) -> Result<bool, String> {
    match source.policies().get(name) {
        None => Ok(false),
        Some(entry) if entry.source == PolicySource::Cluster => Ok(true),
        Some(entry) => Err(format!(
            "a policy named {name:?} from {} is loaded already",
            entry.source
        )),
    }
}
