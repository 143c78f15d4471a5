//! Tetragon's user-space actions, done once a hit's event arrives: GetUrl (an HTTP GET of
//! `argUrl`, e.g. a canary or a webhook) and DnsLookup (a lookup of `argFqdn`). They run on one
//! worker thread, off the event path, from a bounded queue: a burst beyond it is dropped,
//! counted and told on stderr, never waited for; so is a failure.
use std::{
    net::ToSocketAddrs,
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc::{self, SyncSender},
    },
    thread,
    time::Duration,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserAction {
    GetUrl(String),
    DnsLookup(String),
}

/// Actions waiting at most: a hit storm on a GetUrl selector must not grow memory.
const QUEUE: usize = 256;
/// How long one action may take before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(5);

pub struct UserActions {
    queue: SyncSender<UserAction>,
    dropped: AtomicU64,
}

impl UserActions {
    /// Starts the worker thread.
    pub fn start() -> Self {
        let (queue, actions) = mpsc::sync_channel::<UserAction>(QUEUE);
        thread::Builder::new()
            .name("user-actions".into())
            .spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .timeout_global(Some(TIMEOUT))
                    .build()
                    .into();
                for action in actions {
                    if let Err(why) = perform(&agent, &action) {
                        eprintln!("tetrascope: {why}");
                    }
                }
            })
            .expect("spawning the user-actions thread");
        UserActions {
            queue,
            dropped: AtomicU64::new(0),
        }
    }

    /// Queues `action`; when the queue is full it is dropped and counted (told at every
    /// thousandth drop, and at the first).
    pub fn queue(&self, action: &UserAction) {
        if self.queue.try_send(action.clone()).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped == 1 || dropped.is_multiple_of(1000) {
                eprintln!(
                    "tetrascope: {dropped} GetUrl/DnsLookup actions dropped: more hits than the worker keeps up with"
                );
            }
        }
    }
}

fn perform(agent: &ureq::Agent, action: &UserAction) -> Result<(), String> {
    match action {
        UserAction::GetUrl(url) => agent
            .get(url)
            .call()
            .map(drop)
            .map_err(|e| format!("GetUrl {url}: {e}")),
        UserAction::DnsLookup(fqdn) => (fqdn.as_str(), 0)
            .to_socket_addrs()
            .map(drop)
            .map_err(|e| format!("DnsLookup {fqdn}: {e}")),
    }
}
