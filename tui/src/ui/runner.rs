//! The event loop: terminal input, the source and a tick, into one App.
use std::time::{Duration, Instant};

use anyhow::Result;
use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use futures_util::StreamExt;
use ratatui::DefaultTerminal;

use super::{
    action::Action,
    app::{AgentStatus, App, Pane, ReplayStatus, SourceStatus},
    kept::KeptEvent,
    keys::KeyMap,
    policy_control,
    theme::Theme,
    view::{self, Look, TreeCache},
};
use crate::{
    event::Event,
    record::{LiveRecording, ReadItem},
    source::{
        local::LocalSource,
        remote::{LinkState, RemoteSource},
        replay::ReplaySource,
    },
};

/// How often the agents' policies are listed again.
const POLICY_LISTING: Duration = Duration::from_secs(2);

/// Where the UI's events come from.
pub enum UiSource {
    Live(Box<LocalSource>),
    /// Agents over gRPC (`--agent ADDR`).
    Remote(Box<RemoteSource>),
    Replay(Box<ReplaySource>),
}

pub struct Options {
    pub theme: Theme,
    pub keys: KeyMap,
    /// Shown in the status bar (e.g. "local", "replay incident.jsonl").
    pub source_name: String,
    /// The initial filter line (from the command line).
    pub filter_line: String,
    /// How long exited processes stay in the tree.
    pub keep_exited: Duration,
    /// Events retained.
    pub max_events: usize,
    /// Enforce without asking (config `confirm_enforce = false`); asking is the default.
    pub skip_enforce_confirmation: bool,
}

const TICK: Duration = Duration::from_millis(250);
/// A replay seek jumps this far.
const SEEK_STEP_NS: i128 = 10_000_000_000;

/// Runs the UI until the user quits. The terminal is restored on return, on error and on panic
/// (ratatui's init installs the panic hook).
pub async fn run(mut source: UiSource, options: Options) -> Result<()> {
    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, &mut source, &options).await;
    ratatui::restore();
    result
}

async fn event_loop(
    terminal: &mut DefaultTerminal,
    source: &mut UiSource,
    options: &Options,
) -> Result<()> {
    let mut app = App::new(SourceStatus {
        name: options.source_name.clone(),
        ..SourceStatus::default()
    });
    app.keep_exited = options.keep_exited;
    app.event_cap = options.max_events;
    app.set_filter(&options.filter_line)
        .map_err(|why| anyhow::anyhow!("invalid filter: {why}"))?;
    // A replay that starts part-way (--start) starts from the processes living there.
    if let UiSource::Replay(replay) = &*source
        && replay.position() > 0
    {
        app.reset(replay.view().snapshot(), Instant::now());
    }
    policy_control::refresh(&mut app, source);
    app.policies.skip_confirmation = options.skip_enforce_confirmation;
    if let UiSource::Live(live) = &*source {
        app.insight.counting = Some(live.syscall_counting());
    }
    let mut cache = TreeCache::default();
    let mut input = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    let mut batch: Vec<Event> = Vec::new();
    let mut source_done = false;
    let mut dirty = true;
    let mut recording: Option<LiveRecording> = None;
    let mut listed_at: Option<Instant> = None;
    while !app.should_quit {
        if dirty {
            update_source_status(&mut app, source, source_done);
            let look = Look {
                theme: &options.theme,
                keys: &options.keys,
                now: Instant::now(),
            };
            terminal.draw(|frame| view::draw(frame, &mut app, &mut cache, &look))?;
            dirty = false;
        }
        tokio::select! {
            Some(term) = input.next() => {
                match term? {
                    TermEvent::Key(key) if key.kind != KeyEventKind::Release && app.search.editing => {
                        app.search_key(key);
                        dirty = true;
                    }
                    TermEvent::Key(key) if key.kind != KeyEventKind::Release && app.filter_input.is_some() => {
                        app.filter_key(key);
                        dirty = true;
                    }
                    TermEvent::Key(key) if key.kind != KeyEventKind::Release && app.insight.file_filter_editing => {
                        app.insight.filter_key(key);
                        dirty = true;
                    }
                    TermEvent::Key(key) if key.kind != KeyEventKind::Release && app.policies.confirm.is_some() => {
                        app.policies.confirm_key(key);
                        policy_control::apply_commands(&mut app, source, recording.as_mut());
                        dirty = true;
                    }
                    TermEvent::Key(key) if key.kind != KeyEventKind::Release && app.policies.prompt.is_some() => {
                        app.policies.prompt_key(key);
                        policy_control::apply_commands(&mut app, source, recording.as_mut());
                        dirty = true;
                    }
                    TermEvent::Key(key) if key.kind != KeyEventKind::Release => {
                        let in_policy_pane = app.focus == Pane::Policies;
                        if let Some(action) = options.keys.action_in(key, in_policy_pane) {
                            let page = terminal.size()?.height.saturating_sub(4) as usize;
                            dirty |= app.handle(action, page);
                            dirty |= replay_control(&mut app, source, action)?;
                            if action == Action::Record {
                                toggle_recording(&mut app, source, &mut recording);
                                dirty = true;
                            }
                            policy_control::apply_commands(&mut app, source, recording.as_mut());
                            switch_syscall_counting(&mut app, source);
                            if action == Action::Step || action == Action::SeekBack || action == Action::SeekForward {
                                source_done = false;
                            }
                        }
                    }
                    TermEvent::Resize(..) => dirty = true,
                    _ => {}
                }
            }
            more = next_events(source, &mut batch, &mut app), if !source_done => {
                source_done = !more?;
                if let (Some(rec), UiSource::Live(live)) = (recording.as_mut(), &*source) {
                    let written = rec.record(&batch, live);
                    note_recording(&mut app, rec, written.err());
                }
                let now = Instant::now();
                for event in batch.drain(..) {
                    app.ingest(event, now);
                }
                if app.follow && app.paused_at.is_none() {
                    app.select_newest_process();
                }
                dirty = true;
            }
            _ = tick.tick() => {
                let now = Instant::now();
                app.tick(now);
                if let UiSource::Remote(remote) = &*source
                    && listed_at.is_none_or(|at| now.duration_since(at) >= POLICY_LISTING)
                {
                    remote.list_policies();
                    listed_at = Some(now);
                }
                policy_control::refresh(&mut app, source);
                dirty = true;
            }
        }
    }
    Ok(())
}

/// Carries out the syscall pane's request to switch counting on or off.
fn switch_syscall_counting(app: &mut App, source: &mut UiSource) {
    let (Some(on), UiSource::Live(live)) = (app.insight.counting_request.take(), source) else {
        return;
    };
    app.policies.message = Some(match live.set_syscall_counting(on) {
        Ok(()) => {
            app.insight.counting = Some(on);
            format!("syscall counting {}", if on { "on" } else { "off" })
        }
        Err(e) => format!("syscall counting not switched: {e:#}"),
    });
}

/// Starts or stops recording the live stream (every event, whatever the filter shows).
fn toggle_recording(app: &mut App, source: &UiSource, recording: &mut Option<LiveRecording>) {
    let UiSource::Live(live) = source else {
        app.recording = Some(
            "recording works on the live view only (on an agent's host: tetrascope record)".into(),
        );
        return;
    };
    app.recording = Some(match recording.take() {
        Some(rec) => {
            let path = rec.path().display().to_string();
            match rec.finish() {
                Ok(summary) => format!("recorded {} events to {path}", summary.events),
                Err(e) => format!("recording {path} failed: {e:#}"),
            }
        }
        None => {
            let name = chrono::Utc::now()
                .format("tetrascope-%Y%m%d-%H%M%SZ.jsonl")
                .to_string();
            match LiveRecording::create(std::path::Path::new(&name), live.node_name()) {
                Ok(rec) => {
                    let message = format!("● REC {name}");
                    *recording = Some(rec);
                    message
                }
                Err(e) => format!("cannot record: {e:#}"),
            }
        }
    });
}

fn note_recording(app: &mut App, rec: &LiveRecording, error: Option<anyhow::Error>) {
    let stats = rec.stats();
    app.recording = Some(match error {
        None => format!(
            "● REC {} {} events {:.1} MB",
            rec.path().display(),
            stats.events,
            stats.bytes as f64 / 1e6
        ),
        Some(e) => format!("recording {} failed: {e:#}", rec.path().display()),
    });
}

/// Waits for the next events; false when the source has nothing more (a replay's end).
async fn next_events(source: &mut UiSource, batch: &mut Vec<Event>, app: &mut App) -> Result<bool> {
    match source {
        UiSource::Live(live) => {
            live.next_batch(batch).await?;
            Ok(true)
        }
        UiSource::Remote(remote) => {
            if remote.next_batch(batch).await? {
                let outcomes = remote.take_outcomes();
                if !outcomes.is_empty() {
                    app.policies.message = Some(outcomes.join("; "));
                    // Show the change as soon as the agents have made it.
                    remote.list_policies();
                }
            }
            Ok(true)
        }
        UiSource::Replay(replay) => Ok(match replay.next().await? {
            Some(item) => {
                take_item(item, batch, app);
                true
            }
            None => false,
        }),
    }
}

fn take_item(item: ReadItem, batch: &mut Vec<Event>, app: &mut App) {
    match item {
        ReadItem::Event(event) => batch.push(event),
        ReadItem::Bad(_) | ReadItem::TornTail { .. } => app.source.bad_lines += 1,
    }
}

/// Play/pause, speed, step and seek act on a replay; pause alone acts on a live view.
fn replay_control(app: &mut App, source: &mut UiSource, action: Action) -> Result<bool> {
    let UiSource::Replay(replay) = source else {
        return Ok(false);
    };
    match action {
        Action::Pause => {
            // In a replay, pausing stops the playback itself; the view pause is not needed.
            app.paused_at = None;
            if replay.is_paused() {
                replay.resume();
            } else {
                replay.pause();
            }
        }
        Action::SpeedUp | Action::SpeedDown => {
            let speed = replay.speed().unwrap_or(1.0);
            let factor = if action == Action::SpeedUp { 2.0 } else { 0.5 };
            replay.set_speed(Some((speed * factor).clamp(1.0 / 64.0, 1024.0)));
        }
        Action::Step => {
            let mut batch = Vec::new();
            if let Some(item) = replay.step()? {
                take_item(item, &mut batch, app);
            }
            let now = Instant::now();
            for event in batch {
                app.ingest(event, now);
            }
        }
        Action::SeekBack | Action::SeekForward => {
            let Some(now_time) = app.events.back().and_then(KeptEvent::time) else {
                return Ok(false);
            };
            let delta = if action == Action::SeekBack {
                -SEEK_STEP_NS
            } else {
                SEEK_STEP_NS
            };
            let target = crate::event::Timestamp::from_unix_nanos(now_time.unix_nanos() + delta);
            replay.seek_time(target)?;
            app.reset(replay.view().snapshot(), Instant::now());
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn update_source_status(app: &mut App, source: &UiSource, finished: bool) {
    match source {
        UiSource::Live(live) => {
            let counters = live.counters();
            app.source.dropped = counters.kernel_lost + counters.malformed;
            app.source.name = match live.pod_metadata().and_then(|pods| pods.problem()) {
                Some(problem) => format!("local; {problem}"),
                None => "local".into(),
            };
        }
        UiSource::Remote(remote) => {
            let links = remote.links();
            app.source.dropped = links.iter().map(|l| l.dropped + l.undecodable).sum();
            let now = Instant::now();
            app.source.agents = links
                .iter()
                .enumerate()
                .filter(|(_, link)| link.state != LinkState::Left)
                .map(|(index, link)| AgentStatus {
                    label: remote.label(index),
                    up: link.state == LinkState::Connected,
                    detail: match &link.state {
                        LinkState::Connected | LinkState::Left => String::new(),
                        LinkState::Connecting => "connecting".into(),
                        LinkState::Down { reason, retry_at } => format!(
                            "{reason}; retry in {}s",
                            retry_at.saturating_duration_since(now).as_secs() + 1
                        ),
                    },
                })
                .collect();
        }
        UiSource::Replay(replay) => {
            app.source.replay = Some(ReplayStatus {
                position: replay.position(),
                total: replay.recording().summary.as_ref().map(|s| s.events),
                speed: replay.speed(),
                playing: !replay.is_paused(),
                finished,
            });
        }
    }
}
