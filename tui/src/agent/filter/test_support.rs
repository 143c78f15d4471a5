//! Helpers for the filter tests: events and requests written as JSON.

use super::RequestFilter;
use crate::agent::proto;
use crate::event::{Event, decode_json_line};

/// The event of a Tetragon JSON line.
pub fn event(json: &str) -> Event {
    decode_json_line(json.as_bytes()).unwrap()
}

/// The compiled `GetEventsRequest` of a protojson object.
pub fn request(json: &str) -> RequestFilter {
    let request: proto::GetEventsRequest = serde_json::from_str(json).unwrap();
    RequestFilter::new(&request).unwrap()
}

/// The compiled request whose allow list is one `Filter` (a protojson object).
pub fn allow(filter_json: &str) -> RequestFilter {
    request(&format!(r#"{{"allow_list":[{filter_json}]}}"#))
}
