//! A policy store entry as Tetragon's `TracingPolicyStatus` (tetragon.md §1.3).
use super::proto;
use crate::policy::{
    model::Mode,
    store::{PolicyEntry, PolicySource, PolicyStatus},
};

/// Tetragon's policy domains: files given at start, the gRPC API, the cluster.
pub fn domain(source: &PolicySource) -> &'static str {
    match source {
        PolicySource::File(_) => "static",
        PolicySource::Api => "grpc",
        PolicySource::Cluster => "k8s",
    }
}

pub fn mode(mode: Mode) -> proto::TracingPolicyMode {
    match mode {
        Mode::Enforce => proto::TracingPolicyMode::TpModeEnforce,
        Mode::Monitor => proto::TracingPolicyMode::TpModeMonitor,
    }
}

pub fn status(id: u64, entry: &PolicyEntry) -> proto::TracingPolicyStatus {
    let state = match entry.status {
        PolicyStatus::Enabled => proto::TracingPolicyState::TpStateEnabled,
        PolicyStatus::Disabled => proto::TracingPolicyState::TpStateDisabled,
        PolicyStatus::Unsupported | PolicyStatus::LoadError => {
            proto::TracingPolicyState::TpStateLoadError
        }
        PolicyStatus::NotLoaded => proto::TracingPolicyState::TpStateUnknown,
    };
    let hook_statuses = entry
        .hooks
        .iter()
        .map(|hook| {
            let (state, how) = match &hook.mechanisms {
                Ok(mechanisms) => (
                    proto::HookState::StatusLoaded,
                    mechanisms
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                Err(reason) => (proto::HookState::StatusCallNotFound, reason.clone()),
            };
            proto::HookStatus {
                section: hook.kind.spec_field().into(),
                state: state.into(),
                hook_description: format!("{}: {how}", hook.name),
                hook_idx: hook.index as u32,
            }
        })
        .collect();
    let counters = entry.counters;
    #[allow(deprecated)]
    proto::TracingPolicyStatus {
        id,
        name: entry.name().into(),
        namespace: entry.policy.namespace.clone().unwrap_or_default(),
        info: entry.source.to_string(),
        sensors: entry.hooks.iter().map(|h| h.field()).collect(),
        enabled: entry.status == PolicyStatus::Enabled,
        error: entry.problems.join("; "),
        state: state.into(),
        mode: mode(entry.mode).into(),
        stats: Some(proto::TracingPolicyStats {
            action_counters: Some(proto::TracingPolicyActionCounters {
                post: counters.posts,
                signal: counters.signals,
                monitor_signal: counters.would_signals,
                r#override: counters.overrides,
                monitor_override: counters.would_overrides,
                ..Default::default()
            }),
            selector_action_counters: Vec::new(),
        }),
        domain: domain(&entry.source).into(),
        hook_statuses,
        ..Default::default()
    }
}
