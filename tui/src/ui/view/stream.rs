//! The event stream pane: one compact line an event, newest at the bottom.
use ratatui::{Frame, layout::Rect, text::Line, widgets::Paragraph};

use super::{Look, focused, pane, styled};
use crate::{
    event::{CompactEncoder, Event, EventType},
    ui::{
        app::{App, Pane},
        kept::KeptEvent,
    },
};

const PLAIN: CompactEncoder = CompactEncoder {
    timestamps: false,
    color: false,
};

/// The compact line of an event, without its newline.
pub fn compact_line(event: &Event) -> String {
    let mut buf = Vec::with_capacity(160);
    PLAIN.encode(event, &mut buf);
    String::from_utf8_lossy(&buf).trim_end().to_string()
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, look: &Look) {
    let visible = app.visible_events();
    let title = format!(" Events ({}) ", app.events_total);
    let block = pane(title, focused(app, Pane::Stream), look.theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = Vec::with_capacity(inner.height as usize);
    let mut height = inner.height as usize;
    if let Some(at) = app.paused_at {
        let waiting = app.events_total.saturating_sub(at);
        lines.push(Line::from(styled(
            format!(" PAUSED: view frozen, collection goes on ({waiting} new) "),
            look.theme.banner,
        )));
        height = height.saturating_sub(1);
    }
    let end = (app.stream_selected + 1)
        .max(height.min(visible))
        .min(visible);
    let start = end.saturating_sub(height);
    let node_width = app.node_width();
    for index in start..end {
        let kept = &app.events[index];
        let selected = index == app.stream_selected && (focused(app, Pane::Stream) || !app.follow);
        let style = if selected {
            look.theme.selected
        } else {
            event_style(kept, look)
        };
        let line = compact_line(&kept.event());
        lines.push(Line::from(if node_width > 0 {
            // Several agents: each line starts with its node.
            vec![
                styled(
                    format!("{:<node_width$} ", kept.node_name()),
                    look.theme.dim,
                ),
                styled(line, style),
            ]
        } else {
            vec![styled(line, style)]
        }));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn event_style(kept: &KeptEvent, look: &Look) -> ratatui::style::Style {
    match kept.event_type() {
        _ if kept.killed() => look.theme.kill,
        _ if kept.would_kill() => look.theme.would_kill,
        EventType::ProcessExec => look.theme.exec_event,
        EventType::ProcessExit => look.theme.exit_event,
        _ => look.theme.other_event,
    }
}
