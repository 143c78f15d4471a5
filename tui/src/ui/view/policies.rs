//! The policy pane (one row per policy), its details, the recent kills and the enforce
//! confirmation.
use ratatui::{
    Frame,
    layout::{Constraint, Layout, Rect},
    style::Style,
    text::{Line, Span},
    widgets::{Clear, Paragraph, Wrap},
};

use super::{Look, elide, focused, pane, styled, tree::verdict_marker};
use crate::{
    event::Timestamp,
    policy::{model::Mode, store::PolicyStatus},
    ui::{
        app::{App, Pane},
        policies::{PolicyPlace, PolicyRow},
        theme::Theme,
    },
};

/// Rows the pane asks for (it shrinks to fit its policies).
pub fn height(app: &App) -> u16 {
    (app.policies.rows.len().max(1) as u16 + 3).min(10)
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, look: &Look) {
    let theme = look.theme;
    let policies = &app.policies;
    let title = format!(
        " Policies {}  kills {}  would-kill {} ",
        policies.rows.len(),
        policies.kills_total,
        policies.would_kills_total
    );
    let block = pane(title, focused(app, Pane::Policies), theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let with_source = inner.width as usize >= WIDE;
    let source = if with_source {
        format!("{:<SOURCE_WIDTH$} ", "source")
    } else {
        String::new()
    };
    let mut lines = vec![Line::from(styled(
        format!(
            "{:<28} {:<11} {:<8} {source}{:>6} {:>6} {:>6} {:<9} hooks",
            "name", "state", "mode", "hits", "kills", "would", "last hit"
        ),
        theme.dim,
    ))];
    if policies.rows.is_empty() {
        lines.push(Line::from(styled(
            "No policy loaded: o loads a TracingPolicy file or directory.",
            theme.dim,
        )));
    }
    let visible = inner.height.saturating_sub(1) as usize;
    let start = (policies.selected + 1).saturating_sub(visible);
    for (index, row) in policies.rows.iter().enumerate().skip(start).take(visible) {
        let selected = index == policies.selected && focused(app, Pane::Policies);
        let last_hit = policies.last_hit(&row.name);
        lines.push(row_line(
            row,
            last_hit,
            selected,
            inner.width as usize,
            theme,
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn row_line(
    row: &PolicyRow,
    last_hit: Option<Timestamp>,
    selected: bool,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let base = if selected { theme.selected } else { theme.text };
    let (state, state_style) = match row.status {
        PolicyStatus::Enabled => ("enabled", base),
        PolicyStatus::Disabled => ("disabled", theme.dim),
        PolicyStatus::Unsupported => ("unsupported", theme.error),
        PolicyStatus::LoadError => ("load error", theme.error),
        PolicyStatus::NotLoaded => ("recorded", theme.dim),
    };
    let (mode, mode_style) = match row.mode {
        // Enforce on a monitor-only policy; an agent's rows do not list actions.
        Mode::Enforce if row.enforcement.is_empty() && row.place == PolicyPlace::Host => {
            ("monitor*", base)
        }
        Mode::Enforce => ("ENFORCE", theme.kill),
        Mode::Monitor => ("monitor", theme.would_kill),
    };
    let pick = |style: Style| if selected { theme.selected } else { style };
    let hooks = row
        .hooks
        .iter()
        .map(|h| h.split(':').next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(", ");
    let mut spans: Vec<Span<'static>> = vec![
        styled(format!("{:<28} ", elide(&row.name, 28)), base),
        styled(format!("{state:<11} "), pick(state_style)),
        styled(format!("{mode:<8} "), pick(mode_style)),
    ];
    let mut fixed = 80;
    if width >= WIDE {
        let source = elide(&short_source(&row.source), SOURCE_WIDTH);
        spans.push(styled(format!("{source:<SOURCE_WIDTH$} "), pick(theme.dim)));
        fixed += SOURCE_WIDTH + 1;
    }
    spans.extend([
        styled(
            format!(
                "{:>6} {:>6} {:>6} {:<9} ",
                row.counters.hits,
                row.counters.signals,
                row.counters.would_signals,
                last_hit.map_or("-".into(), clock)
            ),
            base,
        ),
        styled(
            elide(&hooks, width.saturating_sub(fixed).max(10)),
            pick(theme.dim),
        ),
    ]);
    Line::from(spans)
}

/// The pane is this wide at least before it shows where each policy comes from.
const WIDE: usize = 110;
const SOURCE_WIDTH: usize = 22;

/// The source as the row shows it: a file by its name (the details show its path).
fn short_source(source: &str) -> String {
    match source.strip_prefix("file ") {
        Some(path) => format!(
            "file {}",
            std::path::Path::new(path)
                .file_name()
                .map_or(path.into(), |name| name.to_string_lossy())
        ),
        None => source.to_owned(),
    }
}

/// `HH:MM:SS` (UTC) of a timestamp.
fn clock(time: Timestamp) -> String {
    let seconds = time.seconds.rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The selected policy: source, state, hooks with their mechanisms, problems, recent hits, YAML.
pub fn detail_lines(app: &App, look: &Look) -> (String, Vec<Line<'static>>) {
    let theme = look.theme;
    let Some(row) = app.policies.selected_row() else {
        return (" Policy ".into(), vec![Line::from("No policy selected.")]);
    };
    let mut lines = vec![
        Line::from(format!("source: {}", row.source)),
        Line::from(format!(
            "state: {:?}   mode: {:?}   hits {}  posted {}  kills {}  would-kill {}  spared {}{}",
            row.status,
            row.mode,
            row.counters.hits,
            row.counters.posts,
            row.counters.signals,
            row.counters.would_signals,
            row.counters.spared,
            [
                ("rate-limited", row.counters.rate_limited),
                ("denied", row.counters.overrides),
                ("would-deny", row.counters.would_overrides),
            ]
            .iter()
            .filter(|(_, count)| *count > 0)
            .map(|(what, count)| format!("  {what} {count}"))
            .collect::<String>()
        )),
        Line::from(styled("hooks", theme.title)),
    ];
    lines.extend(row.hooks.iter().map(|h| Line::from(format!("  {h}"))));
    if !row.problems.is_empty() {
        lines.push(Line::from(styled("does not run here", theme.error)));
        lines.extend(
            row.problems
                .iter()
                .map(|p| Line::from(styled(format!("  {p}"), theme.error))),
        );
    }
    lines.push(Line::from(styled("recent hits", theme.title)));
    match app.policies.hits_of(&row.name) {
        Some(hits) => lines.extend(hits.iter().rev().map(|hit| {
            Line::from(format!(
                "  {} {}",
                hit.time.map_or("-".into(), clock),
                hit.summary
            ))
        })),
        None => lines.push(Line::from(styled("  none yet", theme.dim))),
    }
    lines.push(Line::from(styled("YAML", theme.title)));
    lines.extend(row.yaml.lines().map(|l| Line::from(format!("  {l}"))));
    (format!(" Policy {} ", row.name), lines)
}

/// The recent kills, newest first: time, verdict, process, policy, hook.
pub fn draw_kills(frame: &mut Frame, area: Rect, app: &App, look: &Look) {
    let theme = look.theme;
    let mut lines = vec![Line::from(styled(
        "Recent kills, newest first (K or Esc closes). Killed processes stay listed after they are gone.",
        theme.dim,
    ))];
    if app.policies.kills.is_empty() {
        lines.push(Line::from(styled("No kill yet.", theme.dim)));
    }
    for kill in app.policies.kills.iter().rev() {
        lines.push(Line::from(vec![
            styled(
                format!("{} ", kill.time.map_or("-".into(), clock)),
                theme.text,
            ),
            verdict_marker(kill.verdict, &kill.policy, theme),
            styled(
                format!(
                    "  {} pid {}  at {}",
                    kill.binary,
                    kill.pid.map_or("?".into(), |p| p.to_string()),
                    kill.hook
                ),
                theme.text,
            ),
        ]));
    }
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .block(pane(" Kills ".into(), true, theme))
            .wrap(Wrap { trim: false }),
        area,
    );
}

/// The y/n question before enforcing, centred over the panes.
pub fn draw_confirmation(frame: &mut Frame, area: Rect, question: &str, look: &Look) {
    let [_, middle, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(5),
        Constraint::Fill(1),
    ])
    .areas(area);
    frame.render_widget(Clear, middle);
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(styled(question.to_owned(), look.theme.kill)),
            Line::from(styled("y enforces, any other key cancels", look.theme.dim)),
        ])
        .wrap(Wrap { trim: true })
        .block(pane(" Confirm ".into(), true, look.theme)),
        middle,
    );
}
