//! The policy pane's state: rows copied from the policy store, the selection, the commands the
//! runner carries out, the enforce confirmation, the load prompt, and the kills seen in the
//! stream (which stay listed after their processes are gone).
use std::{collections::VecDeque, path::PathBuf};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use crate::{
    event::{Event, Timestamp},
    policy::{
        hit_event::{Verdict, hook_name, policy_name, verdict},
        model::{ActionKind, Mode, TracingPolicy},
        store::{PolicyCounters, PolicyEntry, PolicyStatus},
    },
};

/// Kills (and would-be kills) kept for the recent-kills list.
const KILLS_KEPT: usize = 200;
/// Hits kept per policy for its details.
const HITS_KEPT: usize = 20;

/// One policy as the pane shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyRow {
    pub name: String,
    pub namespace: Option<String>,
    /// `file PATH`, `api`, `cluster`, or `recording` in a replay.
    pub source: String,
    pub status: PolicyStatus,
    pub mode: Mode,
    /// `call: mechanism` or `call: unsupported here: reason`, one per hook.
    pub hooks: Vec<String>,
    pub counters: PolicyCounters,
    pub yaml: String,
    pub problems: Vec<String>,
    /// Its enforcement actions (Sigkill, Signal…): empty for a monitor-only policy.
    pub enforcement: Vec<ActionKind>,
    /// Where it runs, which says how the pane changes it.
    pub place: PolicyPlace,
}

/// Where a policy runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PolicyPlace {
    /// This host's policy store (or a replay's recording).
    #[default]
    Host,
    /// One agent, changed through its API (an index into the UI's agents).
    Agent(usize),
    /// A TracingPolicy object of the cluster, which every node's agent loads: changed in the
    /// cluster (the cluster view).
    Cluster,
}

impl PolicyRow {
    /// What the policy itself says (its hooks by name, its enforcement); no state.
    pub fn from_policy(policy: &TracingPolicy) -> Self {
        PolicyRow {
            name: policy.name.clone(),
            namespace: policy.namespace.clone(),
            hooks: policy.spec.kprobes.iter().map(|k| k.call.clone()).collect(),
            yaml: policy.yaml.clone(),
            enforcement: policy.enforcement_actions(),
            ..PolicyRow::default()
        }
    }

    pub fn from_entry(entry: &PolicyEntry) -> Self {
        PolicyRow {
            name: entry.name().to_owned(),
            namespace: entry.policy.namespace.clone(),
            source: entry.source.to_string(),
            status: entry.status.clone(),
            mode: entry.mode,
            hooks: entry
                .hooks
                .iter()
                .map(|hook| match &hook.mechanisms {
                    Ok(mechanisms) => format!(
                        "{}: {}",
                        hook.name,
                        mechanisms
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Err(reason) => format!("{}: unsupported here: {reason}", hook.name),
                })
                .collect(),
            counters: entry.counters,
            yaml: entry.policy.yaml.clone(),
            problems: entry.problems.clone(),
            enforcement: entry.enforcement_actions(),
            place: PolicyPlace::Host,
        }
    }
}

/// A change the runner makes through the policy store, or through an agent's API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyCommand {
    SetEnabled { policy: PolicyRef, enabled: bool },
    SetMode { policy: PolicyRef, mode: Mode },
    DisarmAll,
    Load(PathBuf),
    Unload(PolicyRef),
    Reload(PolicyRef),
}

/// A policy by name (and namespace, for a namespaced one), and where it runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRef {
    pub name: String,
    pub namespace: Option<String>,
    pub place: PolicyPlace,
}

impl PolicyRef {
    pub fn of(row: &PolicyRow) -> Self {
        PolicyRef {
            name: row.name.clone(),
            namespace: row.namespace.clone(),
            place: row.place,
        }
    }
}

/// A question the user answers with y or n before the command runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirmation {
    pub question: String,
    pub command: PolicyCommand,
}

/// A kill (or would-be kill) seen in the stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Kill {
    pub time: Option<Timestamp>,
    pub pid: Option<u32>,
    pub binary: String,
    pub exec_id: String,
    pub policy: String,
    /// The hook that fired (its function name).
    pub hook: String,
    pub verdict: Verdict,
}

/// One hit of a policy, for its details.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub time: Option<Timestamp>,
    pub summary: String,
}

#[derive(Debug, Default)]
pub struct PolicyPane {
    pub rows: Vec<PolicyRow>,
    pub selected: usize,
    /// For the runner, in order.
    pub commands: Vec<PolicyCommand>,
    pub confirm: Option<Confirmation>,
    /// The path being typed for `LoadPolicy`.
    pub prompt: Option<String>,
    pub kills: VecDeque<Kill>,
    pub kills_total: u64,
    pub would_kills_total: u64,
    /// Hits by policy name, newest last.
    pub hits: Vec<(String, VecDeque<Hit>)>,
    pub show_kills: bool,
    /// The outcome of the last change, for the status bar.
    pub message: Option<String>,
    /// Enforce without asking (config option `confirm_enforce = false`).
    pub skip_confirmation: bool,
    /// A replay: policies are shown as recorded, not changed.
    pub read_only: bool,
}

impl PolicyPane {
    pub fn selected_row(&self) -> Option<&PolicyRow> {
        self.rows.get(self.selected)
    }

    /// Replaces the rows, keeping the selection on the same policy where it still exists.
    pub fn set_rows(&mut self, rows: Vec<PolicyRow>) {
        let selected = self.selected_row().map(PolicyRef::of);
        self.rows = rows;
        self.selected = selected
            .and_then(|selected| self.rows.iter().position(|r| PolicyRef::of(r) == selected))
            .unwrap_or(0)
            .min(self.rows.len().saturating_sub(1));
    }

    pub fn move_selection(&mut self, action: Action, page: usize) {
        let last = self.rows.len().saturating_sub(1);
        self.selected = match action {
            Action::Up => self.selected.saturating_sub(1),
            Action::Down => (self.selected + 1).min(last),
            Action::PageUp => self.selected.saturating_sub(page),
            Action::PageDown => (self.selected + page).min(last),
            Action::First => 0,
            Action::Last => last,
            _ => self.selected,
        };
    }

    /// The pane's own actions and the global policy ones. True when the screen changes.
    pub fn handle(&mut self, action: Action) -> bool {
        match action {
            Action::Kills => self.show_kills = !self.show_kills,
            // In a replay, a loaded policy is evaluated on the recording (what-if).
            Action::LoadPolicy => self.prompt = Some(String::new()),
            Action::DisarmAll if self.refuse_in_replay() => {}
            Action::DisarmAll => self.commands.push(PolicyCommand::DisarmAll),
            Action::TogglePolicy
            | Action::PolicyMode
            | Action::UnloadPolicy
            | Action::ReloadPolicy => {
                if self.refuse_in_replay() {
                    return true;
                }
                let Some(row) = self.selected_row().cloned() else {
                    self.message = Some("no policy selected (o loads one)".into());
                    return true;
                };
                self.act_on(action, row);
            }
            _ => return false,
        }
        true
    }

    fn refuse_in_replay(&mut self) -> bool {
        if self.read_only {
            self.message =
                Some("a replay shows policies as they were; they cannot be changed".into());
        }
        self.read_only
    }

    fn act_on(&mut self, action: Action, row: PolicyRow) {
        let name = row.name.clone();
        let policy = PolicyRef::of(&row);
        match action {
            Action::TogglePolicy => self.commands.push(PolicyCommand::SetEnabled {
                policy,
                enabled: row.status != PolicyStatus::Enabled,
            }),
            Action::PolicyMode if row.mode == Mode::Enforce => {
                self.commands.push(PolicyCommand::SetMode {
                    policy,
                    mode: Mode::Monitor,
                })
            }
            // An agent's status does not say which actions a policy takes.
            Action::PolicyMode if row.place != PolicyPlace::Host => {
                let question = match row.place {
                    PolicyPlace::Cluster => format!(
                        "Enforce {name} in the cluster? Its object is set to enforce: its enforcement actions will act on matching processes on every node. y/n"
                    ),
                    _ => format!(
                        "Enforce {name} on agent {}? Its enforcement actions will act on that node's matching processes. y/n",
                        row.source
                    ),
                };
                let command = PolicyCommand::SetMode {
                    policy,
                    mode: Mode::Enforce,
                };
                self.ask_or_run(command, question);
            }
            Action::PolicyMode if row.enforcement.is_empty() => {
                self.message = Some(format!(
                    "{name} has no enforcement action (monitor only): nothing to enforce"
                ));
            }
            Action::PolicyMode => {
                let command = PolicyCommand::SetMode {
                    policy,
                    mode: Mode::Enforce,
                };
                let actions: Vec<String> =
                    row.enforcement.iter().map(|a| format!("{a:?}")).collect();
                self.ask_or_run(
                    command,
                    format!(
                        "Enforce {name}? Its {} will act on matching processes (PID 1 and tetrascope excepted). y/n",
                        actions.join(", ")
                    ),
                );
            }
            // Deleting an object of the cluster unloads it everywhere, for everyone.
            Action::UnloadPolicy if row.place == PolicyPlace::Cluster => {
                self.confirm = Some(Confirmation {
                    question: format!(
                        "Delete {name} from the cluster? Every node's agent unloads it. y/n"
                    ),
                    command: PolicyCommand::Unload(policy),
                });
            }
            Action::UnloadPolicy => self.commands.push(PolicyCommand::Unload(policy)),
            Action::ReloadPolicy => self.commands.push(PolicyCommand::Reload(policy)),
            _ => {}
        }
    }

    /// Asks `question` before running `command`, unless confirmations are off.
    fn ask_or_run(&mut self, command: PolicyCommand, question: String) {
        if self.skip_confirmation {
            self.commands.push(command);
        } else {
            self.confirm = Some(Confirmation { question, command });
        }
    }

    /// y runs the confirmed command, anything else drops it.
    pub fn confirm_key(&mut self, key: KeyEvent) {
        let Some(confirmation) = self.confirm.take() else {
            return;
        };
        if matches!(key.code, KeyCode::Char('y' | 'Y')) {
            self.commands.push(confirmation.command);
        } else {
            self.message = Some("not changed".into());
        }
    }

    /// Editing the load prompt: Enter loads, Esc cancels, Tab completes the path.
    pub fn prompt_key(&mut self, key: KeyEvent) {
        let Some(input) = self.prompt.as_mut() else {
            return;
        };
        match key.code {
            KeyCode::Enter => {
                let path = std::mem::take(input);
                self.prompt = None;
                if !path.trim().is_empty() {
                    self.commands
                        .push(PolicyCommand::Load(expand_home(path.trim())));
                }
            }
            KeyCode::Esc => self.prompt = None,
            KeyCode::Tab => *input = complete_path(input),
            KeyCode::Backspace => {
                input.pop();
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => input.clear(),
            KeyCode::Char(c) => input.push(c),
            _ => {}
        }
    }

    /// Notes kills, would-be kills and hits from the stream.
    pub fn observe(&mut self, event: &Event) {
        let Some(policy) = policy_name(event) else {
            return;
        };
        let process = event.process();
        let hook = hook_name(event);
        let binary = process.map(|p| p.binary.clone()).unwrap_or_default();
        let summary = format!(
            "{hook} by {binary} (pid {})",
            process
                .and_then(|p| p.pid)
                .map_or("?".into(), |p| p.to_string())
        );
        let hits = match self.hits.iter_mut().find(|(name, _)| name == policy) {
            Some((_, hits)) => hits,
            None => {
                self.hits.push((policy.to_owned(), VecDeque::new()));
                &mut self.hits.last_mut().expect("just pushed").1
            }
        };
        if hits.len() == HITS_KEPT {
            hits.pop_front();
        }
        hits.push_back(Hit {
            time: event.time,
            summary,
        });
        if let Some(verdict) = verdict(event) {
            self.note_kill(event, policy, verdict);
        }
    }

    /// Adds a kill (or would-be kill) of the event's process by `policy` to the recent kills.
    pub fn note_kill(&mut self, event: &Event, policy: &str, verdict: Verdict) {
        match verdict {
            Verdict::Killed => self.kills_total += 1,
            Verdict::WouldKill => self.would_kills_total += 1,
            _ => {}
        }
        if self.kills.len() == KILLS_KEPT {
            self.kills.pop_front();
        }
        let process = event.process();
        self.kills.push_back(Kill {
            time: event.time,
            pid: process.and_then(|p| p.pid),
            binary: process.map(|p| p.binary.clone()).unwrap_or_default(),
            exec_id: process.map(|p| p.exec_id.clone()).unwrap_or_default(),
            policy: policy.to_owned(),
            hook: hook_name(event),
            verdict,
        });
    }

    pub fn hits_of(&self, policy: &str) -> Option<&VecDeque<Hit>> {
        self.hits
            .iter()
            .find(|(name, _)| name == policy)
            .map(|(_, hits)| hits)
    }

    pub fn last_hit(&self, policy: &str) -> Option<Timestamp> {
        self.hits_of(policy)?.back()?.time
    }
}

/// `[policies] confirm_enforce` of the configuration file: true (ask before enforcing) unless
/// the file says `false`.
pub fn confirm_enforce(config: Option<&std::path::Path>) -> Result<bool, String> {
    let Some(path) = config.filter(|p| p.exists()) else {
        return Ok(true);
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    match table.get("policies").and_then(|p| p.get("confirm_enforce")) {
        None => Ok(true),
        Some(toml::Value::Boolean(ask)) => Ok(*ask),
        Some(other) => Err(format!(
            "{}: policies.confirm_enforce must be true or false, not {other}",
            path.display()
        )),
    }
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// Completes the last path component as far as every candidate agrees (as a shell does);
/// a single directory gets its trailing `/`.
pub fn complete_path(input: &str) -> String {
    let (dir, prefix) = match input.rfind('/') {
        Some(at) => (&input[..=at], &input[at + 1..]),
        None => ("", input),
    };
    let search = if dir.is_empty() {
        PathBuf::from(".")
    } else {
        expand_home(dir)
    };
    let Ok(entries) = std::fs::read_dir(&search) else {
        return input.to_owned();
    };
    let mut candidates: Vec<(String, bool)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let is_dir = e.file_type().ok()?.is_dir();
            name.starts_with(prefix).then_some((name, is_dir))
        })
        .collect();
    candidates.sort();
    let Some((first, _)) = candidates.first() else {
        return input.to_owned();
    };
    if let [(only, true)] = candidates.as_slice() {
        return format!("{dir}{only}/");
    }
    let common = candidates.iter().fold(first.clone(), |common, (name, _)| {
        common
            .chars()
            .zip(name.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect()
    });
    format!("{dir}{common}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, mode: Mode, enforcement: Vec<ActionKind>) -> PolicyRow {
        PolicyRow {
            name: name.into(),
            namespace: None,
            source: "api".into(),
            status: PolicyStatus::Enabled,
            mode,
            hooks: Vec::new(),
            counters: PolicyCounters::default(),
            yaml: String::new(),
            problems: Vec::new(),
            enforcement,
            place: PolicyPlace::Host,
        }
    }

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn enforcing_asks_first_and_n_leaves_it_alone() {
        let mut pane = PolicyPane::default();
        pane.set_rows(vec![row("iris", Mode::Monitor, vec![ActionKind::Sigkill])]);
        pane.handle(Action::PolicyMode);
        let question = &pane.confirm.as_ref().expect("asks").question;
        assert!(
            question.contains("Enforce iris?") && question.contains("Sigkill"),
            "{question}"
        );
        assert!(pane.commands.is_empty());
        pane.confirm_key(key('n'));
        assert!(pane.commands.is_empty() && pane.confirm.is_none());
        pane.handle(Action::PolicyMode);
        pane.confirm_key(key('y'));
        assert_eq!(
            pane.commands,
            vec![PolicyCommand::SetMode {
                policy: PolicyRef {
                    name: "iris".into(),
                    namespace: None,
                    place: PolicyPlace::Host,
                },
                mode: Mode::Enforce
            }]
        );
    }

    #[test]
    fn an_agents_policy_is_enforced_there_after_asking() {
        let mut pane = PolicyPane::default();
        let local = row("iris", Mode::Monitor, vec![ActionKind::Sigkill]);
        let remote = PolicyRow {
            source: "node-b grpc".into(),
            place: PolicyPlace::Agent(1),
            // An agent's status does not list the actions.
            enforcement: Vec::new(),
            ..local.clone()
        };
        pane.set_rows(vec![local, remote]);
        pane.move_selection(Action::Down, 1);
        pane.handle(Action::PolicyMode);
        let question = &pane.confirm.as_ref().expect("asks").question;
        assert!(question.contains("on agent node-b grpc"), "{question}");
        pane.confirm_key(key('y'));
        let policy = PolicyRef {
            name: "iris".into(),
            namespace: None,
            place: PolicyPlace::Agent(1),
        };
        assert_eq!(
            pane.commands,
            vec![PolicyCommand::SetMode {
                policy: policy.clone(),
                mode: Mode::Enforce
            }]
        );
        // The selection stays on the agent's row when the rows come again.
        pane.set_rows(pane.rows.clone());
        pane.handle(Action::UnloadPolicy);
        assert_eq!(pane.commands[1], PolicyCommand::Unload(policy));
    }

    #[test]
    fn a_cluster_policy_is_enforced_and_deleted_in_the_cluster_after_asking() {
        let mut pane = PolicyPane {
            // Deleting an object of the cluster asks even when enforcing does not.
            skip_confirmation: true,
            ..PolicyPane::default()
        };
        let agents = PolicyRow {
            namespace: Some("team-a".into()),
            source: "cluster k8s, 2 nodes".into(),
            place: PolicyPlace::Cluster,
            ..row("iris", Mode::Monitor, Vec::new())
        };
        pane.set_rows(vec![agents]);
        let policy = PolicyRef {
            name: "iris".into(),
            namespace: Some("team-a".into()),
            place: PolicyPlace::Cluster,
        };
        pane.handle(Action::PolicyMode);
        assert_eq!(
            pane.commands,
            vec![PolicyCommand::SetMode {
                policy: policy.clone(),
                mode: Mode::Enforce
            }]
        );
        pane.handle(Action::UnloadPolicy);
        let question = &pane.confirm.as_ref().expect("asks").question;
        assert!(question.contains("from the cluster"), "{question}");
        pane.confirm_key(key('y'));
        assert_eq!(pane.commands[1], PolicyCommand::Unload(policy));
    }

    #[test]
    fn monitor_needs_no_confirmation_and_monitor_only_policies_refuse_enforce() {
        let mut pane = PolicyPane::default();
        pane.set_rows(vec![
            row("iris", Mode::Enforce, vec![ActionKind::Sigkill]),
            row("watch", Mode::Monitor, Vec::new()),
        ]);
        pane.handle(Action::PolicyMode);
        assert_eq!(pane.commands.len(), 1);
        pane.move_selection(Action::Down, 1);
        pane.handle(Action::PolicyMode);
        assert_eq!(pane.commands.len(), 1, "nothing to enforce");
        assert!(pane.message.as_deref().unwrap().contains("monitor only"));
    }

    #[test]
    fn a_replay_refuses_changes() {
        let mut pane = PolicyPane {
            read_only: true,
            ..PolicyPane::default()
        };
        pane.set_rows(vec![row("iris", Mode::Enforce, vec![ActionKind::Sigkill])]);
        for action in [Action::TogglePolicy, Action::DisarmAll, Action::PolicyMode] {
            pane.handle(action);
        }
        assert!(pane.commands.is_empty());
        pane.handle(Action::LoadPolicy);
        assert!(
            pane.prompt.is_some(),
            "loading a policy in a replay is a what-if"
        );
    }

    #[test]
    fn tab_completes_paths_as_far_as_they_agree() {
        let dir = std::env::temp_dir().join(format!("tetrascope-complete-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("policies")).unwrap();
        std::fs::write(dir.join("iris-one.yaml"), "").unwrap();
        std::fs::write(dir.join("iris-two.yaml"), "").unwrap();
        let base = format!("{}/", dir.display());
        assert_eq!(complete_path(&format!("{base}ir")), format!("{base}iris-"));
        assert_eq!(
            complete_path(&format!("{base}po")),
            format!("{base}policies/")
        );
        assert_eq!(complete_path(&format!("{base}zz")), format!("{base}zz"));
    }
}
