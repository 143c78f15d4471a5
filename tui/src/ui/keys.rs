//! Key bindings: which key triggers which [`Action`].
//!
//! The defaults follow htop, btop and tracexec (`q` quits, `?`/`F1` for help, vi-style `hjkl`,
//! `/` searches, `Space` pauses). `~/.config/tetrascope/config.toml` may rebind any action in
//! its `[keys]` table; every action it names gets exactly the keys listed there, every other
//! action keeps its defaults:
//!
//! ```toml
//! [keys]
//! quit = "x"                # one key
//! help = ["?", "F1", "h"]   # or several (then rebind `collapse`, which has `h` by default)
//! collapse = ["Left", "-"]
//! step = []                 # unbound
//! ```
//!
//! Key names are single characters (case-sensitive: `U` is shift-u), `Space`, `Enter`, `Esc`,
//! `Tab`, `BackTab`, `Backspace`, `Delete`, `Insert`, `Up`, `Down`, `Left`, `Right`, `PageUp`,
//! `PageDown`, `Home`, `End` and `F1`..`F12`, optionally prefixed by `Ctrl-`, `Alt-` or `Shift-`.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::action::Action;
use super::config_file::{ConfigFileError, line_column};

/// A key as bindings store it: normalised by [`normalise`].
type Key = (KeyCode, KeyModifiers);

/// The default keys of every action, in [`Action::ALL`] order.
const DEFAULTS: [(Action, &[&str]); 39] = [
    (Action::Quit, &["q", "Ctrl-c"]),
    (Action::Help, &["?", "F1"]),
    (Action::NextPane, &["Tab"]),
    (Action::PreviousPane, &["BackTab"]),
    (Action::Up, &["Up", "k"]),
    (Action::Down, &["Down", "j"]),
    (Action::PageUp, &["PageUp"]),
    (Action::PageDown, &["PageDown"]),
    (Action::First, &["Home", "g"]),
    (Action::Last, &["End", "G"]),
    (Action::Expand, &["Right", "l", "+"]),
    (Action::Collapse, &["Left", "h", "-"]),
    (Action::ExpandAll, &["*"]),
    (Action::CollapseAll, &["_"]),
    (Action::Parent, &["U"]),
    (Action::Follow, &["f"]),
    (Action::Pause, &["Space", "p"]),
    (Action::Details, &["Enter"]),
    (Action::Back, &["Esc"]),
    (Action::Search, &["/"]),
    (Action::NextMatch, &["n"]),
    (Action::PreviousMatch, &["N"]),
    (Action::Filter, &["F"]),
    (Action::Record, &["R"]),
    (Action::SpeedUp, &[">"]),
    (Action::SpeedDown, &["<"]),
    (Action::Step, &["."]),
    (Action::SeekBack, &["["]),
    (Action::SeekForward, &["]"]),
    (Action::TogglePolicy, &["Space"]),
    (Action::PolicyMode, &["m"]),
    (Action::LoadPolicy, &["o"]),
    (Action::UnloadPolicy, &["Delete", "x"]),
    (Action::ReloadPolicy, &["r"]),
    (Action::DisarmAll, &["D"]),
    (Action::Kills, &["K"]),
    (Action::Sort, &["s"]),
    (Action::TopBinaries, &["t"]),
    (Action::SyscallCounting, &["C"]),
];

/// Named keys, by their display name. Parsing ignores case and also accepts the aliases below.
const NAMED: [(&str, KeyCode); 16] = [
    ("Space", KeyCode::Char(' ')),
    ("Enter", KeyCode::Enter),
    ("Esc", KeyCode::Esc),
    ("Tab", KeyCode::Tab),
    ("BackTab", KeyCode::BackTab),
    ("Backspace", KeyCode::Backspace),
    ("Delete", KeyCode::Delete),
    ("Insert", KeyCode::Insert),
    ("Up", KeyCode::Up),
    ("Down", KeyCode::Down),
    ("Left", KeyCode::Left),
    ("Right", KeyCode::Right),
    ("PageUp", KeyCode::PageUp),
    ("PageDown", KeyCode::PageDown),
    ("Home", KeyCode::Home),
    ("End", KeyCode::End),
];

const ALIASES: [(&str, KeyCode); 7] = [
    ("return", KeyCode::Enter),
    ("escape", KeyCode::Esc),
    ("del", KeyCode::Delete),
    ("ins", KeyCode::Insert),
    ("pgup", KeyCode::PageUp),
    ("pgdn", KeyCode::PageDown),
    ("pgdown", KeyCode::PageDown),
];

/// Which key triggers which action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyMap {
    /// The keys of each action, in [`Action::ALL`] order, each list in the order configured.
    keys: Vec<Vec<Key>>,
    /// By (policy pane only?, key): see [`Action::policy_pane_only`].
    lookup: HashMap<(bool, Key), Action>,
}

/// Why the key configuration could not be loaded. The [`fmt::Display`] text is meant for the
/// user as is.
#[derive(Debug)]
pub enum KeyError {
    /// The configuration file exists but could not be read, is not valid TOML, or has a value
    /// of the wrong type (`keys.quit = 3`) or leaves `quit` without keys.
    File(ConfigFileError),
    /// A key name [`parse_key`] does not understand.
    BadKey {
        file: String,
        line: usize,
        column: usize,
        action: String,
        key: String,
        reason: String,
    },
    /// One key bound to two actions.
    Conflict {
        file: String,
        line: usize,
        column: usize,
        key: String,
        actions: [Action; 2],
        /// Whether each of `actions` kept its default keys (was not set in the file).
        defaults: [bool; 2],
    },
}

impl From<ConfigFileError> for KeyError {
    fn from(error: ConfigFileError) -> KeyError {
        KeyError::File(error)
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::File(error) => fmt::Display::fmt(error, f),
            KeyError::BadKey {
                file,
                line,
                column,
                action,
                key,
                reason,
            } => write!(
                f,
                "{file}:{line}:{column}: `keys.{action}`: cannot use key `{key}`: {reason}"
            ),
            KeyError::Conflict {
                file,
                line,
                column,
                key,
                actions,
                defaults,
            } => {
                write!(
                    f,
                    "{file}:{line}:{column}: key `{key}` is bound to both `{}` and `{}`",
                    actions[0].name(),
                    actions[1].name()
                )?;
                for (action, default) in actions.iter().zip(defaults) {
                    if *default {
                        write!(
                            f,
                            "; `{0}` has it by default: give `{0}` other keys too",
                            action.name()
                        )?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for KeyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KeyError::File(error) => error.source(),
            KeyError::BadKey { .. } | KeyError::Conflict { .. } => None,
        }
    }
}

impl Default for KeyMap {
    fn default() -> KeyMap {
        KeyMap::defaults()
    }
}

impl KeyMap {
    /// The built-in bindings (htop/btop/tracexec conventions).
    pub fn defaults() -> KeyMap {
        let keys: Vec<Vec<Key>> = DEFAULTS
            .iter()
            .map(|(_, names)| {
                names
                    .iter()
                    .map(|name| parse_key(name).expect("default key names parse"))
                    .collect()
            })
            .collect();
        let (lookup, conflict) = build_lookup(&keys);
        assert!(conflict.is_none(), "default key bindings conflict");
        KeyMap { keys, lookup }
    }

    /// The action `key` triggers, if any. Key releases trigger nothing; SHIFT is ignored for
    /// characters (the character itself says whether shift was held).
    pub fn action(&self, key: KeyEvent) -> Option<Action> {
        self.action_in(key, false)
    }

    /// The action of `key` where the focus is: in the policy pane its own actions come first.
    pub fn action_in(&self, key: KeyEvent, policy_pane: bool) -> Option<Action> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let key = normalise(key.code, key.modifiers);
        policy_pane
            .then(|| self.lookup.get(&(true, key)))
            .flatten()
            .or_else(|| self.lookup.get(&(false, key)))
            .copied()
    }

    /// The display names of the keys bound to `action`, e.g. `["?", "F1"]`; empty if unbound.
    pub fn keys_for(&self, action: Action) -> Vec<String> {
        self.keys[index(action)]
            .iter()
            .map(|&key| key_name(key))
            .collect()
    }

    /// Reads a configuration file: its `[keys]` table rebinds the actions it names; other
    /// tables of the file are left to other settings. Returns one warning per unknown action.
    pub fn load(path: &Path) -> Result<(KeyMap, Vec<String>), KeyError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigFileError::Read {
            what: "key bindings",
            path: path.to_path_buf(),
            error,
        })?;
        KeyMap::from_toml(&text, &path.display().to_string())
    }

    /// Like [`KeyMap::load`], for the text of a file; `source` names it in messages.
    pub fn from_toml(text: &str, source: &str) -> Result<(KeyMap, Vec<String>), KeyError> {
        let document =
            DeTable::parse(text).map_err(|error| ConfigFileError::parse(text, source, &error))?;
        let at = |span: Range<usize>| line_column(text, span.start);
        let mut map = KeyMap::defaults();
        let mut warnings = Vec::new();
        let Some(table) = document.get_ref().get("keys") else {
            return Ok((map, warnings));
        };
        let Some(table) = table.get_ref().as_table() else {
            return Err(ConfigFileError::value(
                text,
                source,
                table.span(),
                "keys",
                "expected a table: [keys] followed by lines such as quit = \"q\"",
            )
            .into());
        };
        // Where each key set in the file was written, for conflict messages.
        let mut written: HashMap<(Action, Key), Range<usize>> = HashMap::new();
        let mut configured = vec![false; Action::ALL.len()];
        for (name, value) in table.iter() {
            let normalised_name = name.get_ref().replace('_', "-");
            let Some(action) = Action::ALL
                .into_iter()
                .find(|action| action.name() == normalised_name)
            else {
                warnings.push(format!(
                    "{source}: unknown action `{}` in [keys] (ignored); the actions are {}",
                    name.get_ref(),
                    Action::ALL.map(Action::name).join(", ")
                ));
                continue;
            };
            let mut keys = Vec::new();
            for (key_text, span) in key_names(value).map_err(|span| {
                ConfigFileError::value(
                    text,
                    source,
                    span,
                    format!("keys.{}", name.get_ref()),
                    "expected a key name such as \"q\" or a list such as \
                     [\"q\", \"Ctrl-c\"]",
                )
            })? {
                let key = parse_key(key_text).map_err(|reason| {
                    let (line, column) = at(span.clone());
                    KeyError::BadKey {
                        file: source.to_string(),
                        line,
                        column,
                        action: name.get_ref().to_string(),
                        key: key_text.to_string(),
                        reason,
                    }
                })?;
                if !keys.contains(&key) {
                    keys.push(key);
                    written.insert((action, key), span);
                }
            }
            if action == Action::Quit && keys.is_empty() {
                return Err(ConfigFileError::value(
                    text,
                    source,
                    value.span(),
                    format!("keys.{}", name.get_ref()),
                    "`quit` needs at least one key",
                )
                .into());
            }
            map.keys[index(action)] = keys;
            configured[index(action)] = true;
        }
        let (lookup, conflict) = build_lookup(&map.keys);
        if let Some((key, first, second)) = conflict {
            let span = written
                .get(&(second, key))
                .or_else(|| written.get(&(first, key)))
                .cloned()
                .unwrap_or(0..0);
            let (line, column) = at(span);
            return Err(KeyError::Conflict {
                file: source.to_string(),
                line,
                column,
                key: key_name(key),
                actions: [first, second],
                defaults: [!configured[index(first)], !configured[index(second)]],
            });
        }
        map.lookup = lookup;
        Ok((map, warnings))
    }

    /// `$XDG_CONFIG_HOME/tetrascope/config.toml`, else `~/.config/tetrascope/config.toml`;
    /// `None` without a home directory.
    pub fn config_path() -> Option<PathBuf> {
        config_path_from(
            std::env::var_os("XDG_CONFIG_HOME"),
            std::env::var_os("HOME"),
        )
    }

    /// [`KeyMap::load`] of [`KeyMap::config_path`], or the defaults when there is no such file.
    pub fn load_default_location() -> Result<(KeyMap, Vec<String>), KeyError> {
        load_if_present(KeyMap::config_path().as_deref())
    }

    /// One line per action, in [`Action::ALL`] order: its keys joined by ", " (or "(unbound)")
    /// and [`Action::describe`].
    pub fn help_lines(&self) -> Vec<(String, &'static str)> {
        Action::ALL
            .into_iter()
            .map(|action| {
                let keys = self.keys_for(action);
                let keys = if keys.is_empty() {
                    "(unbound)".to_string()
                } else {
                    keys.join(", ")
                };
                (keys, action.describe())
            })
            .collect()
    }
}

/// The Markdown table of bindings the README embeds between `<!-- keys:start -->` and
/// `<!-- keys:end -->`: a `| keys | action |` header and one row per action.
pub fn readme_key_table(map: &KeyMap) -> String {
    let mut table = String::from("| keys | action |\n| --- | --- |\n");
    for action in Action::ALL {
        let keys = map.keys_for(action);
        let keys = if keys.is_empty() {
            "(unbound)".to_string()
        } else {
            keys.iter()
                .map(|key| code_span(key))
                .collect::<Vec<_>>()
                .join(", ")
        };
        table.push_str(&format!(
            "| {keys} | {} |\n",
            action.describe().replace('|', "\\|")
        ));
    }
    table
}

/// A Markdown code span for a key name inside a table cell.
fn code_span(key: &str) -> String {
    let key = key.replace('|', "\\|");
    if key.contains('`') {
        format!("`` {key} ``")
    } else {
        format!("`{key}`")
    }
}

/// Parses a key name: a single character (case-sensitive), or one of `Space`, `Enter`, `Esc`,
/// `Tab`, `BackTab`, `Backspace`, `Delete`, `Insert`, `Up`, `Down`, `Left`, `Right`, `PageUp`,
/// `PageDown`, `Home`, `End`, `F1`..`F12` (any case), each optionally prefixed by `Ctrl-`,
/// `Alt-` and `Shift-`. The result is normalised as [`KeyMap::action`] matches it: `Shift-u` is
/// `U`, `Shift-Tab` is `BackTab`, `Ctrl-C` is `Ctrl-c`.
pub fn parse_key(text: &str) -> Result<(KeyCode, KeyModifiers), String> {
    let mut rest = text;
    let mut modifiers = KeyModifiers::NONE;
    while let Some((prefix, tail)) = rest.split_once('-') {
        if tail.is_empty() {
            break; // "-" itself, or "Ctrl--"
        }
        let modifier = match prefix.to_ascii_lowercase().as_str() {
            "ctrl" | "control" => KeyModifiers::CONTROL,
            "alt" => KeyModifiers::ALT,
            "shift" => KeyModifiers::SHIFT,
            _ => break,
        };
        if modifiers.contains(modifier) {
            return Err(format!("`{prefix}-` is given twice"));
        }
        modifiers |= modifier;
        rest = tail;
    }
    let mut chars = rest.chars();
    let code = match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_control() => {
            return Err("a control character; write Tab, Enter, Ctrl-x and so on".to_string());
        }
        (Some(c), None) => {
            if modifiers.contains(KeyModifiers::SHIFT) && !c.is_alphabetic() {
                return Err(format!(
                    "Shift- only goes with letters and named keys; write the shifted character \
                     itself instead of Shift-{c}"
                ));
            }
            KeyCode::Char(c)
        }
        _ => named_key(rest).ok_or_else(|| {
            if rest.is_empty() {
                "no key after the modifiers".to_string()
            } else {
                format!(
                    "unknown key name `{rest}`; expected a single character, {}, or F1..F12, \
                     optionally after Ctrl-, Alt- or Shift-",
                    NAMED.map(|(name, _)| name).join(", ")
                )
            }
        })?,
    };
    Ok(normalise(code, modifiers))
}

fn named_key(name: &str) -> Option<KeyCode> {
    let lower = name.to_ascii_lowercase();
    if let Some(digits) = lower.strip_prefix('f')
        && !digits.starts_with('0')
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(number) = digits.parse::<u8>()
        && (1..=12).contains(&number)
    {
        return Some(KeyCode::F(number));
    }
    NAMED
        .iter()
        .chain(&ALIASES)
        .find(|(known, _)| known.to_ascii_lowercase() == lower)
        .map(|&(_, code)| code)
}

/// The form bindings are stored and looked up in. Characters carry no SHIFT (a shifted letter
/// is its upper case, whether the terminal reports `U` or shift+`u`, and shifted symbols such as
/// `?` come with or without SHIFT depending on the terminal); with Ctrl a letter is lower case
/// (terminals cannot tell Ctrl-C from Ctrl-c); shift+Tab is BackTab.
fn normalise(code: KeyCode, mut modifiers: KeyModifiers) -> Key {
    let shift = modifiers.contains(KeyModifiers::SHIFT);
    match code {
        KeyCode::Char(c) => {
            modifiers.remove(KeyModifiers::SHIFT);
            let c = if modifiers.contains(KeyModifiers::CONTROL) {
                c.to_ascii_lowercase()
            } else if shift {
                let mut upper = c.to_uppercase();
                match (upper.next(), upper.next()) {
                    (Some(upper), None) => upper,
                    _ => c,
                }
            } else {
                c
            };
            (KeyCode::Char(c), modifiers)
        }
        KeyCode::BackTab => {
            modifiers.remove(KeyModifiers::SHIFT);
            (KeyCode::BackTab, modifiers)
        }
        KeyCode::Tab if shift => {
            modifiers.remove(KeyModifiers::SHIFT);
            (KeyCode::BackTab, modifiers)
        }
        other => (other, modifiers),
    }
}

/// The display name of a normalised key; [`parse_key`] reads it back.
fn key_name((code, modifiers): Key) -> String {
    let mut name = String::new();
    for (modifier, prefix) in [
        (KeyModifiers::CONTROL, "Ctrl-"),
        (KeyModifiers::ALT, "Alt-"),
        (KeyModifiers::SHIFT, "Shift-"),
    ] {
        if modifiers.contains(modifier) {
            name.push_str(prefix);
        }
    }
    match code {
        KeyCode::F(number) => name.push_str(&format!("F{number}")),
        KeyCode::Char(c) if c != ' ' => name.push(c),
        code => match NAMED.iter().find(|(_, named)| *named == code) {
            Some((display, _)) => name.push_str(display),
            None => name.push_str(&format!("{code:?}")),
        },
    }
    name
}

fn index(action: Action) -> usize {
    Action::ALL
        .iter()
        .position(|&known| known == action)
        .expect("Action::ALL lists every action")
}

/// The lookup table, and the first key found bound to two actions of the same scope (in
/// [`Action::ALL`] order).
#[allow(clippy::type_complexity)]
fn build_lookup(
    keys: &[Vec<Key>],
) -> (HashMap<(bool, Key), Action>, Option<(Key, Action, Action)>) {
    let mut lookup = HashMap::new();
    let mut conflict = None;
    for (&action, action_keys) in Action::ALL.iter().zip(keys) {
        for &key in action_keys {
            if let Some(first) = lookup.insert((action.policy_pane_only(), key), action)
                && first != action
            {
                conflict.get_or_insert((key, first, action));
            }
        }
    }
    (lookup, conflict)
}

/// The key names of one `[keys]` entry with where each is written; the value's span if it is
/// neither a string nor a list of strings.
fn key_names<'a>(
    value: &'a Spanned<DeValue<'_>>,
) -> Result<Vec<(&'a str, Range<usize>)>, Range<usize>> {
    match value.get_ref() {
        DeValue::String(text) => Ok(vec![(text.as_ref(), value.span())]),
        DeValue::Array(items) => items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::String(text) => Ok((text.as_ref(), item.span())),
                _ => Err(item.span()),
            })
            .collect(),
        _ => Err(value.span()),
    }
}

fn config_path_from(
    xdg_config_home: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    // The XDG base directory specification says to ignore relative paths.
    let base = match xdg_config_home.map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        _ => PathBuf::from(home.filter(|home| !home.is_empty())?).join(".config"),
    };
    Some(base.join("tetrascope").join("config.toml"))
}

fn load_if_present(path: Option<&Path>) -> Result<(KeyMap, Vec<String>), KeyError> {
    match path {
        Some(path) if path.exists() => KeyMap::load(path),
        _ => Ok((KeyMap::defaults(), Vec::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    fn config(text: &str) -> Result<(KeyMap, Vec<String>), KeyError> {
        KeyMap::from_toml(text, "config.toml")
    }

    #[test]
    fn defaults_cover_every_action_in_order() {
        let actions: Vec<_> = DEFAULTS.iter().map(|(action, _)| *action).collect();
        assert_eq!(actions, Action::ALL);
        let map = KeyMap::defaults();
        for action in Action::ALL {
            assert!(!map.keys_for(action).is_empty(), "{action:?}");
        }
    }

    #[test]
    fn space_pauses_except_in_the_policy_pane_where_it_toggles_the_policy() {
        let map = KeyMap::defaults();
        let space = press(KeyCode::Char(' '), KeyModifiers::NONE);
        assert_eq!(map.action_in(space, false), Some(Action::Pause));
        assert_eq!(map.action_in(space, true), Some(Action::TogglePolicy));
        let p = press(KeyCode::Char('p'), KeyModifiers::NONE);
        assert_eq!(
            map.action_in(p, true),
            Some(Action::Pause),
            "global keys still work there"
        );
        assert_eq!(
            map.action_in(press(KeyCode::Char('m'), KeyModifiers::NONE), false),
            None
        );
    }

    #[test]
    fn default_key_names_round_trip() {
        let map = KeyMap::defaults();
        for (action, names) in DEFAULTS {
            assert_eq!(map.keys_for(action), names.to_vec(), "{action:?}");
            for name in names {
                let key = parse_key(name).unwrap();
                assert_eq!(key_name(key), *name);
                assert_eq!(parse_key(&key_name(key)), Ok(key));
                let in_policy_pane = action.policy_pane_only();
                let found = map.action_in(press(key.0, key.1), in_policy_pane);
                assert_eq!(found, Some(action), "{name}");
            }
        }
    }

    #[test]
    fn documented_examples() {
        let map = KeyMap::defaults();
        assert_eq!(map.keys_for(Action::Quit), ["q", "Ctrl-c"]);
        assert_eq!(map.keys_for(Action::Help), ["?", "F1"]);
        assert_eq!(map.keys_for(Action::Pause), ["Space", "p"]);
    }

    #[test]
    fn shift_is_ignored_for_characters() {
        let map = KeyMap::defaults();
        for (c, action) in [
            ('?', Action::Help),
            ('*', Action::ExpandAll),
            ('G', Action::Last),
            ('U', Action::Parent),
            ('N', Action::PreviousMatch),
            ('<', Action::SpeedDown),
            ('>', Action::SpeedUp),
            ('_', Action::CollapseAll),
            ('+', Action::Expand),
        ] {
            for modifiers in [KeyModifiers::NONE, KeyModifiers::SHIFT] {
                assert_eq!(
                    map.action(press(KeyCode::Char(c), modifiers)),
                    Some(action),
                    "{c} {modifiers:?}"
                );
            }
        }
        // Terminals that report shift+u as a lower-case letter with SHIFT (kitty protocol).
        let shifted = press(KeyCode::Char('u'), KeyModifiers::SHIFT);
        assert_eq!(map.action(shifted), Some(Action::Parent));
        assert_eq!(
            map.action(press(KeyCode::Char('u'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            map.action(press(KeyCode::Char('g'), KeyModifiers::NONE)),
            Some(Action::First)
        );
    }

    #[test]
    fn modifiers_tab_and_releases() {
        let map = KeyMap::defaults();
        let ctrl = KeyModifiers::CONTROL;
        assert_eq!(
            map.action(press(KeyCode::Char('c'), ctrl)),
            Some(Action::Quit)
        );
        assert_eq!(
            map.action(press(KeyCode::Char('C'), ctrl | KeyModifiers::SHIFT)),
            Some(Action::Quit)
        );
        assert_eq!(
            map.action(press(KeyCode::Char('c'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(map.action(press(KeyCode::Char('q'), ctrl)), None);
        assert_eq!(
            map.action(press(KeyCode::Char('q'), KeyModifiers::ALT)),
            None
        );
        assert_eq!(
            map.action(press(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Action::PreviousPane)
        );
        assert_eq!(
            map.action(press(KeyCode::Tab, KeyModifiers::SHIFT)),
            Some(Action::PreviousPane)
        );
        assert_eq!(
            map.action(press(KeyCode::Tab, KeyModifiers::NONE)),
            Some(Action::NextPane)
        );
        assert_eq!(map.action(press(KeyCode::Up, KeyModifiers::SHIFT)), None);
        let mut release = press(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(map.action(release), None);
        release.kind = KeyEventKind::Repeat;
        assert_eq!(map.action(release), Some(Action::Quit));
    }

    #[test]
    fn parse_key_forms() {
        let none = KeyModifiers::NONE;
        let ctrl = KeyModifiers::CONTROL;
        let cases = [
            ("q", (KeyCode::Char('q'), none)),
            ("Q", (KeyCode::Char('Q'), none)),
            ("Shift-q", (KeyCode::Char('Q'), none)),
            ("ctrl-C", (KeyCode::Char('c'), ctrl)),
            ("Control-x", (KeyCode::Char('x'), ctrl)),
            ("Ctrl--", (KeyCode::Char('-'), ctrl)),
            ("-", (KeyCode::Char('-'), none)),
            ("Alt-U", (KeyCode::Char('U'), KeyModifiers::ALT)),
            (" ", (KeyCode::Char(' '), none)),
            ("space", (KeyCode::Char(' '), none)),
            ("Shift-Tab", (KeyCode::BackTab, none)),
            ("Shift-Up", (KeyCode::Up, KeyModifiers::SHIFT)),
            ("return", (KeyCode::Enter, none)),
            ("PgDn", (KeyCode::PageDown, none)),
            ("f12", (KeyCode::F(12), none)),
            (
                "Ctrl-Alt-Delete",
                (KeyCode::Delete, ctrl | KeyModifiers::ALT),
            ),
        ];
        for (text, key) in cases {
            assert_eq!(parse_key(text), Ok(key), "{text}");
        }
        for text in [
            "",
            "Ctrl-",
            "F13",
            "F0",
            "F01",
            "Foo",
            "Shift-?",
            "Hyper-x",
            "Ctrl-Ctrl-x",
            "\t",
        ] {
            assert!(parse_key(text).is_err(), "{text:?}");
        }
        assert!(parse_key("Foo").unwrap_err().contains("PageDown"));
        assert_eq!(
            key_name(parse_key("Ctrl-Alt-Delete").unwrap()),
            "Ctrl-Alt-Delete"
        );
    }

    #[test]
    fn config_file_overrides_one_action_and_keeps_the_others() {
        let path =
            std::env::temp_dir().join(format!("tetrascope-keys-test-{}.toml", std::process::id()));
        std::fs::write(
            &path,
            "theme = \"light\"\n\n[keys]\nquit = \"x\"\nhelp = [\"?\", \"F2\"]\n",
        )
        .unwrap();
        let (map, warnings) = KeyMap::load(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let defaults = KeyMap::defaults();
        assert_eq!(map.keys_for(Action::Quit), ["x"]);
        assert_eq!(map.keys_for(Action::Help), ["?", "F2"]);
        for action in Action::ALL {
            if !matches!(action, Action::Quit | Action::Help) {
                assert_eq!(
                    map.keys_for(action),
                    defaults.keys_for(action),
                    "{action:?}"
                );
            }
        }
        let none = KeyModifiers::NONE;
        assert_eq!(
            map.action(press(KeyCode::Char('x'), none)),
            Some(Action::Quit)
        );
        assert_eq!(map.action(press(KeyCode::Char('q'), none)), None);
        assert_eq!(map.action(press(KeyCode::F(1), none)), None);
        assert_eq!(map.action(press(KeyCode::F(2), none)), Some(Action::Help));
        assert_eq!(
            map.action(press(KeyCode::Char('j'), none)),
            Some(Action::Down)
        );
    }

    #[test]
    fn rebinding_moves_a_key_and_lists_can_unbind() {
        let (map, _) =
            config("[keys]\nhelp = [\"?\", \"h\"]\ncollapse = [\"Left\", \"-\"]\nstep = []\n")
                .unwrap();
        let h = press(KeyCode::Char('h'), KeyModifiers::NONE);
        assert_eq!(map.action(h), Some(Action::Help));
        assert!(map.keys_for(Action::Step).is_empty());
        assert_eq!(
            map.action(press(KeyCode::Char('.'), KeyModifiers::NONE)),
            None
        );
        let lines = map.help_lines();
        assert_eq!(lines[index(Action::Step)].0, "(unbound)");
        // Action names also work with underscores.
        let (map, warnings) = config("[keys]\nnext_pane = \"n\"\nnext-match = \"m\"").unwrap();
        assert!(warnings.is_empty());
        assert_eq!(map.keys_for(Action::NextPane), ["n"]);
    }

    #[test]
    fn a_key_bound_to_two_actions_is_an_error() {
        // Against another action's default.
        let error = config("[keys]\nquit = [\"q\", \"j\"]\n").unwrap_err();
        let message = error.to_string();
        let KeyError::Conflict {
            actions, key, line, ..
        } = &error
        else {
            panic!("{error:?}");
        };
        assert_eq!(
            (*actions, key.as_str(), *line),
            ([Action::Quit, Action::Down], "j", 2)
        );
        assert!(message.starts_with("config.toml:2:"), "{message}");
        assert!(
            message.contains("`quit`") && message.contains("`down`"),
            "{message}"
        );
        assert!(message.contains("`down` has it by default"), "{message}");

        // Both in the file.
        let error = config("[keys]\nquit = \"x\"\nsearch = [\"/\", \"x\"]\n").unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("config.toml:3:16: key `x` is bound to both `quit` and `search`"),
            "{message}"
        );
        assert!(!message.contains("by default"), "{message}");
    }

    #[test]
    fn unknown_actions_warn() {
        let (map, warnings) = config("[keys]\nqiut = \"x\"\n").unwrap();
        assert_eq!(map, KeyMap::defaults());
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("config.toml: unknown action `qiut` in [keys] (ignored)"),
            "{}",
            warnings[0]
        );
        assert!(warnings[0].contains("seek-forward"));
    }

    #[test]
    fn bad_values_are_errors_with_positions() {
        let error = config("[keys]\nquit = [\"q\", \"Ctrl-\"]\n").unwrap_err();
        assert!(matches!(error, KeyError::BadKey { .. }), "{error:?}");
        let message = error.to_string();
        assert!(
            message.starts_with("config.toml:2:14: `keys.quit`: cannot use key `Ctrl-`"),
            "{message}"
        );

        let error = config("[keys]\nhelp = 3\n").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("config.toml:2:8: `keys.help`: expected a key name"),
            "{error}"
        );
        let error = config("[keys]\nhelp = [\"?\", 1]\n").unwrap_err();
        assert!(
            error.to_string().starts_with("config.toml:2:14:"),
            "{error}"
        );
        let error = config("keys = \"q\"\n").unwrap_err();
        assert!(
            error.to_string().starts_with("config.toml:1:8: `keys`:"),
            "{error}"
        );
        let error = config("[keys]\nquit = []\n").unwrap_err();
        assert!(error.to_string().contains("at least one key"), "{error}");
        let error = config("[keys\nquit = \"q\"\n").unwrap_err();
        assert!(
            matches!(
                error,
                KeyError::File(ConfigFileError::Parse { line: 1, .. })
            ),
            "{error:?}"
        );
    }

    #[test]
    fn help_lines_cover_every_action() {
        let lines = KeyMap::defaults().help_lines();
        assert_eq!(lines.len(), Action::ALL.len());
        for (action, (keys, description)) in Action::ALL.iter().zip(&lines) {
            assert_eq!(*description, action.describe());
            assert!(!keys.is_empty());
        }
        assert_eq!(lines[0], ("q, Ctrl-c".to_string(), "quit"));
        assert_eq!(lines[index(Action::Pause)].0, "Space, p");
    }

    #[test]
    fn config_locations() {
        let path = |xdg: Option<&str>, home: Option<&str>| {
            config_path_from(xdg.map(Into::into), home.map(Into::into))
        };
        assert_eq!(
            path(Some("/x"), Some("/home/a")),
            Some(PathBuf::from("/x/tetrascope/config.toml"))
        );
        assert_eq!(
            path(Some("relative"), Some("/home/a")),
            Some(PathBuf::from("/home/a/.config/tetrascope/config.toml"))
        );
        assert_eq!(
            path(None, Some("/home/a")),
            Some(PathBuf::from("/home/a/.config/tetrascope/config.toml"))
        );
        assert_eq!(path(Some(""), None), None);
        let missing = std::env::temp_dir().join("tetrascope-no-such-dir/config.toml");
        let (map, warnings) = load_if_present(Some(&missing)).unwrap();
        assert_eq!((map, warnings), (KeyMap::defaults(), Vec::new()));
        assert_eq!(load_if_present(None).unwrap().0, KeyMap::defaults());
    }

    #[test]
    fn readme_table_shape() {
        let table = readme_key_table(&KeyMap::defaults());
        let lines: Vec<_> = table.lines().collect();
        assert_eq!(lines.len(), 2 + Action::ALL.len());
        assert_eq!(lines[0], "| keys | action |");
        assert_eq!(lines[2], "| `q`, `Ctrl-c` | quit |");
        assert_eq!(code_span("|"), "`\\|`");
        assert_eq!(code_span("`"), "`` ` ``");
    }

    #[test]
    fn readme_lists_the_default_keys() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
        let readme = std::fs::read_to_string(&path).unwrap();
        let start = "<!-- keys:start -->\n";
        let end = "<!-- keys:end -->";
        let table = readme_key_table(&KeyMap::defaults());
        let found = readme
            .split_once(start)
            .and_then(|(_, rest)| rest.split_once(end))
            .map(|(between, _)| between.trim_matches('\n'));
        assert_eq!(
            found,
            Some(table.trim_end_matches('\n')),
            "README.md must contain, between the lines {start:?} and {end:?} (blank lines \
             around the table allowed), exactly:\n{table}"
        );
    }
}
