//! Everything a user can ask of the UI. Keys map to actions (keys.rs); the app applies them.

/// One user intent. The key table, the help screen and the README's key list are all built from
/// [`Action::ALL`] and [`Action::describe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Quit,
    Help,
    NextPane,
    PreviousPane,
    Up,
    Down,
    PageUp,
    PageDown,
    First,
    Last,
    Expand,
    Collapse,
    ExpandAll,
    CollapseAll,
    Parent,
    Follow,
    Pause,
    Details,
    Back,
    Search,
    NextMatch,
    PreviousMatch,
    Filter,
    Record,
    SpeedUp,
    SpeedDown,
    Step,
    SeekBack,
    SeekForward,
    TogglePolicy,
    PolicyMode,
    LoadPolicy,
    UnloadPolicy,
    ReloadPolicy,
    DisarmAll,
    Kills,
    Sort,
    TopBinaries,
    SyscallCounting,
}

impl Action {
    pub const ALL: [Action; 39] = [
        Action::Quit,
        Action::Help,
        Action::NextPane,
        Action::PreviousPane,
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::First,
        Action::Last,
        Action::Expand,
        Action::Collapse,
        Action::ExpandAll,
        Action::CollapseAll,
        Action::Parent,
        Action::Follow,
        Action::Pause,
        Action::Details,
        Action::Back,
        Action::Search,
        Action::NextMatch,
        Action::PreviousMatch,
        Action::Filter,
        Action::Record,
        Action::SpeedUp,
        Action::SpeedDown,
        Action::Step,
        Action::SeekBack,
        Action::SeekForward,
        Action::TogglePolicy,
        Action::PolicyMode,
        Action::LoadPolicy,
        Action::UnloadPolicy,
        Action::ReloadPolicy,
        Action::DisarmAll,
        Action::Kills,
        Action::Sort,
        Action::TopBinaries,
        Action::SyscallCounting,
    ];

    /// Actions that act on the selected policy: their keys may also serve a global action, which
    /// they take over while the policy pane has the focus (Space enables a policy there).
    pub fn policy_pane_only(self) -> bool {
        matches!(
            self,
            Action::TogglePolicy | Action::PolicyMode | Action::UnloadPolicy | Action::ReloadPolicy
        )
    }

    /// The name used in the key configuration file (`[keys]` table).
    pub fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "help",
            Action::NextPane => "next-pane",
            Action::PreviousPane => "previous-pane",
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page-up",
            Action::PageDown => "page-down",
            Action::First => "first",
            Action::Last => "last",
            Action::Expand => "expand",
            Action::Collapse => "collapse",
            Action::ExpandAll => "expand-all",
            Action::CollapseAll => "collapse-all",
            Action::Parent => "parent",
            Action::Follow => "follow",
            Action::Pause => "pause",
            Action::Details => "details",
            Action::Back => "back",
            Action::Search => "search",
            Action::NextMatch => "next-match",
            Action::PreviousMatch => "previous-match",
            Action::Filter => "filter",
            Action::Record => "record",
            Action::SpeedUp => "speed-up",
            Action::SpeedDown => "speed-down",
            Action::Step => "step",
            Action::SeekBack => "seek-back",
            Action::SeekForward => "seek-forward",
            Action::TogglePolicy => "toggle-policy",
            Action::PolicyMode => "policy-mode",
            Action::LoadPolicy => "load-policy",
            Action::UnloadPolicy => "unload-policy",
            Action::ReloadPolicy => "reload-policy",
            Action::DisarmAll => "disarm-all",
            Action::Kills => "kills",
            Action::Sort => "sort",
            Action::TopBinaries => "top-binaries",
            Action::SyscallCounting => "syscall-counting",
        }
    }

    /// One line for the help screen and the README.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "show or hide this help",
            Action::NextPane => "focus the next pane",
            Action::PreviousPane => "focus the previous pane",
            Action::Up => "move up",
            Action::Down => "move down",
            Action::PageUp => "move a page up",
            Action::PageDown => "move a page down",
            Action::First => "go to the first row",
            Action::Last => "go to the last row",
            Action::Expand => "open the selected process",
            Action::Collapse => "close the selected process (or go to its parent)",
            Action::ExpandAll => "open every process",
            Action::CollapseAll => "close every process",
            Action::Parent => "jump to the parent process",
            Action::Follow => "follow the newest events and processes",
            Action::Pause => "pause the view (collection and recording go on); play/pause a replay",
            Action::Details => "show the details of the selection",
            Action::Back => "close details, help or search",
            Action::Search => "fuzzy search (binary, arguments, pod, namespace, exec_id)",
            Action::NextMatch => "next search match",
            Action::PreviousMatch => "previous search match",
            Action::Filter => "filter events: process=REGEX pod=REGEX namespace=NS type=TYPE",
            Action::Record => "live: start or stop recording every event to tetrascope-TIME.jsonl",
            Action::SpeedUp => "replay faster",
            Action::SpeedDown => "replay slower",
            Action::Step => "replay one event",
            Action::SeekBack => "replay: jump 10 s back",
            Action::SeekForward => "replay: jump 10 s forward",
            Action::TogglePolicy => "policy pane: enable or disable the selected policy",
            Action::PolicyMode => {
                "policy pane: switch the selected policy between enforce and monitor (enforce asks first)"
            }
            Action::LoadPolicy => "load a policy file or directory (path prompt, Tab completes)",
            Action::UnloadPolicy => "policy pane: unload the selected policy",
            Action::ReloadPolicy => "policy pane: reload the selected policy from its file",
            Action::DisarmAll => "disarm all: switch every policy to monitor at once",
            Action::Kills => "show or hide the recent kills",
            Action::Sort => "syscall pane: by count or by rate; file pane: next sort order",
            Action::TopBinaries => "syscall pane: the busiest binaries, or the selected process",
            Action::SyscallCounting => {
                "live: switch syscall counting on or off (it costs on every syscall)"
            }
        }
    }
}
