//! The policy pane on agents: rows from their ListTracingPolicies, commands as API calls. In
//! the cluster view the policies the agents load from TracingPolicy objects are one row each,
//! and their mode, deletion and new files change the objects in the cluster.
//! Calls run in the background; their outcomes come back with the events.
use std::path::Path;

use super::policies::{PolicyCommand, PolicyPlace, PolicyRef, PolicyRow};
use crate::{
    agent::proto,
    kube::policy_edit::ClusterPolicies,
    policy::{
        self,
        model::Mode,
        store::{PolicyCounters, PolicyStatus},
    },
    source::remote::{PolicyCall, RemoteSource},
};

/// The domain of the policies an agent loads from the cluster's objects.
const CLUSTER_DOMAIN: &str = "k8s";

/// Starts the command on the agents or in the cluster; the status line says what was asked.
pub fn run(remote: &RemoteSource, command: PolicyCommand) -> String {
    match command {
        PolicyCommand::SetEnabled { policy, enabled } => configure(
            remote,
            &policy,
            PolicyCall::Configure {
                enable: Some(enabled),
                mode: None,
            },
        ),
        PolicyCommand::SetMode { policy, mode } if policy.place == PolicyPlace::Cluster => {
            in_cluster(remote, &policy, ObjectChange::Mode(mode))
        }
        PolicyCommand::SetMode { policy, mode } => configure(
            remote,
            &policy,
            PolicyCall::Configure {
                enable: None,
                mode: Some(wire_mode(mode)),
            },
        ),
        PolicyCommand::Unload(policy) if policy.place == PolicyPlace::Cluster => {
            in_cluster(remote, &policy, ObjectChange::Delete)
        }
        PolicyCommand::Unload(policy) => configure(remote, &policy, PolicyCall::Delete),
        PolicyCommand::DisarmAll => disarm_all(remote),
        PolicyCommand::Load(path) => load(remote, &path),
        PolicyCommand::Reload(policy) => format!(
            "{}: reload works on this host's policy files; on an agent, unload (x) and load (o) it",
            policy.name
        ),
    }
}

fn configure(remote: &RemoteSource, policy: &PolicyRef, call: PolicyCall) -> String {
    match policy.place {
        PolicyPlace::Agent(agent) => {
            remote.call(agent, &policy.name, call);
            format!("{}: asking {}…", policy.name, remote.label(agent))
        }
        // The object has no field for it: every agent that loaded it is asked.
        PolicyPlace::Cluster => {
            let agents = loaded_by(remote, policy);
            for &agent in &agents {
                remote.call(agent, &policy.name, call.clone());
            }
            format!(
                "{}: asking the {} agents that loaded it (until its object changes)…",
                policy.name,
                agents.len()
            )
        }
        PolicyPlace::Host => format!("{}: not a policy of an agent", policy.name),
    }
}

/// The agents that list the cluster's policy `policy`.
fn loaded_by(remote: &RemoteSource, policy: &PolicyRef) -> Vec<usize> {
    let namespace = policy.namespace.as_deref().unwrap_or_default();
    remote
        .policies()
        .iter()
        .enumerate()
        .filter(|(_, listed)| {
            listed.iter().any(|s| {
                s.domain == CLUSTER_DOMAIN && s.name == policy.name && s.namespace == namespace
            })
        })
        .map(|(agent, _)| agent)
        .collect()
}

enum ObjectChange {
    Mode(Mode),
    Delete,
}

/// Changes the policy's object in the cluster; the outcome comes back as a message.
fn in_cluster(remote: &RemoteSource, policy: &PolicyRef, change: ObjectChange) -> String {
    let Some(cluster) = remote.cluster_policies().cloned() else {
        return format!("{}: not in a cluster view (--kube)", policy.name);
    };
    let key = ClusterPolicies::key(&policy.name, policy.namespace.as_deref());
    let asked = match change {
        ObjectChange::Mode(mode) => format!("{key}: setting {}…", mode_name(mode)),
        ObjectChange::Delete => format!("{key}: deleting…"),
    };
    let say = remote.membership();
    tokio::spawn(async move {
        let outcome = match change {
            ObjectChange::Mode(mode) => cluster.set_mode(&key, mode).await.map(|()| {
                format!(
                    "{key}: set to {} in the cluster; the agents reload it",
                    mode_name(mode)
                )
            }),
            ObjectChange::Delete => cluster
                .delete(&key)
                .await
                .map(|()| format!("{key}: deleted from the cluster; the agents unload it")),
        };
        say.say(outcome.unwrap_or_else(|why| why)).await;
    });
    asked
}

/// Every enforcing policy to monitor: at once on each agent, and in its object for the
/// cluster's policies (so that no node loads it enforcing again).
fn disarm_all(remote: &RemoteSource) -> String {
    let monitor = PolicyCall::Configure {
        enable: None,
        mode: Some(proto::TracingPolicyMode::TpModeMonitor),
    };
    let mut asked = 0;
    for (index, policies) in remote.policies().iter().enumerate() {
        for status in policies {
            if status.mode() == proto::TracingPolicyMode::TpModeEnforce {
                remote.call(index, &status.name, monitor.clone());
                asked += 1;
            }
        }
    }
    let mut message =
        format!("disarming: {asked} enforcing policies switched to monitor on the agents");
    if remote.cluster_policies().is_some() {
        let objects: Vec<PolicyRef> = rows(remote)
            .into_iter()
            .filter(|row| row.place == PolicyPlace::Cluster && row.mode == Mode::Enforce)
            .map(|row| PolicyRef::of(&row))
            .collect();
        for object in &objects {
            in_cluster(remote, object, ObjectChange::Mode(Mode::Monitor));
        }
        message.push_str(&format!(
            "; {} cluster objects set to monitor",
            objects.len()
        ));
    }
    message
}

fn wire_mode(mode: Mode) -> proto::TracingPolicyMode {
    match mode {
        Mode::Enforce => proto::TracingPolicyMode::TpModeEnforce,
        Mode::Monitor => proto::TracingPolicyMode::TpModeMonitor,
    }
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Enforce => "enforce",
        Mode::Monitor => "monitor",
    }
}

/// Adds the policies of a file in monitor mode (enforcing is a separate, confirmed step, as
/// for this host's policies): as objects of the cluster in the cluster view, else to every
/// agent.
fn load(remote: &RemoteSource, path: &Path) -> String {
    let yaml = match std::fs::read_to_string(path) {
        Ok(yaml) => yaml,
        Err(e) => return format!("not loaded: {}: {e}", path.display()),
    };
    let (yaml, names) = match in_monitor_mode(&yaml) {
        Ok(monitored) => monitored,
        Err(why) => return format!("not loaded: {why}"),
    };
    let Some(cluster) = remote.cluster_policies().cloned() else {
        remote.add_policy(yaml);
        return format!(
            "adding {} to every agent (monitor; m enforces)",
            names.join(", ")
        );
    };
    let policies = match policy::parse_str(&yaml, Some(path)) {
        Ok(policies) => policies,
        Err(errors) => return format!("not loaded: {}", errors[0]),
    };
    let say = remote.membership();
    tokio::spawn(async move {
        let outcome = cluster.apply(&policies).await.map(|applied| {
            let applied: Vec<String> = applied.iter().map(ToString::to_string).collect();
            format!(
                "{} applied to the cluster (monitor; m enforces)",
                applied.join(", ")
            )
        });
        say.say(outcome.unwrap_or_else(|why| why)).await;
    });
    format!("applying {} to the cluster…", names.join(", "))
}

/// The YAML with `policy-mode: monitor` in each document's options. A document that has
/// options of its own is refused rather than edited blindly; the result is parsed again to
/// check that every policy in it now says monitor.
pub fn in_monitor_mode(yaml: &str) -> Result<(String, Vec<String>), String> {
    let policies = policy::parse_str(yaml, None).map_err(|errors| errors[0].to_string())?;
    let names: Vec<String> = policies.iter().map(|p| p.name.clone()).collect();
    if policies.iter().all(|p| p.spec.mode == Some(Mode::Monitor)) {
        return Ok((yaml.to_owned(), names));
    }
    let lines: Vec<&str> = yaml.lines().collect();
    let mut out = String::with_capacity(yaml.len() + 128);
    for (i, line) in lines.iter().enumerate() {
        out.push_str(line);
        out.push('\n');
        if line.trim_end() != "spec:" || line.starts_with(' ') {
            continue;
        }
        // The indentation of spec's own keys, from the next line that has one.
        let indent = lines[i + 1..]
            .iter()
            .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map_or(2, |l| l.len() - l.trim_start().len())
            .max(1);
        let pad = " ".repeat(indent);
        out.push_str(&format!(
            "{pad}options:\n{pad}- name: \"policy-mode\"\n{pad}  value: \"monitor\"\n"
        ));
    }
    let checked = policy::parse_str(&out, None).map_err(|_| {
        format!(
            "{} sets options of its own: add `policy-mode: monitor` to them to load it here",
            names.join(", ")
        )
    })?;
    if checked.iter().all(|p| p.spec.mode == Some(Mode::Monitor)) {
        Ok((out, names))
    } else {
        Err(format!(
            "{}: could not set monitor mode in its YAML",
            names.join(", ")
        ))
    }
}

/// Every agent's policies as rows, the agent named in the source column; in the cluster view,
/// one row per object of the cluster, over the agents that loaded it.
pub fn rows(remote: &RemoteSource) -> Vec<PolicyRow> {
    let grouped = remote.cluster_policies().is_some();
    let mut rows = Vec::new();
    let mut objects: Vec<Vec<(String, PolicyRow)>> = Vec::new();
    for (index, policies) in remote.policies().iter().enumerate() {
        let label = remote.label(index);
        for status in policies {
            let row = row(index, &label, status);
            if !(grouped && status.domain == CLUSTER_DOMAIN) {
                rows.push(row);
                continue;
            }
            let same = |loaded: &Vec<(String, PolicyRow)>| {
                loaded[0].1.name == row.name && loaded[0].1.namespace == row.namespace
            };
            match objects.iter_mut().find(|loaded| same(loaded)) {
                Some(loaded) => loaded.push((label.clone(), row)),
                None => objects.push(vec![(label.clone(), row)]),
            }
        }
    }
    rows.extend(objects.into_iter().map(object_row));
    rows
}

/// One object of the cluster as the agents that loaded it report it: counters summed, the
/// state and mode they agree on, and the nodes that differ named in its problems.
fn object_row(loaded: Vec<(String, PolicyRow)>) -> PolicyRow {
    let nodes = loaded.len();
    let all = |f: &dyn Fn(&PolicyRow) -> bool| loaded.iter().all(|(_, row)| f(row));
    let (_, first) = &loaded[0];
    let mut object = PolicyRow {
        source: format!(
            "cluster {CLUSTER_DOMAIN}, {nodes} node{}",
            if nodes == 1 { "" } else { "s" }
        ),
        place: PolicyPlace::Cluster,
        counters: PolicyCounters::default(),
        problems: Vec::new(),
        ..first.clone()
    };
    object.status = if all(&|row| row.status == first.status) {
        first.status.clone()
    } else if loaded
        .iter()
        .any(|(_, row)| row.status == PolicyStatus::LoadError)
    {
        PolicyStatus::LoadError
    } else {
        PolicyStatus::Enabled
    };
    object.mode = if all(&|row| row.mode == Mode::Enforce) {
        Mode::Enforce
    } else {
        Mode::Monitor
    };
    for (node, row) in &loaded {
        let counters = &mut object.counters;
        counters.hits += row.counters.hits;
        counters.posts += row.counters.posts;
        counters.signals += row.counters.signals;
        counters.would_signals += row.counters.would_signals;
        counters.overrides += row.counters.overrides;
        counters.would_overrides += row.counters.would_overrides;
        if row.status != object.status {
            object.problems.push(format!("{node}: {:?}", row.status));
        }
        if row.mode != object.mode {
            object
                .problems
                .push(format!("{node}: {}", mode_name(row.mode)));
        }
        object.problems.extend(
            row.problems
                .iter()
                .map(|problem| format!("{node}: {problem}")),
        );
    }
    object
}

fn row(agent: usize, label: &str, status: &proto::TracingPolicyStatus) -> PolicyRow {
    let counters = status
        .stats
        .as_ref()
        .and_then(|s| s.action_counters)
        .unwrap_or_default();
    PolicyRow {
        name: status.name.clone(),
        namespace: (!status.namespace.is_empty()).then(|| status.namespace.clone()),
        source: format!("{label} {}", status.domain),
        status: match status.state() {
            proto::TracingPolicyState::TpStateEnabled => PolicyStatus::Enabled,
            proto::TracingPolicyState::TpStateDisabled => PolicyStatus::Disabled,
            proto::TracingPolicyState::TpStateLoadError
            | proto::TracingPolicyState::TpStateError => PolicyStatus::LoadError,
            _ => PolicyStatus::NotLoaded,
        },
        mode: match status.mode() {
            proto::TracingPolicyMode::TpModeEnforce => Mode::Enforce,
            _ => Mode::Monitor,
        },
        hooks: status
            .hook_statuses
            .iter()
            .map(|h| h.hook_description.clone())
            .collect(),
        counters: PolicyCounters {
            hits: counters.post + counters.nopost,
            posts: counters.post,
            signals: counters.signal,
            would_signals: counters.monitor_signal,
            spared: 0,
            rate_limited: 0,
            overrides: counters.r#override,
            would_overrides: counters.monitor_override,
        },
        problems: if status.error.is_empty() {
            Vec::new()
        } else {
            vec![status.error.clone()]
        },
        place: PolicyPlace::Agent(agent),
        ..PolicyRow::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IRIS: &str = include_str!("../../../../shared/policies/iris-read-file-sigkill.yaml");

    #[test]
    fn a_policy_goes_to_the_agents_in_monitor_mode() {
        let parsed = policy::parse_str(IRIS, None).unwrap();
        assert_ne!(parsed[0].spec.mode, Some(Mode::Monitor));
        let (yaml, names) = in_monitor_mode(IRIS).unwrap();
        assert_eq!(names, ["iris-read-file-sigkill"]);
        let parsed = policy::parse_str(&yaml, None).unwrap();
        assert_eq!(parsed[0].spec.mode, Some(Mode::Monitor));
        assert_eq!(parsed[0].spec.kprobes.len(), 3, "the hooks are untouched");
        // Already in monitor: sent as written.
        assert_eq!(in_monitor_mode(&yaml).unwrap().0, yaml);
    }

    #[test]
    fn a_policy_with_options_of_its_own_is_refused() {
        let yaml = IRIS.replace(
            "spec:\n",
            "spec:\n  options:\n  - name: \"disable-kprobe-multi\"\n    value: \"1\"\n",
        );
        let why = in_monitor_mode(&yaml).unwrap_err();
        assert!(why.contains("options of its own"), "{why}");
    }

    fn loaded(agent: usize, mode: Mode, status: PolicyStatus, kills: u64) -> PolicyRow {
        PolicyRow {
            name: "iris".into(),
            namespace: Some("team-a".into()),
            status,
            mode,
            counters: PolicyCounters {
                hits: kills,
                signals: kills,
                ..PolicyCounters::default()
            },
            place: PolicyPlace::Agent(agent),
            ..PolicyRow::default()
        }
    }

    #[test]
    fn an_object_is_one_row_over_its_nodes_which_name_where_they_differ() {
        let agreeing = object_row(vec![
            (
                "node-a".into(),
                loaded(0, Mode::Enforce, PolicyStatus::Enabled, 2),
            ),
            (
                "node-b".into(),
                loaded(1, Mode::Enforce, PolicyStatus::Enabled, 3),
            ),
        ]);
        assert_eq!(agreeing.place, PolicyPlace::Cluster);
        assert_eq!(agreeing.source, "cluster k8s, 2 nodes");
        assert_eq!(
            (agreeing.status, agreeing.mode),
            (PolicyStatus::Enabled, Mode::Enforce)
        );
        assert_eq!(agreeing.counters.signals, 5);
        assert!(agreeing.problems.is_empty(), "{:?}", agreeing.problems);

        let differing = object_row(vec![
            (
                "node-a".into(),
                loaded(0, Mode::Enforce, PolicyStatus::Enabled, 0),
            ),
            (
                "node-b".into(),
                loaded(1, Mode::Monitor, PolicyStatus::Disabled, 0),
            ),
        ]);
        assert_eq!(
            (differing.status, differing.mode),
            (PolicyStatus::Enabled, Mode::Monitor)
        );
        assert_eq!(differing.problems, ["node-a: enforce", "node-b: Disabled"]);
    }
}
