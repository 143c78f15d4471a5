//! The details popup: the selected event, or the selected process with its ancestors and events.
use ratatui::{
    Frame,
    layout::Rect,
    text::Line,
    widgets::{Clear, Paragraph},
};

use super::{Look, pane, stream::compact_line, styled};
use crate::{
    event::{Event, Process, encode_json},
    ui::app::{App, Pane},
};

/// Events of a process listed under its details.
const PROCESS_EVENTS: usize = 50;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, look: &Look) {
    let theme = look.theme;
    let (title, mut lines) = match (app.focus, app.selected_event()) {
        (Pane::Policies, _) => super::policies::detail_lines(app, look),
        (Pane::Stream, Some(event)) => {
            (" Event ".to_string(), json_lines(&event_json(&event), look))
        }
        _ => match app.selected_process() {
            Some(process) => (
                format!(" Process {} ", process.binary),
                process_lines(app, process, look),
            ),
            None => (
                " Details ".to_string(),
                vec![Line::from("Nothing selected.")],
            ),
        },
    };
    lines.insert(
        0,
        Line::from(styled("Esc closes, arrows scroll", theme.dim)),
    );
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .block(pane(title, true, theme))
            .scroll((app.details_scroll, 0)),
        area,
    );
}

fn event_json(event: &Event) -> serde_json::Value {
    let mut buf = Vec::new();
    encode_json(event, &mut buf);
    serde_json::from_slice(&buf).unwrap_or_default()
}

fn json_lines(value: &serde_json::Value, look: &Look) -> Vec<Line<'static>> {
    serde_json::to_string_pretty(value)
        .unwrap_or_default()
        .lines()
        .map(|l| Line::from(styled(l.to_string(), look.theme.text)))
        .collect()
}

fn process_lines(app: &App, process: &Process, look: &Look) -> Vec<Line<'static>> {
    let theme = look.theme;
    let mut lines = vec![Line::from(styled("Ancestors", theme.title))];
    let chain: Vec<String> = app
        .tree
        .path_to(&process.exec_id)
        .iter()
        .filter_map(|id| app.tree.get(id))
        .map(|n| {
            let pid = n.process.pid.map_or(String::new(), |p| format!(" ({p})"));
            format!("{}{pid}", n.process.binary)
        })
        .collect();
    lines.push(Line::from(styled(
        format!("  {}", chain.join(" → ")),
        theme.text,
    )));
    lines.push(Line::from(styled("Process", theme.title)));
    let value = serde_json::to_value(process).unwrap_or_default();
    lines.extend(json_lines(&value, look));
    lines.push(Line::from(styled("Events (newest last)", theme.title)));
    let mut events: Vec<Event> = app
        .events
        .iter()
        .rev()
        .filter(|e| e.process().is_some_and(|p| p.exec_id == process.exec_id))
        .take(PROCESS_EVENTS)
        .map(|e| e.event())
        .collect();
    events.reverse();
    lines.extend(
        events
            .iter()
            .map(|e| Line::from(styled(format!("  {}", compact_line(e)), theme.text))),
    );
    lines
}
