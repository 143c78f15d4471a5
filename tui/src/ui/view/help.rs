//! The help popup: every action and its keys, from the key map in force.
use ratatui::{
    Frame,
    layout::Rect,
    text::Line,
    widgets::{Clear, Paragraph},
};

use super::{Look, pane, styled};

pub fn draw(frame: &mut Frame, area: Rect, look: &Look) {
    let lines: Vec<Line> = look
        .keys
        .help_lines()
        .into_iter()
        .map(|(keys, what)| {
            Line::from(vec![
                styled(format!(" {keys:<22}"), look.theme.status_key),
                styled(what, look.theme.text),
            ])
        })
        .collect();
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(pane(" Keys (Esc closes) ".into(), true, look.theme)),
        area,
    );
}
