//! The UI's state: the model built from the event stream, and where the user is in it. The only
//! state there is; rendering reads it, actions and events change it.
use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use tui_tree_widget::TreeState;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{
    action::Action,
    filter_line,
    insight::Insight,
    kept::{Interner, KeptEvent, NodeNames},
    policies::PolicyPane,
    process_tree::ProcessTree,
    search::Search,
};
use crate::event::{Event, EventFilter, Process};

/// Events kept for the stream pane; older ones are dropped (and counted).
pub const DEFAULT_EVENT_CAP: usize = 100_000;
/// How long an exited process stays in the tree.
pub const DEFAULT_KEEP_EXITED: Duration = Duration::from_secs(60);
/// How long a new process is highlighted.
pub const NEW_HIGHLIGHT: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Tree,
    Stream,
    Syscalls,
    Files,
    Policies,
}

/// What the status bar says about the source.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceStatus {
    /// "local", "replay FILE", …
    pub name: String,
    /// Records lost before they reached us (kernel ring, queues).
    pub dropped: u64,
    /// Lines of the input that could not be read.
    pub bad_lines: u64,
    /// Replay: events played, of how many (when known), speed, playing or not, finished.
    pub replay: Option<ReplayStatus>,
    /// Agents (`--agent`): each one's connection.
    pub agents: Vec<AgentStatus>,
}

/// One agent's connection, as the status bar shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AgentStatus {
    /// Its node name once known, else its address.
    pub label: String,
    pub up: bool,
    /// Why it is down and when it retries; empty while up.
    pub detail: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplayStatus {
    pub position: u64,
    pub total: Option<u64>,
    pub speed: Option<f64>,
    pub playing: bool,
    pub finished: bool,
}

pub struct App {
    pub tree: ProcessTree,
    pub events: VecDeque<KeptEvent>,
    interner: Interner,
    node_names: NodeNames,
    pub events_total: u64,
    pub events_evicted: u64,
    pub event_cap: usize,
    pub keep_exited: Duration,
    pub source: SourceStatus,
    /// Events per second over the last rate window.
    pub rate: f64,
    rate_window: (Instant, u64),

    pub focus: Pane,
    pub tree_state: TreeState<String>,
    /// Index into `events` of the selected event.
    pub stream_selected: usize,
    pub follow: bool,
    /// Tree paths follow mode opened (the user had not): closed when follow moves on.
    follow_opened: Vec<Vec<String>>,
    /// The view is frozen at this many events (collection goes on).
    pub paused_at: Option<u64>,
    pub details: bool,
    pub help: bool,
    pub details_scroll: u16,
    pub search: Search,
    /// Events that do not pass are not kept (counted in `filtered_out`).
    pub filter: EventFilter,
    /// The filter as the user wrote it (`process=… type=…`).
    pub filter_line: String,
    /// The filter line being edited, when it has the keyboard.
    pub filter_input: Option<String>,
    /// Why the last filter line was refused.
    pub filter_error: Option<String>,
    pub filtered_out: u64,
    /// The recording in progress (file, events, bytes), or the last one's outcome.
    pub recording: Option<String>,
    pub policies: PolicyPane,
    /// Syscall statistics and file accesses, and how they are shown.
    pub insight: Insight,
    /// Which of the stream, syscall and file panes the right-hand column shows.
    pub side: Pane,
    pub should_quit: bool,
}

impl App {
    pub fn new(source: SourceStatus) -> Self {
        Self {
            tree: ProcessTree::default(),
            events: VecDeque::new(),
            interner: Interner::default(),
            node_names: NodeNames::default(),
            events_total: 0,
            events_evicted: 0,
            event_cap: DEFAULT_EVENT_CAP,
            keep_exited: DEFAULT_KEEP_EXITED,
            source,
            rate: 0.0,
            rate_window: (Instant::now(), 0),
            focus: Pane::Tree,
            tree_state: TreeState::default(),
            stream_selected: 0,
            follow: true,
            follow_opened: Vec::new(),
            paused_at: None,
            details: false,
            help: false,
            details_scroll: 0,
            search: Search::default(),
            filter: EventFilter::default(),
            filter_line: String::new(),
            filter_input: None,
            filter_error: None,
            filtered_out: 0,
            recording: None,
            policies: PolicyPane::default(),
            insight: Insight::default(),
            side: Pane::Stream,
            should_quit: false,
        }
    }

    /// Sets the filter; already kept events that no longer pass are dropped and the tree is
    /// rebuilt from the rest.
    pub fn set_filter(&mut self, line: &str) -> Result<(), String> {
        self.filter = filter_line::parse(line)?;
        self.filter_line = line.trim().to_string();
        self.filter_error = None;
        let kept: Vec<Event> = self.events.drain(..).map(|k| k.event()).collect();
        let dropped = kept.iter().filter(|e| !self.filter.matches(e)).count() as u64;
        self.filtered_out += dropped;
        self.tree = ProcessTree::default();
        self.tree_state = TreeState::default();
        let now = Instant::now();
        for event in kept.into_iter().filter(|e| self.filter.matches(e)) {
            self.tree.apply(&event, now);
            let kept = KeptEvent::new(event, &mut self.interner, &mut self.node_names);
            self.events.push_back(kept);
        }
        self.interner.prune();
        self.stream_selected = self.events.len().saturating_sub(1);
        Ok(())
    }

    pub fn ingest(&mut self, event: Event, now: Instant) {
        // Statistics and file accesses feed their panes, not the stream.
        if self.insight.apply(&event) {
            return;
        }
        // Kills count whatever the filter keeps.
        self.policies.observe(&event);
        if !self.filter.matches(&event) {
            self.filtered_out += 1;
            return;
        }
        self.tree.apply(&event, now);
        if self.events.len() == self.event_cap {
            self.events.pop_front();
            self.events_evicted += 1;
            self.stream_selected = self.stream_selected.saturating_sub(1);
        }
        let kept = KeptEvent::new(event, &mut self.interner, &mut self.node_names);
        self.events.push_back(kept);
        self.events_total += 1;
        if self.follow && self.paused_at.is_none() {
            self.stream_selected = self.events.len() - 1;
        }
    }

    /// Starts over from a set of living processes (after a replay seek).
    pub fn reset(&mut self, processes: Vec<Process>, now: Instant) {
        let source = std::mem::take(&mut self.source);
        let (focus, follow) = (self.focus, self.follow);
        let (filter, filter_line) = (self.filter.clone(), std::mem::take(&mut self.filter_line));
        let policies = std::mem::take(&mut self.policies);
        let side = self.side;
        *self = App::new(source);
        self.policies = policies;
        self.side = side;
        self.focus = focus;
        self.follow = follow;
        self.filter = filter;
        self.filter_line = filter_line;
        for process in processes {
            let event = Event::new(crate::event::EventBody::ProcessExec(
                crate::event::ProcessExec {
                    process: Some(process),
                    parent: None,
                    ancestors: Vec::new(),
                },
            ));
            self.tree.apply(&event, now);
        }
    }

    /// Once a second or so: rates, expiry of exited processes.
    pub fn tick(&mut self, now: Instant) {
        let (since, count) = self.rate_window;
        let elapsed = now.duration_since(since).as_secs_f64();
        if elapsed >= 1.0 {
            self.rate = (self.events_total - count) as f64 / elapsed;
            self.rate_window = (now, self.events_total);
        }
        if self.paused_at.is_none() {
            self.tree.expire(now, self.keep_exited);
        }
        self.interner.prune();
    }

    /// Whether events came from more than one node: rows then name their node.
    pub fn several_nodes(&self) -> bool {
        self.node_names.len() > 1
    }

    /// The width of the node column (0 with a single node).
    pub fn node_width(&self) -> usize {
        if self.several_nodes() {
            self.node_names.widest()
        } else {
            0
        }
    }

    /// Events the stream pane shows: all of them, or those before the pause.
    pub fn visible_events(&self) -> usize {
        match self.paused_at {
            Some(at) => {
                let kept_before_pause = at.saturating_sub(self.events_evicted) as usize;
                kept_before_pause.min(self.events.len())
            }
            None => self.events.len(),
        }
    }

    fn selected_kept(&self) -> Option<&KeptEvent> {
        (self.stream_selected < self.visible_events())
            .then(|| self.events.get(self.stream_selected))
            .flatten()
    }

    /// The selected event of the stream pane, rebuilt whole.
    pub fn selected_event(&self) -> Option<Event> {
        self.selected_kept().map(KeptEvent::event)
    }

    pub fn selected_process(&self) -> Option<&Process> {
        match self.focus {
            Pane::Tree => self.tree_selection(),
            Pane::Stream => self.selected_kept().and_then(KeptEvent::process),
            Pane::Files => self.insight.selected_file().map(|row| &row.process),
            Pane::Syscalls | Pane::Policies => None,
        }
    }

    /// The process selected in the tree, whatever has the focus (the syscall pane follows it).
    pub fn tree_selection(&self) -> Option<&Process> {
        self.tree_state
            .selected()
            .last()
            .and_then(|id| self.tree.get(id))
            .map(|n| &n.process)
    }

    /// Whether the policy pane is on screen: as soon as there is a policy, or a kill to show.
    pub fn shows_policies(&self) -> bool {
        !self.policies.rows.is_empty()
            || self.policies.kills_total + self.policies.would_kills_total > 0
    }

    /// Applies a UI action (replay controls are the runner's). Returns true if it changed
    /// anything on screen.
    pub fn handle(&mut self, action: Action, page: usize) -> bool {
        if self.help && !matches!(action, Action::Help | Action::Back | Action::Quit) {
            return false;
        }
        match action {
            Action::Search if self.focus == Pane::Files => {
                self.insight.file_filter_editing = true;
            }
            Action::Details if self.focus == Pane::Files => {
                // Enter on a file row opens its process in the tree.
                let exec_id = self.insight.selected_file().map(|r| r.exec_id().to_owned());
                if let Some(exec_id) = exec_id {
                    self.focus = Pane::Tree;
                    self.follow = false;
                    self.reveal(&exec_id);
                }
            }
            Action::Quit => self.should_quit = true,
            Action::Help => self.help = !self.help,
            Action::Back => {
                if !self.help && !self.details {
                    self.search.query.clear();
                }
                self.help = false;
                self.details = false;
            }
            Action::Search => {
                self.search.editing = true;
                self.focus = Pane::Tree;
            }
            Action::Filter => self.filter_input = Some(self.filter_line.clone()),
            Action::NextMatch | Action::PreviousMatch => {
                self.search.refresh(&self.tree);
                let current = self.tree_state.selected().last().cloned();
                let next = self
                    .search
                    .next_after(current.as_deref(), action == Action::NextMatch)
                    .map(str::to_string);
                if let Some(id) = next {
                    self.focus = Pane::Tree;
                    self.follow = false;
                    self.reveal(&id);
                }
            }
            Action::NextPane | Action::PreviousPane => {
                let mut panes = vec![Pane::Tree, Pane::Stream, Pane::Syscalls, Pane::Files];
                if self.shows_policies() {
                    panes.push(Pane::Policies);
                }
                let at = panes.iter().position(|p| *p == self.focus).unwrap_or(0);
                let step = if action == Action::NextPane {
                    1
                } else {
                    panes.len() - 1
                };
                self.focus = panes[(at + step) % panes.len()];
                if matches!(self.focus, Pane::Stream | Pane::Syscalls | Pane::Files) {
                    self.side = self.focus;
                }
            }
            Action::Sort => match self.focus {
                Pane::Syscalls => self.insight.toggle_syscall_order(),
                Pane::Files => self.insight.cycle_file_sort(),
                _ => return false,
            },
            Action::TopBinaries => {
                self.insight.top_binaries = !self.insight.top_binaries;
                self.focus = Pane::Syscalls;
                self.side = Pane::Syscalls;
            }
            Action::SyscallCounting => match self.insight.counting {
                Some(on) => self.insight.counting_request = Some(!on),
                None => return false,
            },
            Action::TogglePolicy
            | Action::PolicyMode
            | Action::LoadPolicy
            | Action::UnloadPolicy
            | Action::ReloadPolicy
            | Action::DisarmAll
            | Action::Kills => return self.policies.handle(action),
            Action::Details => {
                self.details = !self.details;
                self.details_scroll = 0;
            }
            Action::Follow => {
                self.follow = !self.follow;
                if self.follow {
                    self.stream_selected = self.visible_events().saturating_sub(1);
                    self.select_newest_process();
                }
            }
            Action::Pause => {
                self.paused_at = match self.paused_at {
                    Some(_) => None,
                    None => Some(self.events_total),
                };
            }
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::First
            | Action::Last => self.move_selection(action, page),
            Action::Expand => {
                self.tree_state.key_right();
            }
            Action::Collapse => {
                self.tree_state.key_left();
            }
            Action::ExpandAll => {
                for id in self.tree.walk() {
                    self.tree_state.open(self.tree.path_to(id));
                }
            }
            Action::CollapseAll => {
                self.tree_state.close_all();
            }
            Action::Parent => {
                let parent = self
                    .selected_process()
                    .and_then(|p| self.tree.parent_of(&p.exec_id))
                    .map(str::to_string);
                if let Some(parent) = parent {
                    self.focus = Pane::Tree;
                    self.reveal(&parent);
                }
            }
            // Recording and replay controls are the runner's.
            Action::Record
            | Action::SpeedUp
            | Action::SpeedDown
            | Action::Step
            | Action::SeekBack
            | Action::SeekForward => return false,
        }
        true
    }

    /// A key while the search line is open: edit the query; Enter keeps it and goes to the
    /// first match, Esc drops it.
    pub fn search_key(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.should_quit = true
            }
            KeyCode::Char(c) => self.search.query.push(c),
            KeyCode::Backspace => {
                self.search.query.pop();
            }
            KeyCode::Enter => {
                self.search.editing = false;
                self.tree_state.select(Vec::new());
                self.handle(Action::NextMatch, 0);
            }
            KeyCode::Esc => {
                self.search.editing = false;
                self.search.query.clear();
            }
            _ => {}
        }
    }

    /// A key while the filter line is open: Enter applies it (a bad line is refused with the
    /// reason and the old filter stays), Esc leaves the filter as it was.
    pub fn filter_key(&mut self, key: KeyEvent) {
        let Some(input) = self.filter_input.as_mut() else {
            return;
        };
        match key.code {
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.should_quit = true
            }
            KeyCode::Char(c) => input.push(c),
            KeyCode::Backspace => {
                input.pop();
            }
            KeyCode::Enter => {
                let line = input.clone();
                self.filter_input = None;
                if let Err(why) = self.set_filter(&line) {
                    self.filter_error = Some(why);
                }
            }
            KeyCode::Esc => self.filter_input = None,
            _ => {}
        }
    }

    fn move_selection(&mut self, action: Action, page: usize) {
        if self.details {
            self.details_scroll = match action {
                Action::Up => self.details_scroll.saturating_sub(1),
                Action::Down => self.details_scroll.saturating_add(1),
                Action::PageUp => self.details_scroll.saturating_sub(page as u16),
                Action::PageDown => self.details_scroll.saturating_add(page as u16),
                Action::First => 0,
                _ => self.details_scroll,
            };
            return;
        }
        if self.focus == Pane::Policies {
            self.policies.move_selection(action, page);
            return;
        }
        if self.focus == Pane::Files {
            let page = page as isize;
            match action {
                Action::Up => self.insight.move_file_selection(-1, None),
                Action::Down => self.insight.move_file_selection(1, None),
                Action::PageUp => self.insight.move_file_selection(-page, None),
                Action::PageDown => self.insight.move_file_selection(page, None),
                Action::First => self.insight.move_file_selection(0, Some(false)),
                _ => self.insight.move_file_selection(0, Some(true)),
            }
            return;
        }
        self.follow = false;
        match self.focus {
            Pane::Policies | Pane::Syscalls | Pane::Files => {}
            Pane::Tree => {
                match action {
                    Action::Up => self.tree_state.key_up(),
                    Action::Down => self.tree_state.key_down(),
                    Action::PageUp => self
                        .tree_state
                        .select_relative(|i| i.map_or(0, |i| i.saturating_sub(page))),
                    Action::PageDown => self
                        .tree_state
                        .select_relative(|i| i.map_or(0, |i| i.saturating_add(page))),
                    Action::First => self.tree_state.select_first(),
                    _ => self.tree_state.select_last(),
                };
            }
            Pane::Stream => {
                let last = self.visible_events().saturating_sub(1);
                let s = self.stream_selected;
                self.stream_selected = match action {
                    Action::Up => s.saturating_sub(1),
                    Action::Down => (s + 1).min(last),
                    Action::PageUp => s.saturating_sub(page),
                    Action::PageDown => (s + page).min(last),
                    Action::First => 0,
                    _ => last,
                };
                // The selected event's process is highlighted in the tree.
                if let Some(id) = self
                    .selected_kept()
                    .and_then(KeptEvent::process)
                    .map(|p| p.exec_id.clone())
                {
                    self.reveal(&id);
                }
            }
        }
    }

    /// Opens the ancestors of `exec_id` and selects it in the tree.
    pub fn reveal(&mut self, exec_id: &str) {
        let path = self.tree.path_to(exec_id);
        for depth in 1..path.len() {
            self.tree_state.open(path[..depth].to_vec());
        }
        self.tree_state.select(path);
    }

    /// Follow mode in the tree: the newest process (by the order they appeared) is selected.
    pub fn select_newest_process(&mut self) {
        let newest = self
            .events
            .iter()
            .rev()
            .find_map(|e| e.process().map(|p| p.exec_id.clone()));
        let Some(id) = newest else {
            return;
        };
        // Follow opens the newest process's ancestors and closes the ones it opened for the
        // previous newest: the tree stays as small as the user left it.
        let path = self.tree.path_to(&id);
        for opened in std::mem::take(&mut self.follow_opened) {
            if path.starts_with(&opened) {
                self.follow_opened.push(opened);
            } else {
                self.tree_state.close(&opened);
            }
        }
        for depth in 1..path.len() {
            let prefix = path[..depth].to_vec();
            if !self.tree_state.opened().contains(&prefix) {
                self.tree_state.open(prefix.clone());
                self.follow_opened.push(prefix);
            }
        }
        self.tree_state.select(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventBody, ProcessExec};

    fn exec(id: &str, parent: &str) -> Event {
        Event::new(EventBody::ProcessExec(ProcessExec {
            process: Some(Process {
                exec_id: id.into(),
                parent_exec_id: parent.into(),
                ..Process::default()
            }),
            parent: None,
            ancestors: Vec::new(),
        }))
    }

    fn opened(app: &App) -> Vec<Vec<String>> {
        let mut paths: Vec<Vec<String>> = app.tree_state.opened().iter().cloned().collect();
        paths.sort();
        paths
    }

    #[test]
    fn follow_closes_what_it_opened_for_the_previous_newest() {
        let now = Instant::now();
        let mut app = App::new(SourceStatus::default());
        for (id, parent) in [("root", ""), ("a", "root"), ("b", "root"), ("b1", "b")] {
            app.ingest(exec(id, parent), now);
        }
        app.select_newest_process();
        let path = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(opened(&app), [path(&["root"]), path(&["root", "b"])]);

        app.ingest(exec("a1", "a"), now);
        app.select_newest_process();
        assert_eq!(opened(&app), [path(&["root"]), path(&["root", "a"])]);
        assert_eq!(app.tree_state.selected(), path(&["root", "a", "a1"]));

        // What the user opened stays open.
        app.tree_state.open(path(&["root", "b"]));
        app.ingest(exec("a2", "a"), now);
        app.select_newest_process();
        assert!(opened(&app).contains(&path(&["root", "b"])));
    }
}
