//! The file pane: which processes opened (unlinked, renamed…) which files, how and with what
//! result; failures and accesses by processes that were later killed stand out.
use ratatui::{Frame, layout::Rect, text::Line, widgets::Paragraph};

use super::{Look, elide, focused, pane, styled, syscalls::group};
use crate::{
    model::{FileRow, FileSort},
    ui::app::{App, Pane},
};

/// Characters of a row before the path.
const ROW_FIXED: usize = 12 + 1 + 7 + 1 + 4 + 1 + 8 + 1 + 7 + 1 + 8 + 1;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, look: &Look) {
    let theme = look.theme;
    let insight = &app.insight;
    let rows = insight.visible_files();
    let sort = match insight.file_sort {
        FileSort::LastSeen => "last seen",
        FileSort::FirstSeen => "first seen",
        FileSort::Count => "count",
        FileSort::Path => "path",
        FileSort::Binary => "binary",
        FileSort::Errors => "errors first",
    };
    let filter = if insight.file_filter_editing || !insight.file_filter.is_empty() {
        let cursor = if insight.file_filter_editing {
            "▏"
        } else {
            ""
        };
        format!("  /{}{cursor}", insight.file_filter)
    } else {
        String::new()
    };
    let title = format!(
        " Files {} of {} ({} failed), by {sort}{filter} ",
        rows.len(),
        insight.files.len(),
        insight.files.failed()
    );
    let focus = focused(app, Pane::Files);
    let block = pane(title, focus, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    // A narrow pane drops the last-seen column before the path gets short.
    let with_time = width >= ROW_FIXED + 40;
    let fixed = if with_time { ROW_FIXED } else { ROW_FIXED - 9 };
    let path_width = width.saturating_sub(fixed).max(12);
    let time_header = if with_time { "last     " } else { "" };
    let mut lines = vec![Line::from(styled(
        format!(
            "{:<12} {:>7} {:<4} {:<8} {:>7} {time_header}path",
            "binary", "pid", "acc", "result", "count"
        ),
        theme.dim,
    ))];
    if rows.is_empty() {
        lines.push(Line::from(styled(
            "No file access yet (or none matches the filter).",
            theme.dim,
        )));
    }
    let visible = inner.height.saturating_sub(1) as usize;
    let start = (insight.file_selected + 1).saturating_sub(visible);
    for (index, row) in rows.iter().enumerate().skip(start).take(visible) {
        let style = if focus && index == insight.file_selected {
            theme.selected
        } else if killed(app, row) {
            theme.kill
        } else if row.failed() {
            theme.error
        } else {
            theme.text
        };
        lines.push(Line::from(styled(
            row_text(row, path_width, with_time),
            style,
        )));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn row_text(row: &FileRow, path_width: usize, with_time: bool) -> String {
    let result = if row.failed() {
        row.error.clone()
    } else {
        format!("fd {}", row.result)
    };
    let access: String = row.access.names().iter().map(|name| letter(name)).collect();
    let binary = row.binary().rsplit('/').next().unwrap_or_default();
    let time = match (with_time, row.last) {
        (false, _) => String::new(),
        (true, None) => format!("{:<9}", "-"),
        (true, Some(t)) => {
            let s = t.seconds.rem_euclid(86_400);
            format!("{:02}:{:02}:{:02} ", s / 3600, s / 60 % 60, s % 60)
        }
    };
    format!(
        "{:<12} {:>7} {:<4} {:<8} {:>7} {time}{}",
        elide(binary, 12),
        row.pid().map_or("?".into(), |p| p.to_string()),
        access,
        elide(&result, 8),
        group(row.count),
        elide(&row.path, path_width)
    )
}

/// One letter per kind of access: r(ead) w(rite) c(reate) t(runcate) u(nlink), m(oved away),
/// M (moved here).
fn letter(access: &str) -> char {
    match access {
        "read" => 'r',
        "write" => 'w',
        "create" => 'c',
        "truncate" => 't',
        "unlink" => 'u',
        "rename_from" => 'm',
        "rename_to" => 'M',
        _ => '?',
    }
}

/// Whether the row's process was later killed (by a policy, or SIGKILLed).
fn killed(app: &App, row: &FileRow) -> bool {
    app.tree.get(row.exec_id()).is_some_and(|node| {
        node.exit.as_ref().is_some_and(|e| e.killed())
            || node.verdict.as_ref().is_some_and(|(v, _)| v.enforced())
    })
}
