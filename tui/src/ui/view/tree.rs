//! The process tree pane.
use std::{collections::HashSet, time::Instant};

use ratatui::{Frame, layout::Rect, text::Line};
use tui_tree_widget::{Tree, TreeItem};

use super::{Look, elide, focused, pane, styled};
use ratatui::{style::Style, text::Span};

use crate::{
    model::node_of,
    policy::hit_event::Verdict,
    ui::{
        app::{App, NEW_HIGHLIGHT, Pane},
        process_tree::{Node, ProcessTree},
        search::Search,
        theme::Theme,
    },
};

/// Arguments longer than this are elided in a row.
const ARGS_WIDTH: usize = 48;

/// The tree's rows, rebuilt only when the model, the search or the opened nodes changed (or a
/// "new" highlight ran out). Only opened nodes get their children built: a closed node with
/// children carries one placeholder child (so it shows as closed), which keeps a rebuild
/// proportional to what can be seen rather than to the whole tree.
#[derive(Default)]
pub struct TreeCache {
    items: Vec<TreeItem<'static, String>>,
    generation: Option<u64>,
    query: String,
    opened: HashSet<Vec<String>>,
    /// The earliest moment a highlighted row stops being new.
    refresh_at: Option<Instant>,
}

/// What one rebuild reads.
struct Build<'a> {
    tree: &'a ProcessTree,
    search: &'a Search,
    opened: &'a HashSet<Vec<String>>,
    /// exec_ids from the root to the node being built.
    path: Vec<String>,
    theme: &'a Theme,
    now: Instant,
    refresh_at: Option<Instant>,
    /// Root rows name their node (events from several agents).
    nodes: bool,
}

impl TreeCache {
    fn refresh(
        &mut self,
        tree: &ProcessTree,
        search: &mut Search,
        opened: &HashSet<Vec<String>>,
        theme: &Theme,
        now: Instant,
        nodes: bool,
    ) {
        let stale = self.generation != Some(tree.generation())
            || self.query != search.query
            || self.opened != *opened
            || self.refresh_at.is_some_and(|at| now >= at);
        if !stale {
            return;
        }
        search.refresh(tree);
        let mut build = Build {
            tree,
            search,
            opened,
            path: Vec::new(),
            theme,
            now,
            refresh_at: None,
            nodes,
        };
        self.items = tree
            .roots()
            .iter()
            .filter_map(|id| item(&mut build, id, None, 0))
            .collect();
        self.generation = Some(tree.generation());
        self.query.clone_from(&search.query);
        self.opened.clone_from(opened);
        self.refresh_at = build.refresh_at;
    }
}

fn item(
    build: &mut Build,
    id: &str,
    parent_pid: Option<u32>,
    depth: usize,
) -> Option<TreeItem<'static, String>> {
    if !build.search.shows(id) {
        return None;
    }
    let (tree, now) = (build.tree, build.now);
    let node = tree.get(id)?;
    let fresh_until = node.seen_at + NEW_HIGHLIGHT;
    if fresh_until > now {
        let at = build
            .refresh_at
            .map_or(fresh_until, |at| at.min(fresh_until));
        build.refresh_at = Some(at);
    }
    build.path.push(id.to_string());
    // A search shows its matches with all their ancestors opened.
    let open = build.search.active() || build.opened.contains(&build.path);
    // Deep chains are cut rather than overflowing the stack.
    let children = if !open {
        placeholder(build, node)
    } else if depth < 512 {
        node.children
            .iter()
            .filter_map(|c| item(build, c, node.process.pid, depth + 1))
            .collect()
    } else {
        Vec::new()
    };
    build.path.pop();
    let positions = build.search.positions(&node.process).unwrap_or_default();
    let mut row = row(node, parent_pid, build.theme, now < fresh_until, &positions);
    if build.nodes && depth == 0 {
        let node_name = node_of(id).unwrap_or_else(|| "?".into());
        row.spans
            .insert(0, styled(format!("[{node_name}] "), build.theme.dim));
    }
    TreeItem::new(id.to_string(), row, children).ok()
}

/// `✖ killed by POLICY` in the kill style, `⚠ would kill: POLICY` in the would-kill style.
pub fn verdict_marker(verdict: Verdict, policy: &str, theme: &Theme) -> Span<'static> {
    let (text, style) = match verdict {
        Verdict::Killed => (format!("✖ killed by {policy}"), theme.kill),
        Verdict::Signaled => (format!("✖ signalled by {policy}"), theme.kill),
        Verdict::WouldKill => (format!("⚠ would kill: {policy}"), theme.would_kill),
        Verdict::WouldSignal => (format!("⚠ would signal: {policy}"), theme.would_kill),
        Verdict::Overridden => (format!("✖ call denied by {policy}"), theme.kill),
        Verdict::WouldOverride => (format!("⚠ would deny the call: {policy}"), theme.would_kill),
        Verdict::Spared => (format!("spared (protected) by {policy}"), theme.dim),
    };
    styled(text, style)
}

/// The stand-in child of a closed node that has children to show.
fn placeholder(build: &Build, node: &Node) -> Vec<TreeItem<'static, String>> {
    if node.children.iter().any(|c| build.search.shows(c)) {
        let id = format!("{}\u{0}closed", node.process.exec_id);
        vec![TreeItem::new_leaf(id, "…")]
    } else {
        Vec::new()
    }
}

/// binary, how it ended, arguments, pid, uid, pod, child count; search matches highlighted in
/// the binary and the arguments (`positions` index the search haystack's characters).
fn row(
    node: &Node,
    parent_pid: Option<u32>,
    theme: &Theme,
    fresh: bool,
    positions: &[usize],
) -> Line<'static> {
    let p = &node.process;
    let killed = node.exit.as_ref().is_some_and(|e| e.killed());
    let name_style = if killed {
        theme.kill
    } else if node.exit.is_some() {
        theme.dim
    } else if fresh {
        theme.new_process
    } else {
        theme.text
    };
    let mut spans = Vec::with_capacity(10);
    // A same-PID exec: the process became this program.
    if parent_pid.is_some() && parent_pid == p.pid {
        spans.push(styled("↪ ", theme.dim));
    }
    let binary = if p.binary.is_empty() { "?" } else { &p.binary };
    spans.extend(highlighted(
        binary,
        0,
        positions,
        name_style,
        theme.search_match,
    ));
    // How it ended comes first: the end of a long row is the first thing a narrow pane cuts.
    match &node.exit {
        Some(exit) if killed => spans.push(styled(format!(" {}", exit.signal), theme.kill)),
        Some(exit) if !exit.signal.is_empty() => {
            spans.push(styled(format!(" {}", exit.signal), theme.error))
        }
        Some(exit) => spans.push(styled(format!(" exit {}", exit.status), theme.dim)),
        None => {}
    }
    if let Some((verdict, policy)) = &node.verdict {
        spans.push(styled(" ", theme.text));
        spans.push(verdict_marker(*verdict, policy, theme));
    }
    if !p.arguments.is_empty() {
        let arguments = elide(&p.arguments, ARGS_WIDTH);
        let offset = p.binary.chars().count() + 1;
        spans.push(styled(" ", theme.arguments));
        spans.extend(highlighted(
            &arguments,
            offset,
            positions,
            theme.arguments,
            theme.search_match,
        ));
    }
    if let Some(pid) = p.pid {
        spans.push(styled(format!("  pid {pid}"), theme.pid));
    }
    if let Some(uid) = p.uid {
        spans.push(styled(format!(" uid {uid}"), theme.user));
    }
    if let Some(pod) = &p.pod {
        spans.push(styled(
            format!(" {}/{}", pod.namespace, pod.name),
            theme.pod,
        ));
    }
    if !node.children.is_empty() {
        spans.push(styled(format!(" ({})", node.children.len()), theme.dim));
    }
    Line::from(spans)
}

/// Spans of `text` with the characters at `positions` (counted from `offset`) highlighted.
fn highlighted(
    text: &str,
    offset: usize,
    positions: &[usize],
    base: Style,
    highlight: Style,
) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let mut run = String::new();
    let mut run_lit = false;
    for (i, c) in text.chars().enumerate() {
        let lit = positions.binary_search(&(offset + i)).is_ok();
        if lit != run_lit && !run.is_empty() {
            let style = if run_lit { base.patch(highlight) } else { base };
            spans.push(styled(std::mem::take(&mut run), style));
        }
        run_lit = lit;
        run.push(c);
    }
    if !run.is_empty() {
        spans.push(styled(
            run,
            if run_lit { base.patch(highlight) } else { base },
        ));
    }
    spans
}

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App, cache: &mut TreeCache, look: &Look) {
    // Paused: the rows stay as they were, unless the user opens nodes or searches.
    if app.paused_at.is_none()
        || cache.generation.is_none()
        || cache.query != app.search.query
        || cache.opened != *app.tree_state.opened()
    {
        let opened = app.tree_state.opened();
        let nodes = app.several_nodes();
        cache.refresh(
            &app.tree,
            &mut app.search,
            opened,
            look.theme,
            look.now,
            nodes,
        );
    }
    let title = format!(" Processes ({}) ", app.tree.len());
    let block = pane(title, focused(app, Pane::Tree), look.theme);
    if app.tree_state.selected().is_empty() {
        app.tree_state.select_first();
    }
    match Tree::new(&cache.items) {
        Ok(tree) => frame.render_stateful_widget(
            tree.block(block)
                .highlight_style(look.theme.selected)
                .node_closed_symbol("▸ ")
                .node_open_symbol("▾ ")
                .node_no_children_symbol("  "),
            area,
            &mut app.tree_state,
        ),
        Err(e) => frame.render_widget(
            ratatui::widgets::Paragraph::new(format!("tree: {e}")).block(block),
            area,
        ),
    }
}
