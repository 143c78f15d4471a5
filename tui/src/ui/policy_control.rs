//! Carries out the policy pane's commands through the live source's policy store (or the
//! agents' API, `remote_policies.rs`), notes every change in the recording in progress, and
//! keeps the pane's rows in step with the store (live), the agents, or the recording's policy
//! changes (replay).
use std::path::Path;

use super::{
    app::App,
    policies::{PolicyCommand, PolicyRef, PolicyRow},
    remote_policies,
    runner::UiSource,
};
use crate::{
    policy::what_if::WhatIf,
    policy::{
        self,
        model::Mode,
        store::{PolicySource, PolicyStatus},
    },
    record::{LiveRecording, ReadItem, RecordedPolicy, Recording, recorded_policy},
    source::local::LocalSource,
};

/// Runs the commands the pane queued; each outcome goes to the status bar.
pub fn apply_commands(app: &mut App, source: &mut UiSource, recording: Option<&mut LiveRecording>) {
    let commands = std::mem::take(&mut app.policies.commands);
    if commands.is_empty() {
        return;
    }
    let live = match source {
        UiSource::Live(live) => live,
        UiSource::Remote(remote) => {
            for command in commands {
                app.policies.message = Some(remote_policies::run(remote, command));
            }
            return;
        }
        UiSource::Replay(replay) => {
            for command in commands {
                app.policies.message = Some(match command {
                    PolicyCommand::Load(path) => what_if(app, replay.recording(), &path),
                    _ => "a replay cannot change policies".into(),
                });
            }
            return;
        }
    };
    let mut recording = recording;
    for command in commands {
        let outcome = run(live, &command);
        let message = match outcome {
            Ok((message, changes)) => {
                if let Some(rec) = recording.as_deref_mut() {
                    for (change, name) in changes {
                        note(rec, live, &change, &name);
                    }
                }
                message
            }
            Err(why) => why,
        };
        app.policies.message = Some(message);
    }
    refresh(app, source);
}

/// The status line and the (change, policy) pairs a command made.
type Outcome = Result<(String, Vec<(String, String)>), String>;

fn run(live: &mut LocalSource, command: &PolicyCommand) -> Outcome {
    match command {
        PolicyCommand::SetEnabled {
            policy: PolicyRef { name, .. },
            enabled,
        } => {
            live.set_policy_enabled(name, *enabled)?;
            let change = if *enabled { "enabled" } else { "disabled" };
            Ok((
                format!("{name} {change}"),
                vec![(change.into(), name.clone())],
            ))
        }
        PolicyCommand::SetMode {
            policy: PolicyRef { name, .. },
            mode,
        } => {
            live.set_policy_mode(name, *mode)?;
            let change = mode_name(*mode);
            Ok((
                format!("{name}: {change}"),
                vec![(change.into(), name.clone())],
            ))
        }
        PolicyCommand::DisarmAll => {
            let armed: Vec<String> = live
                .policies()
                .entries()
                .iter()
                .filter(|e| e.mode == Mode::Enforce)
                .map(|e| e.name().to_owned())
                .collect();
            let changed = live.disarm_all();
            Ok((
                format!("disarmed: {changed} policies switched to monitor"),
                armed.into_iter().map(|n| ("monitor".into(), n)).collect(),
            ))
        }
        PolicyCommand::Load(path) => load(live, path),
        PolicyCommand::Unload(PolicyRef { name, .. }) => {
            live.remove_policy(name)?;
            Ok((
                format!("{name} unloaded"),
                vec![("unloaded".into(), name.clone())],
            ))
        }
        PolicyCommand::Reload(PolicyRef { name, .. }) => reload(live, name),
    }
}

/// Loads every policy of a file or directory, in monitor mode: enforcing is a separate,
/// confirmed step. A broken file loads nothing and names its first error.
fn load(live: &mut LocalSource, path: &Path) -> Outcome {
    let policies = policy::load_path(path).map_err(|errors| {
        let more = match errors.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        format!("not loaded: {}{more}", errors[0])
    })?;
    let (mut loaded, mut refused, mut changes) = (Vec::new(), Vec::new(), Vec::new());
    for policy in policies {
        let name = policy.name.clone();
        let source = PolicySource::File(path.to_path_buf());
        match live.add_policy(policy, source, Some(Mode::Monitor)) {
            Ok(entry) => {
                loaded.push(match entry.problems.first() {
                    None => format!("{name} (monitor; m enforces)"),
                    Some(problem) => format!("{name} (does not run here: {problem})"),
                });
                changes.push(("loaded".into(), name));
            }
            Err(why) => refused.push(why),
        }
    }
    let mut message = format!("loaded {}", loaded.join(", "));
    if !refused.is_empty() {
        message = format!("{message}; refused: {}", refused.join("; "));
    }
    Ok((message, changes))
}

/// Evaluates the policies of a file on the whole recording (what-if): each becomes a row with
/// its matches and would-be kills, and the processes it would have hit join the recent kills.
fn what_if(app: &mut App, recording: &Recording, path: &Path) -> String {
    let policies = match policy::load_path(path) {
        Ok(policies) => policies,
        Err(errors) => return format!("not evaluated: {}", errors[0]),
    };
    let mut summaries = Vec::new();
    for policy in policies {
        let mode = policy.spec.mode.unwrap_or_default();
        let mut evaluator = match WhatIf::new(&policy, mode) {
            Ok(evaluator) => evaluator,
            Err(problems) => {
                summaries.push(format!(
                    "{} cannot be evaluated: {}",
                    policy.name, problems[0]
                ));
                continue;
            }
        };
        let mut row = PolicyRow {
            name: format!("what-if {}", policy.name),
            source: format!("what-if file {}", path.display()),
            status: PolicyStatus::NotLoaded,
            mode,
            ..PolicyRow::from_policy(&policy)
        };
        let Ok(mut events) = recording.events() else {
            return format!("cannot read {}", recording.path.display());
        };
        while let Ok(Some(item)) = events.next_item() {
            let ReadItem::Event(event) = item else {
                continue;
            };
            let Some(found) = evaluator.evaluate(&event) else {
                continue;
            };
            row.counters.hits += 1;
            if let Some(verdict) = found.verdict {
                row.counters.would_signals += 1;
                app.policies.note_kill(&event, &row.name, verdict);
            }
        }
        summaries.push(format!(
            "what-if {}: {} events matched, {} would have been killed or signalled",
            policy.name, row.counters.hits, row.counters.would_signals
        ));
        let mut rows = app.policies.rows.clone();
        rows.retain(|r| r.name != row.name);
        rows.push(row);
        app.policies.set_rows(rows);
    }
    summaries.join("; ")
}

/// Re-reads a file policy and swaps it in, keeping its state and mode; a policy that no longer
/// validates stays as it was, and the message compares the problems before and after.
fn reload(live: &mut LocalSource, name: &str) -> Outcome {
    let entry = live
        .policies()
        .get(name)
        .ok_or_else(|| format!("no policy named {name:?}"))?;
    let PolicySource::File(path) = entry.source.clone() else {
        return Err(format!("{name} did not come from a file"));
    };
    let (mode, enabled, before) = (
        entry.mode,
        entry.status == PolicyStatus::Enabled,
        entry.problems.len(),
    );
    let fresh = policy::load_path(&path)
        .map_err(|errors| format!("{name} kept as it was: {}", errors[0]))?
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| {
            format!(
                "{name} kept as it was: {} no longer defines it",
                path.display()
            )
        })?;
    live.remove_policy(name)?;
    let entry = live.add_policy(fresh, PolicySource::File(path), Some(mode))?;
    let after = entry.problems.len();
    if !enabled {
        live.set_policy_enabled(name, false)?;
    }
    Ok((
        format!("{name} reloaded: {before} problems before, {after} now"),
        vec![("loaded".into(), name.to_owned())],
    ))
}

fn note(recording: &mut LiveRecording, live: &LocalSource, change: &str, name: &str) {
    let policy = match live.policies().get(name) {
        Some(entry) => recorded_policy(entry),
        // Unloaded: the name is all there is left to say.
        None => RecordedPolicy {
            name: name.to_owned(),
            enabled: false,
            mode: String::new(),
            source: String::new(),
            problems: Vec::new(),
            yaml: String::new(),
        },
    };
    // A failed note shows up in the recording status of the next batch.
    let _ = recording.note_policy(change, policy);
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Enforce => "enforce",
        Mode::Monitor => "monitor",
    }
}

/// Copies the policies into the pane: the store's (live, with fresh counters) or the
/// recording's as they stood at the replay position.
pub fn refresh(app: &mut App, source: &mut UiSource) {
    let rows = match source {
        UiSource::Live(live) => {
            live.refresh_policy_counters();
            live.policies()
                .entries()
                .iter()
                .map(PolicyRow::from_entry)
                .collect()
        }
        UiSource::Remote(remote) => remote_policies::rows(remote),
        UiSource::Replay(replay) => {
            app.policies.read_only = true;
            let mut rows = recorded_rows(replay.recording(), replay.position());
            // What-if rows stay until the replay ends.
            rows.extend(
                app.policies
                    .rows
                    .iter()
                    .filter(|r| r.name.starts_with("what-if "))
                    .cloned(),
            );
            rows
        }
    };
    if rows != app.policies.rows {
        app.policies.set_rows(rows);
    }
}

/// The policies of a recording as they stood after `events` events.
pub fn recorded_rows(recording: &Recording, events: u64) -> Vec<PolicyRow> {
    recording
        .policies_at(events)
        .iter()
        .map(replayed_row)
        .collect()
}

/// A recorded policy as a row: parsed again for its hooks and actions when it still parses.
fn replayed_row(recorded: &RecordedPolicy) -> PolicyRow {
    let parsed = policy::parse_str(&recorded.yaml, None)
        .ok()
        .and_then(|mut p| (!p.is_empty()).then(|| p.remove(0)));
    let row = parsed
        .as_ref()
        .map(PolicyRow::from_policy)
        .unwrap_or_default();
    PolicyRow {
        name: recorded.name.clone(),
        source: format!("recorded ({})", recorded.source),
        status: if !recorded.problems.is_empty() {
            PolicyStatus::Unsupported
        } else if recorded.enabled {
            PolicyStatus::Enabled
        } else {
            PolicyStatus::Disabled
        },
        mode: if recorded.mode == "enforce" {
            Mode::Enforce
        } else {
            Mode::Monitor
        },
        yaml: recorded.yaml.clone(),
        problems: recorded.problems.clone(),
        ..row
    }
}
