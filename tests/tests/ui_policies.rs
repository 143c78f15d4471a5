//! The policy pane, kill styles, the recent kills, the enforce confirmation and a policy's
//! details, with styles, from a fixture recording of the IRIS policy (monitor, then enforce).
mod common;

use std::time::{Duration, Instant};

use tetrascope::{
    policy::{
        self,
        model::Mode,
        resolve::KernelFeatures,
        store::{PolicySource, PolicyStore},
    },
    ui::{App, Pane, action::Action, policies::PolicyRow, theme::Theme},
};

fn app_at(events: Option<u64>, base: Instant) -> App {
    common::app_with_iris_session(events, base)
}

/// Drawn twice: the tree widget opens what it last drew.
fn screen(app: &mut App, size: (u16, u16), now: Instant) -> String {
    common::render(app, &Theme::builtin(), size, now);
    common::render(app, &Theme::builtin(), size, now)
}

fn check(name: &str, app: &mut App, actions: &[Action], base: Instant) {
    for action in actions {
        app.handle(*action, 10);
    }
    let later = base + Duration::from_secs(10);
    for size in [(80, 24), (120, 40)] {
        insta::assert_snapshot!(
            format!("{name}_{}x{}", size.0, size.1),
            screen(app, size, later)
        );
    }
}

#[test]
fn a_kill_and_a_would_be_kill_stand_out_in_the_tree_the_stream_and_the_status_bar() {
    let base = Instant::now();
    let mut app = app_at(None, base);
    assert_eq!(app.policies.kills_total, 1);
    assert_eq!(app.policies.would_kills_total, 1);
    assert_eq!(
        app.policies.rows[0].mode,
        Mode::Enforce,
        "the sidecar's switch applies"
    );
    check("policy_pane_enforced", &mut app, &[], base);
}

#[test]
fn before_the_switch_the_recording_shows_the_policy_in_monitor_mode() {
    let base = Instant::now();
    let mut app = app_at(Some(9), base);
    assert_eq!(app.policies.rows[0].mode, Mode::Monitor);
    app.focus = Pane::Policies;
    check("policy_pane_monitor", &mut app, &[], base);
}

#[test]
fn the_recent_kills_list_keeps_the_killed_process() {
    let base = Instant::now();
    let mut app = app_at(None, base);
    check("policy_kills", &mut app, &[Action::Kills], base);
}

#[test]
fn details_of_a_policy_show_its_hooks_hits_and_yaml() {
    let base = Instant::now();
    let mut app = app_at(None, base);
    app.focus = Pane::Policies;
    check("policy_details", &mut app, &[Action::Details], base);
}

#[test]
fn enforcing_asks_for_confirmation_naming_what_it_will_do() {
    let base = Instant::now();
    let mut app = app_at(Some(9), base);
    app.focus = Pane::Policies;
    app.handle(Action::PolicyMode, 10);
    let question = &app.policies.confirm.as_ref().expect("asks").question;
    assert!(question.contains("Sigkill"), "{question}");
    check("policy_confirm", &mut app, &[], base);
}

#[test]
fn every_state_a_policy_can_be_in() {
    let base = Instant::now();
    let mut app = app_at(None, base);
    let shared = common::shared_dir().join("policies");
    let mut store = PolicyStore::new(KernelFeatures::default(), [0; 10]);
    for (file, mode) in [
        ("iris-read-file-sigkill.yaml", Mode::Enforce),
        ("tetragon-examples/write.yaml", Mode::Monitor),
        ("tetragon-examples/rawtp.yaml", Mode::Monitor),
    ] {
        let policy = policy::load_file(&shared.join(file)).unwrap().remove(0);
        store
            .add(policy, PolicySource::File(file.into()), Some(mode), None)
            .unwrap();
    }
    let mut rows: Vec<PolicyRow> = store.entries().iter().map(PolicyRow::from_entry).collect();
    rows[1].status = tetrascope::policy::store::PolicyStatus::Disabled;
    app.policies.set_rows(rows);
    app.focus = Pane::Policies;
    check(
        "policy_states",
        &mut app,
        &[Action::Down, Action::Down],
        base,
    );
}
