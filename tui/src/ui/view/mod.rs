//! Drawing: reads the App, never changes the model, never waits on I/O.
mod details;
mod help;
mod status;
mod stream;
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
    let [tree_area, stream_area] = if main.width >= 120 {
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(main)
    } else {
        Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(main)
    };
    tree::draw(frame, tree_area, app, cache, look);
    stream::draw(frame, stream_area, app, look);
    status::draw(frame, status_line, app, look);
    if app.details {
        details::draw(frame, overlay(main), app, look);
    }
    if app.help {
        help::draw(frame, overlay(main), look);
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
