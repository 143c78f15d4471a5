//! Drawing: reads the App, never changes the model, never waits on I/O.
mod details;
mod files;
mod help;
mod policies;
mod status;
mod stream;
mod syscalls;
mod tree;

use std::time::Instant;

use ratatui::{
    Frame,
    layout::{Constraint, Layout, Rect},
    style::Style,
    text::Line,
    widgets::{Block, Borders, Paragraph, Wrap},
};

pub use tree::TreeCache;

use super::{
    app::{App, Pane},
    keys::KeyMap,
    theme::Theme,
};

/// Below this the panes cannot show a useful row.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 12;

/// Everything a frame needs besides the App.
pub struct Look<'a> {
    pub theme: &'a Theme,
    pub keys: &'a KeyMap,
    pub now: Instant,
}

pub fn draw(frame: &mut Frame, app: &mut App, cache: &mut TreeCache, look: &Look) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!(
            "Terminal too small: {}×{} (tetrascope needs {MIN_WIDTH}×{MIN_HEIGHT}). Enlarge it, or press q to quit.",
            area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(text)
                .style(look.theme.error)
                .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let [main, status_line] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    // The policy pane spans the width below the others: its table needs the columns.
    let (panes, policy_area) = if app.shows_policies() {
        let [panes, policy_area] = Layout::vertical([
            Constraint::Min(6),
            Constraint::Length(policies::height(app)),
        ])
        .areas(main);
        (panes, Some(policy_area))
    } else {
        (main, None)
    };
    // The syscall and file tables get half of a wide screen; the stream, 40 %.
    let side = if app.side == Pane::Stream { 40 } else { 50 };
    let [tree_area, stream_area] = if panes.width >= 120 {
        Layout::horizontal([
            Constraint::Percentage(100 - side),
            Constraint::Percentage(side),
        ])
        .areas(panes)
    } else {
        Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(panes)
    };
    tree::draw(frame, tree_area, app, cache, look);
    // The right-hand column shows the focused one of the stream, syscall and file panes (the
    // last one focused while the tree or the policies have the focus).
    match app.side {
        Pane::Syscalls => syscalls::draw(frame, stream_area, app, look),
        Pane::Files => files::draw(frame, stream_area, app, look),
        _ => stream::draw(frame, stream_area, app, look),
    }
    if let Some(policy_area) = policy_area {
        policies::draw(frame, policy_area, app, look);
    }
    status::draw(frame, status_line, app, look);
    if app.details {
        details::draw(frame, overlay(main), app, look);
    }
    if app.policies.show_kills {
        policies::draw_kills(frame, overlay(main), app, look);
    }
    if app.help {
        help::draw(frame, overlay(main), look);
    }
    if let Some(confirmation) = &app.policies.confirm {
        policies::draw_confirmation(frame, main, &confirmation.question, look);
    }
}

/// A pane's frame: titled, highlighted when focused.
fn pane<'a>(title: String, focused: bool, theme: &Theme) -> Block<'a> {
    let border = if focused {
        theme.border_focused
    } else {
        theme.border
    };
    Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Line::styled(title, theme.title))
}

fn focused(app: &App, pane: Pane) -> bool {
    app.focus == pane && !app.details && !app.help
}

/// The area of a popup over the panes.
fn overlay(area: Rect) -> Rect {
    let [_, middle, _] = Layout::vertical([
        Constraint::Percentage(5),
        Constraint::Percentage(90),
        Constraint::Percentage(5),
    ])
    .areas(area);
    let [_, center, _] = Layout::horizontal([
        Constraint::Percentage(5),
        Constraint::Percentage(90),
        Constraint::Percentage(5),
    ])
    .areas(middle);
    center
}

/// `text` cut to `width` characters, with an ellipsis when cut.
fn elide(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn styled(text: impl Into<String>, style: Style) -> ratatui::text::Span<'static> {
    ratatui::text::Span::styled(text.into(), style)
}
