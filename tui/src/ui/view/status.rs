//! The status bar: source, rates, totals, drops, modes, key hints.
use ratatui::{Frame, layout::Rect, text::Line, widgets::Paragraph};

use super::{Look, styled};
use crate::ui::{action::Action, app::App};

pub fn draw(frame: &mut Frame, area: Rect, app: &App, look: &Look) {
    let theme = look.theme;
    if let Some(input) = &app.filter_input {
        let line = Line::from(vec![
            styled(format!(" filter: {input}▏ "), theme.banner),
            styled(
                " process=REGEX pod=REGEX namespace=NS type=PROCESS_EXEC,…  Enter applies, Esc cancels ",
                theme.status_bar,
            ),
        ]);
        frame.render_widget(Paragraph::new(line).style(theme.status_bar), area);
        return;
    }
    if let Some(input) = &app.policies.prompt {
        let what = if app.policies.read_only {
            "what-if policy"
        } else {
            "load policy"
        };
        let line = Line::from(vec![
            styled(format!(" {what}: {input}▏ "), theme.banner),
            styled(
                " a TracingPolicy file or directory  Tab completes, Enter loads, Esc cancels ",
                theme.status_bar,
            ),
        ]);
        frame.render_widget(Paragraph::new(line).style(theme.status_bar), area);
        return;
    }
    if app.search.editing || app.search.active() {
        let cursor = if app.search.editing { "▏" } else { "" };
        let found = match app.search.matches().len() {
            1 => "1 match".to_string(),
            n => format!("{n} matches"),
        };
        let line = Line::from(vec![
            styled(format!(" /{}{cursor} ", app.search.query), theme.banner),
            styled(
                format!(" {found}  n/N next/previous  Esc clears "),
                theme.status_bar,
            ),
        ]);
        frame.render_widget(Paragraph::new(line).style(theme.status_bar), area);
        return;
    }
    let mut spans = vec![styled(format!(" {} ", app.source.name), theme.status_bar)];
    if let Some(replay) = &app.source.replay {
        let position = match replay.total {
            Some(total) => format!("{}/{total}", replay.position),
            None => replay.position.to_string(),
        };
        let speed = replay.speed.map_or("max".to_string(), |s| format!("×{s}"));
        let state = if replay.finished {
            "end"
        } else if replay.playing {
            "▶"
        } else {
            "⏸"
        };
        spans.push(styled(
            format!(" {state} {position} {speed} "),
            theme.status_bar,
        ));
    }
    for agent in &app.source.agents {
        if agent.up {
            spans.push(styled(format!(" {} ● ", agent.label), theme.status_bar));
        } else {
            let detail = super::elide(&agent.detail, 48);
            spans.push(styled(format!(" {} ✖ {detail} ", agent.label), theme.error));
        }
    }
    spans.push(styled(
        format!(
            " {:.0} ev/s  total {}  dropped {}  bad lines {} ",
            app.rate, app.events_total, app.source.dropped, app.source.bad_lines
        ),
        theme.status_bar,
    ));
    if app.events_evicted > 0 || app.tree.expired > 0 {
        spans.push(styled(
            format!(
                " evicted {} events, {} processes ",
                app.events_evicted, app.tree.expired
            ),
            theme.status_bar,
        ));
    }
    let policies = &app.policies;
    if policies.kills_total > 0 {
        let noun = if policies.kills_total == 1 {
            "kill"
        } else {
            "kills"
        };
        spans.push(styled(
            format!(" {} {noun} ", policies.kills_total),
            theme.kill,
        ));
    }
    if policies.would_kills_total > 0 {
        spans.push(styled(
            format!(" {} would-kill ", policies.would_kills_total),
            theme.would_kill,
        ));
    }
    if let Some(message) = &policies.message {
        spans.push(styled(format!(" {message} "), theme.banner));
    }
    if let Some(recording) = &app.recording {
        spans.push(styled(format!(" {recording} "), theme.kill));
    }
    if let Some(why) = &app.filter_error {
        spans.push(styled(format!(" filter refused: {why} "), theme.error));
    } else if !app.filter_line.is_empty() {
        spans.push(styled(
            format!(
                " filter: {} ({} hidden) ",
                app.filter_line, app.filtered_out
            ),
            theme.banner,
        ));
    }
    if app.follow {
        spans.push(styled(" FOLLOW ", theme.banner));
    }
    if app.paused_at.is_some() {
        spans.push(styled(" PAUSED ", theme.banner));
    }
    for (action, label) in [(Action::Help, "help"), (Action::Quit, "quit")] {
        if let Some(key) = look.keys.keys_for(action).first() {
            spans.push(styled(format!(" {key}"), theme.status_key));
            spans.push(styled(format!(" {label}"), theme.status_bar));
        }
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(theme.status_bar),
        area,
    );
}
