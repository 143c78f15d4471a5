//! The whole screen, with styles, at 80×24 and 120×40, driven by replaying a fixture recording.
mod common;

use std::time::{Duration, Instant};

use common::app_with_fixture;
use tetrascope::ui::{App, Pane, action::Action, theme::Theme};

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

/// Renders and returns the buffer with its styles, as insta stores it.
fn screen(app: &mut App, theme: &Theme, size: (u16, u16), now: Instant) -> String {
    common::render(app, theme, size, now)
}

/// Runs `actions` on a fresh fixture App, drawing after each as the UI does (the tree widget
/// navigates what it last drew), and snapshots each size.
fn check(name: &str, theme: &Theme, actions: &[Action]) {
    let base = Instant::now();
    // Rendered after the "new" highlight has passed, so the screen does not depend on timing.
    let later = base + Duration::from_secs(10);
    for size in SIZES {
        let mut app = app_with_fixture(base);
        let mut text = screen(&mut app, theme, size, later);
        for action in actions {
            app.handle(*action, 10);
            text = screen(&mut app, theme, size, later);
        }
        insta::assert_snapshot!(format!("{name}_{}x{}", size.0, size.1), text);
    }
}

#[test]
fn tree_with_a_shell_call_out_a_direct_exec_and_a_kill() {
    check("tree", &Theme::builtin(), &[Action::ExpandAll]);
}

#[test]
fn details_of_the_process_bash_became() {
    check(
        "details",
        &Theme::builtin(),
        &[
            Action::ExpandAll,
            Action::First,
            Action::Down,
            Action::Down,
            Action::Down,
            Action::Details,
        ],
    );
}

#[test]
fn paused_banner() {
    let base = Instant::now();
    for size in SIZES {
        let mut app = app_with_fixture(base);
        app.handle(Action::Pause, 10);
        app.focus = Pane::Stream;
        let text = screen(
            &mut app,
            &Theme::builtin(),
            size,
            base + Duration::from_secs(10),
        );
        assert!(text.contains("PAUSED"));
        insta::assert_snapshot!(format!("paused_{}x{}", size.0, size.1), text);
    }
}

#[test]
fn a_search_shows_matches_with_their_ancestors() {
    use crossterm::event::{KeyCode, KeyEvent};
    let base = Instant::now();
    for size in SIZES {
        let mut app = app_with_fixture(base);
        app.handle(Action::Search, 10);
        for c in "iriskey".chars() {
            app.search_key(KeyEvent::from(KeyCode::Char(c)));
        }
        let typing = screen(
            &mut app,
            &Theme::builtin(),
            size,
            base + Duration::from_secs(10),
        );
        assert!(typing.contains("/iriskey"), "the query line");
        app.search_key(KeyEvent::from(KeyCode::Enter));
        let text = screen(
            &mut app,
            &Theme::builtin(),
            size,
            base + Duration::from_secs(10),
        );
        // The match (cat, pid 302) shows with its ancestors; sleep (pid 303) does not.
        assert!(
            text.contains("pid 302") && !text.contains("pid 303"),
            "{text}"
        );
        insta::assert_snapshot!(format!("search_{}x{}", size.0, size.1), text);
    }
}

#[test]
fn a_filter_keeps_only_matching_events() {
    let base = Instant::now();
    for size in SIZES {
        let mut app = app_with_fixture(base);
        app.set_filter("process=cat$ type=PROCESS_EXIT").unwrap();
        assert_eq!(app.events.len(), 1, "the exit of cat");
        assert_eq!(app.filtered_out, 8);
        let text = screen(
            &mut app,
            &Theme::builtin(),
            size,
            base + Duration::from_secs(10),
        );
        if size.0 >= 120 {
            assert!(
                text.contains("filter: process=cat$ type=PROCESS_EXIT"),
                "{text}"
            );
        }
        insta::assert_snapshot!(format!("filter_{}x{}", size.0, size.1), text);
        assert!(
            app.set_filter("process=(").is_err(),
            "a bad regex is refused"
        );
        assert_eq!(app.events.len(), 1, "and the old filter stays");
    }
}

#[test]
fn help_lists_every_action() {
    check("help", &Theme::builtin(), &[Action::Help]);
}

#[test]
fn each_shipped_theme() {
    for name in ["default", "light", "high-contrast", "no-colour"] {
        let (theme, warnings) = Theme::load(name, None).unwrap();
        assert!(warnings.is_empty(), "{name}: {warnings:?}");
        check(&format!("theme_{name}"), &theme, &[Action::ExpandAll]);
    }
}

#[test]
fn a_terminal_too_small_says_so() {
    let base = Instant::now();
    let mut app = app_with_fixture(base);
    let text = screen(&mut app, &Theme::builtin(), (40, 10), base);
    assert!(text.contains("Terminal too small"), "{text}");
}
