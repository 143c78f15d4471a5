//! The screenshots in screenshots/: the real UI drawn from the fixture recording at 120×36 and
//! turned into standalone SVG files. Each test compares the fresh drawing with the committed
//! file, so a change to the UI must come with regenerated screenshots:
//! `TETRASCOPE_WRITE_SCREENSHOTS=1 cargo test -p tetrascope-tests --test screenshots`.
mod common;

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use common::app_with_fixture;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::{
    Terminal,
    backend::TestBackend,
    buffer::{Buffer, Cell, CellDiffOption},
    layout::Rect,
    style::{Color, Modifier, Style},
    text::Span,
};
use tetrascope::ui::{App, Look, TreeCache, action::Action, draw, keys::KeyMap, theme::Theme};

const SIZE: (u16, u16) = (120, 36);
const REGENERATE: &str =
    "TETRASCOPE_WRITE_SCREENSHOTS=1 cargo test -p tetrascope-tests --test screenshots";

/// The fixture App and its last drawn screen. Drawn after each action, as the UI does (the tree
/// widget navigates what it last drew), 10 s after ingestion so that no "new" highlight shows.
struct Scene {
    app: App,
    theme: Theme,
    now: Instant,
    screen: Buffer,
}

impl Scene {
    fn new(theme: Theme) -> Scene {
        let base = Instant::now();
        Scene::of(app_with_fixture(base), theme, base)
    }

    fn of(app: App, theme: Theme, base: Instant) -> Scene {
        let mut scene = Scene {
            app,
            theme,
            now: base + Duration::from_secs(10),
            screen: Buffer::empty(Rect::new(0, 0, SIZE.0, SIZE.1)),
        };
        scene.draw();
        scene
    }

    fn draw(&mut self) {
        let keys = KeyMap::defaults();
        let look = Look {
            theme: &self.theme,
            keys: &keys,
            now: self.now,
        };
        let mut terminal = Terminal::new(TestBackend::new(SIZE.0, SIZE.1)).unwrap();
        let mut cache = TreeCache::default();
        terminal
            .draw(|frame| draw(frame, &mut self.app, &mut cache, &look))
            .unwrap();
        self.screen = terminal.backend().buffer().clone();
    }

    fn act(mut self, actions: &[Action]) -> Scene {
        for action in actions {
            self.app.handle(*action, 10);
            self.draw();
        }
        self
    }
}

/// The terminal the screen is shown in: its background and its default foreground.
struct Palette {
    background: &'static str,
    foreground: &'static str,
}

const DARK: Palette = Palette {
    background: "#1e1e1e",
    foreground: "#d0d0d0",
};
/// For the light theme, which is meant for terminals with a light background.
const LIGHT: Palette = Palette {
    background: "#fafafa",
    foreground: "#2e3436",
};

/// The 16 ANSI colours (the Tango palette), in ANSI order: black, red, green, yellow, blue,
/// magenta, cyan, white, then the bright ones.
const ANSI: [&str; 16] = [
    "#2e3436", "#cc0000", "#4e9a06", "#c4a000", "#3465a4", "#75507b", "#06989a", "#d3d7cf",
    "#555753", "#ef2929", "#8ae234", "#fce94f", "#729fcf", "#ad7fa8", "#34e2e2", "#eeeeec",
];

/// The hex colour of `color`, or None for the terminal's default.
fn hex(color: Color) -> Option<String> {
    let ansi = |i: usize| Some(ANSI[i].to_string());
    match color {
        Color::Reset => None,
        Color::Black => ansi(0),
        Color::Red => ansi(1),
        Color::Green => ansi(2),
        Color::Yellow => ansi(3),
        Color::Blue => ansi(4),
        Color::Magenta => ansi(5),
        Color::Cyan => ansi(6),
        Color::Gray => ansi(7),
        Color::DarkGray => ansi(8),
        Color::LightRed => ansi(9),
        Color::LightGreen => ansi(10),
        Color::LightYellow => ansi(11),
        Color::LightBlue => ansi(12),
        Color::LightMagenta => ansi(13),
        Color::LightCyan => ansi(14),
        Color::White => ansi(15),
        Color::Rgb(r, g, b) => Some(format!("#{r:02x}{g:02x}{b:02x}")),
        Color::Indexed(i @ 0..=15) => ansi(usize::from(i)),
        Color::Indexed(i @ 16..=231) => {
            let level = |n: u8| if n == 0 { 0 } else { 55 + 40 * n };
            let i = i - 16;
            Some(format!(
                "#{:02x}{:02x}{:02x}",
                level(i / 36),
                level(i / 6 % 6),
                level(i % 6)
            ))
        }
        Color::Indexed(i) => {
            let grey = 8 + 10 * (i - 232);
            Some(format!("#{grey:02x}{grey:02x}{grey:02x}"))
        }
    }
}

const FONT_SIZE: u16 = 15;
const CELL_WIDTH: u16 = 9;
const CELL_HEIGHT: u16 = 18;
const BASELINE: u16 = 14;
const PADDING: u16 = 12;

/// How one visible cell is drawn: the column it starts at, how many columns it covers, its text
/// and its colours after `reversed` is applied.
struct Glyph<'a> {
    x: u16,
    width: u16,
    symbol: &'a str,
    fg: String,
    bg: String,
    modifier: Modifier,
}

/// The cells of row `y` that are drawn: a wide symbol (an emoji) covers its own cell and the
/// ones after it, which ratatui leaves blank and which are not drawn.
fn glyphs<'a>(buffer: &'a Buffer, y: u16, terminal: &Palette) -> Vec<Glyph<'a>> {
    let area = buffer.area;
    let mut glyphs = Vec::new();
    let mut x = area.left();
    while x < area.right() {
        let cell: &Cell = &buffer[(x, y)];
        let width = match cell.diff_option {
            CellDiffOption::ForcedWidth(width) => width.get(),
            _ => u16::try_from(Span::raw(cell.symbol()).width()).unwrap_or(1),
        }
        .clamp(1, area.right() - x);
        if cell.diff_option != CellDiffOption::Skip {
            let fg = hex(cell.fg).unwrap_or_else(|| terminal.foreground.to_string());
            let bg = hex(cell.bg).unwrap_or_else(|| terminal.background.to_string());
            let (fg, bg) = if cell.modifier.contains(Modifier::REVERSED) {
                (bg, fg)
            } else {
                (fg, bg)
            };
            glyphs.push(Glyph {
                x: x - area.left(),
                width,
                symbol: cell.symbol(),
                fg,
                bg,
                modifier: cell.modifier,
            });
        }
        x += width;
    }
    glyphs
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The SVG attributes of a run of text in `fg` with `modifier`.
fn text_attributes(fg: &str, modifier: Modifier) -> String {
    let mut attributes = format!(r#" fill="{fg}""#);
    if modifier.contains(Modifier::BOLD) {
        attributes.push_str(r#" font-weight="bold""#);
    }
    if modifier.contains(Modifier::ITALIC) {
        attributes.push_str(r#" font-style="italic""#);
    }
    if modifier.contains(Modifier::DIM) {
        attributes.push_str(r#" opacity="0.6""#);
    }
    let lines: Vec<&str> = [
        (Modifier::UNDERLINED, "underline"),
        (Modifier::CROSSED_OUT, "line-through"),
    ]
    .into_iter()
    .filter(|(flag, _)| modifier.contains(*flag))
    .map(|(_, line)| line)
    .collect();
    if !lines.is_empty() {
        write!(attributes, r#" text-decoration="{}""#, lines.join(" ")).unwrap();
    }
    attributes
}

/// The modifiers that change how text looks in the SVG.
fn drawn(modifier: Modifier) -> Modifier {
    modifier
        & (Modifier::BOLD
            | Modifier::DIM
            | Modifier::ITALIC
            | Modifier::UNDERLINED
            | Modifier::CROSSED_OUT
            | Modifier::HIDDEN)
}

/// The buffer as a standalone SVG: a rounded terminal background, one rect per run of cells with
/// a background of their own, and per row one `<text>` with a `<tspan>` per run of cells in the
/// same colour and modifiers. Every run is placed at its cell's column, and a wide symbol ends
/// its run, so that columns stay aligned whatever the font.
fn svg(buffer: &Buffer, title: &str, terminal: &Palette) -> String {
    let area = buffer.area;
    let width = area.width * CELL_WIDTH + 2 * PADDING;
    let height = area.height * CELL_HEIGHT + 2 * PADDING;
    let mut out = String::new();
    writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="'DejaVu Sans Mono', Menlo, Consolas, 'Liberation Mono', monospace" font-size="{FONT_SIZE}" xml:space="preserve">"#
    )
    .unwrap();
    writeln!(out, "<title>{}</title>", escape(title)).unwrap();
    writeln!(out, "<style>text {{ white-space: pre; }}</style>").unwrap();
    writeln!(
        out,
        r#"<rect width="{width}" height="{height}" rx="6" fill="{}"/>"#,
        terminal.background
    )
    .unwrap();
    for y in area.top()..area.bottom() {
        let row = y - area.top();
        let top = PADDING + row * CELL_HEIGHT;
        let glyphs = glyphs(buffer, y, terminal);

        // Backgrounds: runs of cells with the same colour, other than the terminal's own.
        for run in glyphs.chunk_by(|a, b| a.bg == b.bg) {
            if run[0].bg == terminal.background {
                continue;
            }
            let columns: u16 = run.iter().map(|glyph| glyph.width).sum();
            writeln!(
                out,
                r#"<rect x="{}" y="{top}" width="{}" height="{CELL_HEIGHT}" fill="{}"/>"#,
                PADDING + run[0].x * CELL_WIDTH,
                columns * CELL_WIDTH,
                run[0].bg
            )
            .unwrap();
        }

        // Text: runs of single-width cells with the same look; a wide symbol is a run of its own.
        let mut spans = String::new();
        let same = |a: &Glyph, b: &Glyph| {
            a.width == 1 && b.width == 1 && a.fg == b.fg && drawn(a.modifier) == drawn(b.modifier)
        };
        for run in glyphs.chunk_by(same) {
            let modifier = drawn(run[0].modifier);
            if modifier.contains(Modifier::HIDDEN) {
                continue;
            }
            // Blanks at either end are only drawn when a line under or through them shows.
            let lined = modifier.intersects(Modifier::UNDERLINED | Modifier::CROSSED_OUT);
            let blank = |glyph: &Glyph| !lined && glyph.symbol.trim().is_empty();
            let Some(first) = run.iter().position(|glyph| !blank(glyph)) else {
                continue;
            };
            let last = run.iter().rposition(|glyph| !blank(glyph)).unwrap();
            let run = &run[first..=last];
            let text: String = run
                .iter()
                .map(|glyph| match glyph.symbol {
                    "" => " ",
                    symbol => symbol,
                })
                .collect();
            let columns: u16 = run.iter().map(|glyph| glyph.width).sum();
            let length = if run.len() > 1 {
                format!(
                    r#" textLength="{}" lengthAdjust="spacingAndGlyphs""#,
                    columns * CELL_WIDTH
                )
            } else {
                String::new()
            };
            write!(
                spans,
                r#"<tspan x="{}"{length}{}>{}</tspan>"#,
                PADDING + run[0].x * CELL_WIDTH,
                text_attributes(&run[0].fg, modifier),
                escape(&text)
            )
            .unwrap();
        }
        if !spans.is_empty() {
            // On one line: with xml:space="preserve", a line break between tspans would be text.
            writeln!(out, r#"<text y="{}">{spans}</text>"#, top + BASELINE).unwrap();
        }
    }
    out.push_str("</svg>\n");
    out
}

fn screenshot_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../screenshots")
        .join(format!("{name}.svg"))
}

/// Writes screenshots/`name`.svg when TETRASCOPE_WRITE_SCREENSHOTS=1, otherwise checks that the
/// committed file is what the UI draws now.
fn check(name: &str, scene: &Scene, terminal: &Palette) {
    let fresh = svg(&scene.screen, &format!("tetrascope: {name}"), terminal);
    let path = screenshot_path(name);
    if std::env::var("TETRASCOPE_WRITE_SCREENSHOTS").is_ok_and(|value| value == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let line = committed
            .lines()
            .zip(fresh.lines())
            .position(|(old, new)| old != new)
            .unwrap_or_else(|| committed.lines().count().min(fresh.lines().count()))
            + 1;
        panic!(
            "{} is missing or out of date with the UI (first difference at line {line}); \
             regenerate the screenshots with `{REGENERATE}` and commit them",
            path.display()
        );
    }
}

#[test]
fn tree() {
    let scene = Scene::new(Theme::builtin()).act(&[Action::ExpandAll]);
    check("tree", &scene, &DARK);
}

#[test]
fn search() {
    let mut scene = Scene::new(Theme::builtin()).act(&[Action::Search]);
    for c in "iriskey".chars() {
        scene.app.search_key(KeyEvent::from(KeyCode::Char(c)));
    }
    scene.draw();
    scene.app.search_key(KeyEvent::from(KeyCode::Enter));
    scene.draw();
    check("search", &scene, &DARK);
}

#[test]
fn details() {
    let scene = Scene::new(Theme::builtin()).act(&[
        Action::ExpandAll,
        Action::First,
        Action::Down,
        Action::Down,
        Action::Down,
        Action::Details,
    ]);
    check("details", &scene, &DARK);
}

/// The IRIS policy after its switch to enforce: a would-be kill and a kill, in the tree, the
/// stream, the status bar and the policy pane.
#[test]
fn policies() {
    let base = Instant::now();
    let app = common::app_with_iris_session(None, base);
    let mut scene = Scene::of(app, Theme::builtin(), base);
    scene.app.focus = tetrascope::ui::Pane::Policies;
    scene.draw();
    check("policies", &scene, &DARK);
}

#[test]
fn light() {
    let (theme, warnings) = Theme::load("light", None).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let scene = Scene::new(theme).act(&[Action::ExpandAll]);
    check("light", &scene, &LIGHT);
}

/// The converter itself: a wide symbol keeps the columns after it in place, text is escaped,
/// reversed swaps the colours and runs split where the look changes.
#[test]
fn svg_places_runs_by_column() {
    let mut buffer = Buffer::empty(Rect::new(0, 0, 8, 1));
    buffer.set_string(0, 0, "🚀a<&", Style::new().fg(Color::Green));
    buffer.set_string(
        5,
        0,
        "b",
        Style::new().fg(Color::Red).add_modifier(Modifier::REVERSED),
    );
    let out = svg(&buffer, "t", &DARK);
    let x = |column: u16| format!(r#"x="{}""#, PADDING + column * CELL_WIDTH);
    assert!(out.contains(&format!("<tspan {} fill=\"{}\">🚀</tspan>", x(0), ANSI[2])));
    assert!(
        out.contains(&format!("<tspan {} textLength", x(2))),
        "{out}"
    );
    assert!(out.contains(">a&lt;&amp;</tspan>"), "{out}");
    assert!(out.contains(&format!(
        r#"<rect {} y="{PADDING}" width="{CELL_WIDTH}" height="{CELL_HEIGHT}" fill="{}"/>"#,
        x(5),
        ANSI[1]
    )));
    assert!(out.contains(&format!(
        r#"<tspan {} fill="{}">b</tspan>"#,
        x(5),
        DARK.background
    )));
}
