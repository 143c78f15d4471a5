//! Colour themes for the interactive UI.
//!
//! A theme is a TOML file that patches a base theme (the built-in dark default unless the file
//! says `extends = "no-colour"`): each entry of its `[styles]` table names one of the [`Theme`]
//! fields and sets some of that style's attributes; everything it does not mention keeps the
//! base's value. `themes/README.md` documents every key. The four shipped themes are embedded in
//! the binary, so `--theme light` works without the repository.

use std::ffi::OsStr;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::config_file::ConfigFileError;

/// Every style the UI draws with.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    /// Ordinary text.
    pub text: Style,
    /// Exited processes and secondary text.
    pub dim: Style,
    /// Borders of panes without the focus.
    pub border: Style,
    /// The border of the focused pane.
    pub border_focused: Style,
    /// Pane titles.
    pub title: Style,
    /// The selected row.
    pub selected: Style,
    /// A process, briefly after it appears.
    pub new_process: Style,
    /// SIGKILLed processes and kill events. Must stand out from every other style.
    pub kill: Style,
    /// What a policy in monitor mode would have killed. Must differ from `kill`.
    pub would_kill: Style,
    /// `process_exec` events.
    pub exec_event: Style,
    /// `process_exit` events.
    pub exit_event: Style,
    /// Every other event (kprobes, tracepoints, ...).
    pub other_event: Style,
    /// Process ids.
    pub pid: Style,
    /// User names and ids.
    pub user: Style,
    /// Command-line arguments.
    pub arguments: Style,
    /// Kubernetes pod and namespace names.
    pub pod: Style,
    /// The status bar.
    pub status_bar: Style,
    /// Key hints in the status bar.
    pub status_key: Style,
    /// Banners such as "PAUSED".
    pub banner: Style,
    /// The characters a search matched (patched over the row's style).
    pub search_match: Style,
    /// Error messages.
    pub error: Style,
}

/// Why a theme could not be loaded. The [`fmt::Display`] text is meant for the user as is.
#[derive(Debug)]
pub enum ThemeError {
    /// A name that is neither `<themes_dir>/<name>.toml` nor one of the shipped themes.
    UnknownTheme {
        name: String,
        themes_dir: Option<PathBuf>,
    },
    /// The theme file could not be read, is not valid TOML, or has a value that is not
    /// allowed (the message then lists the allowed values).
    File(ConfigFileError),
}

impl From<ConfigFileError> for ThemeError {
    fn from(error: ConfigFileError) -> ThemeError {
        ThemeError::File(error)
    }
}

impl fmt::Display for ThemeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ThemeError::UnknownTheme { name, themes_dir } => {
                write!(f, "unknown theme `{name}`")?;
                if let Some(dir) = themes_dir {
                    write!(f, " (no {})", dir.join(format!("{name}.toml")).display())?;
                }
                write!(
                    f,
                    "; the shipped themes are {}; or give the path of a .toml file",
                    SHIPPED.map(|(name, _)| name).join(", ")
                )
            }
            ThemeError::File(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl std::error::Error for ThemeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ThemeError::UnknownTheme { .. } => None,
            ThemeError::File(error) => error.source(),
        }
    }
}

/// The shipped themes, embedded so the binary works without the repository.
const SHIPPED: [(&str, &str); 4] = [
    ("default", include_str!("../../../themes/default.toml")),
    ("light", include_str!("../../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../../themes/high-contrast.toml"),
    ),
    ("no-colour", include_str!("../../../themes/no-colour.toml")),
];

/// The colour names a theme may use, in the order the error messages list them.
const COLOUR_NAMES: [(&str, Color); 16] = [
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("darkgray", Color::DarkGray),
    ("lightred", Color::LightRed),
    ("lightgreen", Color::LightGreen),
    ("lightyellow", Color::LightYellow),
    ("lightblue", Color::LightBlue),
    ("lightmagenta", Color::LightMagenta),
    ("lightcyan", Color::LightCyan),
    ("white", Color::White),
];

/// The boolean attributes of a style entry and the modifier each one sets.
const MODIFIERS: [(&str, Modifier); 5] = [
    ("bold", Modifier::BOLD),
    ("dim", Modifier::DIM),
    ("italic", Modifier::ITALIC),
    ("underlined", Modifier::UNDERLINED),
    ("reversed", Modifier::REVERSED),
];

/// The bases `extends` accepts.
const BASES: [&str; 2] = ["default", "no-colour"];

impl Theme {
    /// The default theme, for dark backgrounds. Uses only the 16 ANSI colours, so it works in any
    /// colour terminal and follows the terminal's palette.
    pub fn builtin() -> Theme {
        let fg = |colour| Style::new().fg(colour);
        let bold = Modifier::BOLD;
        Theme {
            text: Style::new(),
            dim: fg(Color::DarkGray),
            border: fg(Color::DarkGray),
            border_focused: fg(Color::LightCyan),
            title: fg(Color::LightCyan).add_modifier(bold),
            selected: fg(Color::Black).bg(Color::Cyan),
            new_process: fg(Color::LightGreen).add_modifier(bold),
            kill: fg(Color::White).bg(Color::Red).add_modifier(bold),
            would_kill: fg(Color::Black).bg(Color::Yellow).add_modifier(bold),
            exec_event: fg(Color::Green),
            exit_event: fg(Color::Yellow),
            other_event: fg(Color::Magenta),
            pid: fg(Color::LightBlue),
            user: fg(Color::LightYellow),
            arguments: fg(Color::Gray),
            pod: fg(Color::Cyan),
            status_bar: fg(Color::White).bg(Color::Blue),
            status_key: fg(Color::LightYellow).bg(Color::Blue).add_modifier(bold),
            banner: fg(Color::White).bg(Color::Magenta).add_modifier(bold),
            search_match: fg(Color::Black).bg(Color::Yellow),
            error: fg(Color::LightRed).add_modifier(bold),
        }
    }

    /// No colours at all, only modifiers, for `NO_COLOR` and monochrome terminals. The
    /// selection is reversed, kills are bold and underlined, matches are underlined.
    pub fn no_colour() -> Theme {
        let with = |modifier| Style::new().add_modifier(modifier);
        Theme {
            text: Style::new(),
            dim: with(Modifier::DIM),
            border: Style::new(),
            border_focused: with(Modifier::BOLD),
            title: with(Modifier::BOLD),
            selected: with(Modifier::REVERSED),
            new_process: with(Modifier::BOLD),
            kill: with(Modifier::BOLD | Modifier::UNDERLINED),
            would_kill: with(Modifier::ITALIC | Modifier::UNDERLINED),
            exec_event: Style::new(),
            exit_event: with(Modifier::DIM),
            other_event: Style::new(),
            pid: Style::new(),
            user: Style::new(),
            arguments: Style::new(),
            pod: with(Modifier::ITALIC),
            status_bar: with(Modifier::REVERSED),
            status_key: with(Modifier::REVERSED | Modifier::BOLD),
            banner: with(Modifier::REVERSED | Modifier::BOLD),
            search_match: with(Modifier::UNDERLINED),
            error: with(Modifier::BOLD | Modifier::REVERSED),
        }
    }

    /// Loads a theme by name or path, returning it with one warning per ignored key.
    ///
    /// A name (`default`, `light`, `high-contrast`, `no-colour`, or the name of any file in
    /// `themes_dir`) reads `<themes_dir>/<name>.toml` when that file exists and otherwise the
    /// copy of the shipped theme embedded in the binary. Anything containing `/` or ending in
    /// `.toml` is a path. Themes patch [`Theme::builtin`] unless they say `extends = "no-colour"`.
    pub fn load(
        name_or_path: &str,
        themes_dir: Option<&Path>,
    ) -> Result<(Theme, Vec<String>), ThemeError> {
        if name_or_path.contains('/') || name_or_path.ends_with(".toml") {
            let path = Path::new(name_or_path);
            let text = std::fs::read_to_string(path).map_err(|error| ConfigFileError::Read {
                what: "theme",
                path: path.to_path_buf(),
                error,
            })?;
            return Theme::from_toml(&text, &path.display().to_string(), Theme::builtin());
        }
        let name = match name_or_path {
            "no-color" => "no-colour",
            other => other,
        };
        if let Some(dir) = themes_dir.filter(|_| !name.is_empty()) {
            let path = dir.join(format!("{name}.toml"));
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    return Theme::from_toml(&text, &path.display().to_string(), Theme::builtin());
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => {
                    return Err(ConfigFileError::Read {
                        what: "theme",
                        path,
                        error,
                    }
                    .into());
                }
            }
        }
        match SHIPPED.iter().find(|(shipped, _)| *shipped == name) {
            Some((_, text)) => Theme::from_toml(
                text,
                &format!("themes/{name}.toml (built in)"),
                Theme::builtin(),
            ),
            None => Err(ThemeError::UnknownTheme {
                name: name_or_path.to_string(),
                themes_dir: themes_dir.map(Path::to_path_buf),
            }),
        }
    }

    /// Applies the theme file `text` over `base` (or over the base its `extends` names).
    /// `source` names the file in warnings and errors.
    pub fn from_toml(
        text: &str,
        source: &str,
        base: Theme,
    ) -> Result<(Theme, Vec<String>), ThemeError> {
        let document =
            DeTable::parse(text).map_err(|error| ConfigFileError::parse(text, source, &error))?;
        let parser = Parser { text, source };
        let mut warnings = Vec::new();
        let mut theme = base;
        let document = document.get_ref();
        if let Some(extends) = document.get("extends") {
            theme = match extends.get_ref().as_str() {
                Some("default" | "builtin") => Theme::builtin(),
                Some("no-colour" | "no-color") => Theme::no_colour(),
                _ => {
                    return Err(parser.value_error(
                        extends.span(),
                        "extends",
                        format!("expected one of {}", quoted_list(&BASES)),
                    ));
                }
            };
        }
        for (key, value) in document.iter() {
            match key.get_ref().as_ref() {
                "extends" => {}
                "styles" => {
                    let Some(styles) = value.get_ref().as_table() else {
                        return Err(parser.value_error(
                            value.span(),
                            "styles",
                            "expected a table of styles, e.g. [styles] followed by \
                             kill = { fg = \"white\", bg = \"red\", bold = true }"
                                .to_string(),
                        ));
                    };
                    for (name, entry) in styles.iter() {
                        let path = format!("styles.{}", name.get_ref());
                        match theme.style_mut(name.get_ref()) {
                            Some(style) => {
                                parser.apply_style(style, entry, &path, &mut warnings)?;
                            }
                            None => warnings.push(unknown_key(source, &path)),
                        }
                    }
                }
                other => warnings.push(unknown_key(source, other)),
            }
        }
        Ok((theme, warnings))
    }

    /// The theme `--theme` names; without the flag, [`Theme::no_colour`] when `NO_COLOR` is set
    /// to anything non-empty (<https://no-color.org>), else [`Theme::builtin`].
    pub fn select(
        flag: Option<&str>,
        themes_dir: Option<&Path>,
    ) -> Result<(Theme, Vec<String>), ThemeError> {
        Theme::select_with(flag, themes_dir, std::env::var_os("NO_COLOR").as_deref())
    }

    fn select_with(
        flag: Option<&str>,
        themes_dir: Option<&Path>,
        no_color: Option<&OsStr>,
    ) -> Result<(Theme, Vec<String>), ThemeError> {
        match flag {
            Some(flag) => Theme::load(flag, themes_dir),
            None if no_color.is_some_and(|value| !value.is_empty()) => {
                Ok((Theme::no_colour(), Vec::new()))
            }
            None => Ok((Theme::builtin(), Vec::new())),
        }
    }

    /// Every style with its key in the `[styles]` table, in declaration order.
    pub fn styles(&self) -> [(&'static str, Style); 21] {
        // Destructured so that a new field cannot be forgotten here.
        let Theme {
            text,
            dim,
            border,
            border_focused,
            title,
            selected,
            new_process,
            kill,
            would_kill,
            exec_event,
            exit_event,
            other_event,
            pid,
            user,
            arguments,
            pod,
            status_bar,
            status_key,
            banner,
            search_match,
            error,
        } = *self;
        [
            ("text", text),
            ("dim", dim),
            ("border", border),
            ("border_focused", border_focused),
            ("title", title),
            ("selected", selected),
            ("new_process", new_process),
            ("kill", kill),
            ("would_kill", would_kill),
            ("exec_event", exec_event),
            ("exit_event", exit_event),
            ("other_event", other_event),
            ("pid", pid),
            ("user", user),
            ("arguments", arguments),
            ("pod", pod),
            ("status_bar", status_bar),
            ("status_key", status_key),
            ("banner", banner),
            ("search_match", search_match),
            ("error", error),
        ]
    }

    fn style_mut(&mut self, name: &str) -> Option<&mut Style> {
        Some(match name {
            "text" => &mut self.text,
            "dim" => &mut self.dim,
            "border" => &mut self.border,
            "border_focused" => &mut self.border_focused,
            "title" => &mut self.title,
            "selected" => &mut self.selected,
            "new_process" => &mut self.new_process,
            "kill" => &mut self.kill,
            "would_kill" => &mut self.would_kill,
            "exec_event" => &mut self.exec_event,
            "exit_event" => &mut self.exit_event,
            "other_event" => &mut self.other_event,
            "pid" => &mut self.pid,
            "user" => &mut self.user,
            "arguments" => &mut self.arguments,
            "pod" => &mut self.pod,
            "status_bar" => &mut self.status_bar,
            "status_key" => &mut self.status_key,
            "banner" => &mut self.banner,
            "search_match" => &mut self.search_match,
            "error" => &mut self.error,
            _ => return None,
        })
    }
}

/// The file being read, for error positions.
struct Parser<'a> {
    text: &'a str,
    source: &'a str,
}

impl Parser<'_> {
    fn value_error(&self, span: Range<usize>, key: &str, message: String) -> ThemeError {
        ConfigFileError::value(self.text, self.source, span, key, message).into()
    }

    /// Patches `style` with one `[styles]` entry: colours replace the base's, `true` adds a
    /// modifier, `false` removes it.
    fn apply_style(
        &self,
        style: &mut Style,
        entry: &Spanned<DeValue<'_>>,
        path: &str,
        warnings: &mut Vec<String>,
    ) -> Result<(), ThemeError> {
        let Some(attributes) = entry.get_ref().as_table() else {
            return Err(self.value_error(
                entry.span(),
                path,
                "expected an inline table such as { fg = \"red\", bg = \"black\", bold = true }"
                    .to_string(),
            ));
        };
        for (attribute, value) in attributes.iter() {
            let key = format!("{path}.{}", attribute.get_ref());
            match attribute.get_ref().as_ref() {
                "fg" => style.fg = self.colour(value, &key)?,
                "bg" => style.bg = self.colour(value, &key)?,
                name => match MODIFIERS.iter().find(|(modifier, _)| *modifier == name) {
                    Some(&(_, modifier)) => match value.get_ref().as_bool() {
                        Some(true) => style.add_modifier.insert(modifier),
                        Some(false) => style.add_modifier.remove(modifier),
                        None => {
                            return Err(self.value_error(
                                value.span(),
                                &key,
                                "expected true or false".to_string(),
                            ));
                        }
                    },
                    None => warnings.push(unknown_key(self.source, &key)),
                },
            }
        }
        Ok(())
    }

    /// A colour value; `None` for "inherit".
    fn colour(&self, value: &Spanned<DeValue<'_>>, key: &str) -> Result<Option<Color>, ThemeError> {
        let index = match value.get_ref() {
            DeValue::String(text) => match parse_colour(text) {
                Some(colour) => return Ok(colour),
                None if text.trim().bytes().all(|b| b.is_ascii_digit()) => text.trim().parse().ok(),
                None => None,
            },
            DeValue::Integer(integer) => {
                i64::from_str_radix(integer.as_str(), integer.radix()).ok()
            }
            _ => None,
        };
        match index.and_then(|index: i64| u8::try_from(index).ok()) {
            Some(index) => Ok(Some(Color::Indexed(index))),
            None => Err(self.value_error(
                value.span(),
                key,
                format!(
                    "not a colour: {}; expected one of {}, \"reset\" (the terminal's colour), \
                     \"inherit\" (leave it to the surrounding style), \"#rrggbb\", or an ANSI \
                     index 0-255",
                    describe_value(value.get_ref()),
                    quoted_list(&COLOUR_NAMES.map(|(name, _)| name)),
                ),
            )),
        }
    }
}

/// A colour name (case, `-`, `_` and spaces ignored; "grey" for "gray"), "reset", "inherit" or
/// "#rrggbb". `Some(None)` is "inherit".
fn parse_colour(text: &str) -> Option<Option<Color>> {
    let text = text.trim();
    if let Some(hex) = text.strip_prefix('#') {
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let channel = |at: usize| u8::from_str_radix(&hex[at..at + 2], 16).ok();
        return Some(Some(Color::Rgb(channel(0)?, channel(2)?, channel(4)?)));
    }
    let name: String = text
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    let name = name.replace("grey", "gray");
    match name.as_str() {
        "reset" => Some(Some(Color::Reset)),
        "inherit" => Some(None),
        _ => COLOUR_NAMES
            .iter()
            .find(|(known, _)| *known == name)
            .map(|&(_, colour)| Some(colour)),
    }
}

fn describe_value(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(text) => format!("\"{text}\""),
        DeValue::Integer(integer) => integer.to_string(),
        other => format!("a {}", other.type_str()),
    }
}

fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|item| format!("\"{item}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn unknown_key(source: &str, key: &str) -> String {
    format!("{source}: unknown key `{key}` (ignored)")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED_NAMES: [&str; 4] = ["default", "light", "high-contrast", "no-colour"];

    fn repo_themes_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../themes")
    }

    /// A theme in which every style is empty.
    fn blank() -> Theme {
        let mut theme = Theme::builtin();
        for (name, _) in Theme::builtin().styles() {
            *theme.style_mut(name).unwrap() = Style::new();
        }
        theme
    }

    fn load_ok(name: &str, dir: Option<&Path>) -> Theme {
        let (theme, warnings) =
            Theme::load(name, dir).unwrap_or_else(|e| panic!("theme {name}: {e}"));
        assert_eq!(warnings, Vec::<String>::new(), "theme {name}");
        theme
    }

    #[test]
    fn shipped_themes_load_without_warnings() {
        let dir = repo_themes_dir();
        for name in SHIPPED_NAMES {
            let embedded = load_ok(name, None);
            let from_dir = load_ok(name, Some(&dir));
            assert_eq!(embedded, from_dir, "{name}");
            let by_path = load_ok(dir.join(format!("{name}.toml")).to_str().unwrap(), None);
            assert_eq!(embedded, by_path, "{name}");
        }
    }

    #[test]
    fn default_and_no_colour_files_match_the_code() {
        assert_eq!(load_ok("default", None), Theme::builtin());
        assert_eq!(load_ok("no-colour", None), Theme::no_colour());
        assert_eq!(load_ok("no-color", None), Theme::no_colour());
    }

    #[test]
    fn shipped_colour_themes_set_every_attribute_they_rely_on() {
        // Loading over an empty base gives the same theme: the files do not silently inherit
        // colours or modifiers meant for another background from the built-in default.
        for name in ["default", "light", "high-contrast"] {
            let text = SHIPPED.iter().find(|(n, _)| *n == name).unwrap().1;
            let (over_blank, _) = Theme::from_toml(text, name, blank()).unwrap();
            assert_eq!(over_blank, load_ok(name, None), "{name}");
        }
    }

    #[test]
    fn every_style_is_settable_and_named_once() {
        let names: Vec<_> = Theme::builtin().styles().map(|(name, _)| name).to_vec();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        let mut theme = blank();
        for name in &names {
            assert!(theme.style_mut(name).is_some(), "{name}");
        }
        // Each shipped file (apart from no-colour, which only restates its base) sets every style.
        for name in ["default", "light", "high-contrast"] {
            let text = SHIPPED.iter().find(|(n, _)| *n == name).unwrap().1;
            for style in &names {
                assert!(
                    text.lines()
                        .any(|line| line.starts_with(&format!("{style} "))),
                    "{name}.toml does not set {style}"
                );
            }
        }
        theme.kill = Style::new().fg(Color::Red);
        assert_eq!(theme.styles()[7], ("kill", Style::new().fg(Color::Red)));
    }

    #[test]
    fn kill_stands_out_in_every_theme() {
        let mut themes = vec![
            ("builtin".to_string(), Theme::builtin()),
            ("no_colour()".to_string(), Theme::no_colour()),
        ];
        for name in SHIPPED_NAMES {
            themes.push((name.to_string(), load_ok(name, None)));
        }
        for (name, theme) in themes {
            for other in [theme.text, theme.dim, theme.selected] {
                assert_ne!(theme.kill, other, "{name}");
            }
            for (field, style) in theme.styles() {
                if field != "kill" {
                    assert_ne!(theme.kill, style, "{name}: kill looks like {field}");
                }
            }
            // Kill also keeps standing out on the selected row (the selection is patched over it
            // or it over the selection).
            assert_ne!(theme.selected.patch(theme.kill), theme.selected, "{name}");
            assert_ne!(theme.kill.patch(theme.selected), theme.selected, "{name}");
            assert!(theme.kill.add_modifier.contains(Modifier::BOLD), "{name}");
        }
    }

    #[test]
    fn no_colour_uses_modifiers_only() {
        for theme in [Theme::no_colour(), load_ok("no-colour", None)] {
            for (field, style) in theme.styles() {
                assert_eq!((style.fg, style.bg), (None, None), "{field}");
            }
            assert_ne!(theme.selected, Style::new());
            assert_ne!(theme.search_match, Style::new());
        }
    }

    #[test]
    fn light_theme_avoids_pale_text_without_a_background() {
        let pale = [
            Color::Yellow,
            Color::LightYellow,
            Color::White,
            Color::Gray,
            Color::LightCyan,
            Color::LightGreen,
        ];
        for (field, style) in load_ok("light", None).styles() {
            if let Some(fg) = style.fg {
                assert!(
                    !pale.contains(&fg) || style.bg.is_some(),
                    "light: {field} is {fg:?} on the terminal's light background"
                );
            }
        }
    }

    #[test]
    fn patch_changes_only_what_it_sets() {
        let text = "[styles]\nkill = { fg = \"magenta\", underlined = true, bold = false }\n";
        let (theme, warnings) = Theme::from_toml(text, "patch.toml", Theme::builtin()).unwrap();
        assert!(warnings.is_empty());
        let mut expected = Theme::builtin();
        expected.kill = Style::new()
            .fg(Color::Magenta)
            .bg(Color::Red)
            .add_modifier(Modifier::UNDERLINED);
        assert_eq!(theme, expected);

        let (theme, _) = Theme::from_toml("", "empty.toml", Theme::no_colour()).unwrap();
        assert_eq!(theme, Theme::no_colour());
    }

    #[test]
    fn extends_chooses_the_base() {
        let text = "extends = \"no-colour\"\n[styles]\ntitle = { fg = \"green\" }\n";
        let (theme, warnings) = Theme::from_toml(text, "x.toml", Theme::builtin()).unwrap();
        assert!(warnings.is_empty());
        let mut expected = Theme::no_colour();
        expected.title = expected.title.fg(Color::Green);
        assert_eq!(theme, expected);

        let (theme, _) =
            Theme::from_toml("extends = \"default\"", "x.toml", Theme::no_colour()).unwrap();
        assert_eq!(theme, Theme::builtin());

        let error = Theme::from_toml("extends = \"solarized\"", "x.toml", Theme::builtin())
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("x.toml:1:11: `extends`:"), "{error}");
        assert!(error.contains("\"no-colour\""), "{error}");
    }

    #[test]
    fn colour_forms() {
        let text = r##"[styles]
text = { fg = "#FF8000", bg = 236 }
dim = { fg = "reset", bg = "Light-Blue" }
pid = { fg = "inherit", bg = "17" }
user = { fg = "darkgrey" }
"##;
        let (theme, warnings) = Theme::from_toml(text, "c.toml", Theme::builtin()).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(
            theme.text,
            Style::new()
                .fg(Color::Rgb(0xff, 0x80, 0))
                .bg(Color::Indexed(236))
        );
        assert_eq!(
            theme.dim,
            Style::new().fg(Color::Reset).bg(Color::LightBlue)
        );
        assert_eq!(theme.pid, Style::new().bg(Color::Indexed(17)));
        assert_eq!(theme.user, Style::new().fg(Color::DarkGray));
    }

    #[test]
    fn unknown_keys_warn_with_file_and_key() {
        let text = "colours = 1\n[styles]\nkil = { fg = \"red\" }\nkill = { fgg = \"red\" }\n";
        let (theme, warnings) = Theme::from_toml(text, "themes/x.toml", Theme::builtin()).unwrap();
        assert_eq!(theme, Theme::builtin());
        assert_eq!(
            warnings,
            [
                "themes/x.toml: unknown key `colours` (ignored)",
                "themes/x.toml: unknown key `styles.kil` (ignored)",
                "themes/x.toml: unknown key `styles.kill.fgg` (ignored)",
            ]
        );
    }

    #[test]
    fn bad_values_name_file_key_and_allowed_values() {
        let cases = [
            (
                "[styles]\nkill = { fg = \"redd\" }",
                "2:15",
                "styles.kill.fg",
                "\"lightred\"",
            ),
            (
                "[styles]\nkill = { bg = \"#12345\" }",
                "2:15",
                "styles.kill.bg",
                "#rrggbb",
            ),
            (
                "[styles]\nkill = { bg = 256 }",
                "2:15",
                "styles.kill.bg",
                "0-255",
            ),
            (
                "[styles]\nkill = { bold = \"yes\" }",
                "2:17",
                "styles.kill.bold",
                "true or false",
            ),
            (
                "[styles]\nkill = \"red\"",
                "2:8",
                "styles.kill",
                "inline table",
            ),
            ("styles = 3", "1:10", "styles", "table of styles"),
        ];
        for (text, position, key, allowed) in cases {
            let error = Theme::from_toml(text, "bad.toml", Theme::builtin()).unwrap_err();
            assert!(
                matches!(error, ThemeError::File(ConfigFileError::Value { .. })),
                "{error:?}"
            );
            let message = error.to_string();
            assert!(
                message.starts_with(&format!("bad.toml:{position}: `{key}`:")),
                "{message}"
            );
            assert!(message.contains(allowed), "{message}");
        }
    }

    #[test]
    fn parse_errors_name_file_line_and_column() {
        let error = Theme::from_toml("[styles]\nkill = { fg = }\n", "p.toml", Theme::builtin())
            .unwrap_err();
        let ThemeError::File(ConfigFileError::Parse { file, line, .. }) = &error else {
            panic!("{error:?}");
        };
        assert_eq!((file.as_str(), *line), ("p.toml", 2));
        assert!(error.to_string().starts_with("p.toml:2:"), "{error}");
    }

    #[test]
    fn names_paths_and_themes_dir() {
        let dir =
            std::env::temp_dir().join(format!("tetrascope-theme-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("light.toml"),
            "[styles]\ntext = { fg = \"red\" }\n",
        )
        .unwrap();
        std::fs::write(dir.join("mine.toml"), "[styles]\npid = { fg = \"blue\" }\n").unwrap();

        // A file in themes_dir wins over the embedded copy of the same name.
        let (light, _) = Theme::load("light", Some(&dir)).unwrap();
        assert_eq!(light.text, Style::new().fg(Color::Red));
        assert_eq!(light.kill, Theme::builtin().kill);
        // Names not in themes_dir fall back to the embedded copies.
        assert_eq!(
            load_ok("high-contrast", Some(&dir)),
            load_ok("high-contrast", None)
        );
        // Any file in themes_dir is a name; paths work from anywhere.
        assert_eq!(
            load_ok("mine", Some(&dir)).pid,
            Style::new().fg(Color::Blue)
        );
        let path = dir.join("mine.toml");
        assert_eq!(
            load_ok(path.to_str().unwrap(), None).pid,
            Style::new().fg(Color::Blue)
        );

        let error = Theme::load("mine", None).unwrap_err();
        assert!(
            matches!(error, ThemeError::UnknownTheme { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("high-contrast"), "{error}");
        let missing = dir.join("missing.toml");
        let error = Theme::load(missing.to_str().unwrap(), None).unwrap_err();
        assert!(
            matches!(error, ThemeError::File(ConfigFileError::Read { .. })),
            "{error:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn no_color_selects_no_colour() {
        let select = |flag, no_color: Option<&str>| {
            Theme::select_with(flag, None, no_color.map(OsStr::new))
                .unwrap()
                .0
        };
        assert_eq!(select(None, Some("1")), Theme::no_colour());
        assert_eq!(select(None, Some("")), Theme::builtin());
        assert_eq!(select(None, None), Theme::builtin());
        assert_eq!(select(Some("light"), Some("1")), load_ok("light", None));
        assert_eq!(select(Some("no-colour"), None), Theme::no_colour());
    }
}
