//! The policy pane on agents: rows from their ListTracingPolicies, commands as API calls.
//! Calls run in the background; their outcomes come back with the events.
use std::path::Path;

use super::policies::{PolicyCommand, PolicyRef, PolicyRow};
use crate::{
    agent::proto,
    policy::{
        self,
        model::Mode,
        store::{PolicyCounters, PolicyStatus},
    },
    source::remote::{PolicyCall, RemoteSource},
};

/// Starts the command on the agents; the status line says what was asked.
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
        PolicyCommand::SetMode { policy, mode } => configure(
            remote,
            &policy,
            PolicyCall::Configure {
                enable: None,
                mode: Some(wire_mode(mode)),
            },
        ),
        PolicyCommand::Unload(policy) => configure(remote, &policy, PolicyCall::Delete),
        PolicyCommand::DisarmAll => {
            let mut asked = 0;
            for (index, policies) in remote.policies().iter().enumerate() {
                for status in policies {
                    if status.mode() == proto::TracingPolicyMode::TpModeEnforce {
                        let monitor = PolicyCall::Configure {
                            enable: None,
                            mode: Some(proto::TracingPolicyMode::TpModeMonitor),
                        };
                        remote.call(index, &status.name, monitor);
                        asked += 1;
                    }
                }
            }
            format!("disarming: {asked} enforcing policies switched to monitor on the agents")
        }
        PolicyCommand::Load(path) => load(remote, &path),
        PolicyCommand::Reload(policy) => format!(
            "{}: reload works on this host's policy files; on an agent, unload (x) and load (o) it",
            policy.name
        ),
    }
}

fn configure(remote: &RemoteSource, policy: &PolicyRef, call: PolicyCall) -> String {
    let Some(agent) = policy.agent else {
        return format!("{}: not a policy of an agent", policy.name);
    };
    remote.call(agent, &policy.name, call);
    format!("{}: asking {}…", policy.name, remote.label(agent))
}

fn wire_mode(mode: Mode) -> proto::TracingPolicyMode {
    match mode {
        Mode::Enforce => proto::TracingPolicyMode::TpModeEnforce,
        Mode::Monitor => proto::TracingPolicyMode::TpModeMonitor,
    }
}

/// Adds the policies of a file to every agent, in monitor mode (enforcing is a separate,
/// confirmed step, as for this host's policies).
fn load(remote: &RemoteSource, path: &Path) -> String {
    let yaml = match std::fs::read_to_string(path) {
        Ok(yaml) => yaml,
        Err(e) => return format!("not loaded: {}: {e}", path.display()),
    };
    match in_monitor_mode(&yaml) {
        Ok((yaml, names)) => {
            remote.add_policy(yaml);
            format!(
                "adding {} to every agent (monitor; m enforces)",
                names.join(", ")
            )
        }
        Err(why) => format!("not loaded: {why}"),
    }
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

/// Every agent's policies as rows, the agent named in the source column.
pub fn rows(remote: &RemoteSource) -> Vec<PolicyRow> {
    remote
        .policies()
        .iter()
        .enumerate()
        .flat_map(|(index, policies)| {
            let label = remote.label(index);
            policies.iter().map(move |s| row(index, &label, s))
        })
        .collect()
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
        },
        problems: if status.error.is_empty() {
            Vec::new()
        } else {
            vec![status.error.clone()]
        },
        agent: Some(agent),
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
}
