//! Hands each event to every GetEvents stream that wants it. Each stream has a bounded queue;
//! when a client reads too slowly its queue fills and the events it misses are counted and
//! reported to it as a `rate_limit_info` event as soon as there is room again (Tetragon drops
//! them silently).
use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
};

use tokio::sync::mpsc;
use tonic::Status;

use super::{convert, filter::RequestFilter, proto};
use crate::event::{Event, EventBody, RateLimitInfo, encode_json};

/// What a GetEvents stream yields.
pub type StreamItem = Result<proto::GetEventsResponse, Status>;

/// Tetragon's default `--event-queue-size`.
pub const DEFAULT_QUEUE: usize = 10_000;

pub struct Fanout {
    node_name: String,
    queue_size: usize,
    streams: Mutex<Vec<Stream>>,
    /// Events dropped over every stream, for the agent's own report.
    dropped: AtomicU64,
    /// Signalled when a stream opens.
    opened: tokio::sync::Notify,
}

struct Stream {
    filter: RequestFilter,
    queue: mpsc::Sender<StreamItem>,
    /// Dropped and not yet reported to the client.
    unreported: u64,
}

impl Fanout {
    pub fn new(node_name: String, queue_size: usize) -> Arc<Self> {
        Arc::new(Fanout {
            node_name,
            queue_size: queue_size.max(1),
            streams: Mutex::new(Vec::new()),
            dropped: AtomicU64::new(0),
            opened: tokio::sync::Notify::new(),
        })
    }

    /// A new stream: its queue's receiving end.
    pub fn subscribe(&self, filter: RequestFilter) -> mpsc::Receiver<StreamItem> {
        let (queue, receiver) = mpsc::channel(self.queue_size);
        self.lock().push(Stream {
            filter,
            queue,
            unreported: 0,
        });
        self.opened.notify_one();
        receiver
    }

    /// Returns once some stream has opened (at once if one opened before).
    pub async fn first_stream(&self) {
        self.opened.notified().await;
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Offers each event to every stream; streams whose client went away are removed.
    pub fn publish(&self, events: &[Event]) {
        let mut streams = self.lock();
        if streams.is_empty() {
            return;
        }
        let mut dropped = 0;
        for event in events {
            // Converted once, and only if some stream takes it unshaped.
            let mut message: Option<proto::GetEventsResponse> = None;
            for stream in streams.iter_mut() {
                if !stream.filter.matches(event) {
                    continue;
                }
                if !stream.report_drops(&self.node_name) {
                    // No room for the report: the event at hand is dropped too.
                    stream.unreported += 1;
                    dropped += 1;
                    continue;
                }
                let Some(item) = stream.message_for(event, &mut message) else {
                    continue;
                };
                if let Err(mpsc::error::TrySendError::Full(_)) = stream.queue.try_send(item) {
                    stream.unreported += 1;
                    dropped += 1;
                }
            }
        }
        streams.retain(|s| !s.queue.is_closed());
        self.dropped.fetch_add(dropped, Ordering::Relaxed);
    }

    /// Reports the drops not yet reported to the streams that have room again. Called on a
    /// timer: drops at the end of a burst would otherwise wait for the next event that passes
    /// the stream's filter, which may never come (a recording that ended, a quiet host).
    pub fn report_pending(&self) {
        let mut streams = self.lock();
        for stream in streams.iter_mut() {
            stream.report_drops(&self.node_name);
        }
        streams.retain(|s| !s.queue.is_closed());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Stream>> {
        // A panic while holding the lock leaves a plain Vec: still usable.
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Stream {
    /// Sends the count of dropped events, if any; false while there is no room for it.
    fn report_drops(&mut self, node_name: &str) -> bool {
        if self.unreported == 0 {
            return true;
        }
        let report = Event {
            node_name: node_name.to_owned(),
            time: Some(crate::event::Timestamp::now()),
            ..Event::new(EventBody::RateLimitInfo(RateLimitInfo {
                number_of_dropped_process_events: self.unreported,
            }))
        };
        let Ok(message) = convert::to_proto(&report) else {
            return true;
        };
        match self.queue.try_send(Ok(message)) {
            Ok(()) => {
                self.unreported = 0;
                true
            }
            Err(_) => false,
        }
    }

    /// The message of `event` for this stream: the shared conversion, or its own when field
    /// filters reshape it. None only if our own JSON did not fit the proto, which the
    /// conversion tests rule out.
    fn message_for(
        &self,
        event: &Event,
        shared: &mut Option<proto::GetEventsResponse>,
    ) -> Option<StreamItem> {
        if self.filter.shapes(event.event_type()) {
            let mut json = Vec::with_capacity(1024);
            encode_json(event, &mut json);
            let mut value: serde_json::Value = serde_json::from_slice(&json).ok()?;
            self.filter.apply_fields(event.event_type(), &mut value);
            return serde_json::from_value(value).ok().map(Ok);
        }
        if shared.is_none() {
            *shared = convert::to_proto(event).ok();
        }
        shared.clone().map(Ok)
    }
}
