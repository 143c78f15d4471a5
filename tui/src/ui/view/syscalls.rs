//! The syscall pane: a histogram of the selected process's syscalls (or of its binary's, once
//! the process is gone), or the busiest binaries, by count or by rate.
use ratatui::{Frame, layout::Rect, text::Line};

use super::{Look, elide, focused, pane, styled};
use crate::{
    model::{StatsOrder, StatsView},
    ui::app::{App, Pane},
};

/// Binaries in the top view.
const TOP: usize = 20;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, look: &Look) {
    let theme = look.theme;
    let insight = &app.insight;
    let order = match insight.syscall_order {
        StatsOrder::Total => "by count",
        StatsOrder::Rate => "by rate",
    };
    let counting = match insight.counting {
        Some(false) => "  counting OFF (C)",
        _ => "",
    };
    let width = area.width.saturating_sub(2) as usize;
    let (title, lines) = if insight.top_binaries {
        (
            format!(" Syscalls: busiest binaries, {order}{counting} "),
            top_lines(app, width, look),
        )
    } else {
        let view = app.tree_selection().and_then(|p| {
            let mut view = insight
                .syscalls
                .for_exec(&p.exec_id)
                .or_else(|| insight.syscalls.for_binary(&p.binary))?;
            view.sort(insight.syscall_order);
            Some(view)
        });
        match view {
            Some(view) => (
                format!(
                    " Syscalls: {} (pid {}), {} calls, {:.0}/s, {order}{counting} ",
                    view.binary,
                    view.process.pid.map_or("?".into(), |p| p.to_string()),
                    view.total,
                    view.rate
                ),
                histogram(&view, insight.syscall_order, width, look),
            ),
            None => (
                format!(" Syscalls {order}{counting} "),
                vec![Line::from(styled(
                    "Select a process in the tree (t: the busiest binaries).",
                    theme.dim,
                ))],
            ),
        }
    };
    let block = pane(title, focused(app, Pane::Syscalls), theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines: Vec<Line> = lines.into_iter().take(inner.height as usize).collect();
    frame.render_widget(ratatui::widgets::Paragraph::new(lines), inner);
}

/// One bar per syscall: name, bar, calls, rate.
fn histogram(view: &StatsView, order: StatsOrder, width: usize, look: &Look) -> Vec<Line<'static>> {
    let key = |total: u64, rate: f64| match order {
        StatsOrder::Total => total as f64,
        StatsOrder::Rate => rate,
    };
    let max = view
        .syscalls
        .iter()
        .map(|r| key(r.total, r.rate))
        .fold(0.0, f64::max)
        .max(1.0);
    let bar_width = width.saturating_sub(16 + 25).max(4);
    view.syscalls
        .iter()
        .map(|row| {
            let filled = ((key(row.total, row.rate) / max) * bar_width as f64).round() as usize;
            Line::from(vec![
                styled(format!("{:<15} ", elide(&row.name, 15)), look.theme.text),
                styled("█".repeat(filled.max(1)), look.theme.exec_event),
                styled(
                    " ".repeat(bar_width.saturating_sub(filled.max(1))),
                    look.theme.text,
                ),
                styled(
                    format!(" {:>12} {:>9.0}/s", group(row.total), row.rate),
                    look.theme.pid,
                ),
            ])
        })
        .collect()
}

/// The busiest binaries: calls, rate, images, and their top syscalls.
fn top_lines(app: &App, width: usize, look: &Look) -> Vec<Line<'static>> {
    let top = app.insight.syscalls.top(TOP, app.insight.syscall_order);
    if top.is_empty() {
        return vec![Line::from(styled(
            "No syscall counted yet.",
            look.theme.dim,
        ))];
    }
    top.iter()
        .map(|view| {
            let leaders: Vec<String> = view
                .syscalls
                .iter()
                .take(3)
                .map(|r| format!("{} {}", r.name, group(r.total)))
                .collect();
            let text = format!(
                "{:<24} {:>10} {:>7.0}/s {:>3}×  {}",
                elide(&view.binary, 24),
                group(view.total),
                view.rate,
                view.execs,
                leaders.join(", ")
            );
            Line::from(styled(elide(&text, width), look.theme.text))
        })
        .collect()
}

/// 1234567 → `1,234,567`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
