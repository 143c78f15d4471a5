//! A GetEvents request's filters, applied per stream on the agent. For now the event types of
//! the allow list only; the full `Filter` and `FieldFilter` semantics follow.
use super::proto;
use crate::event::{Event, EventType};

#[derive(Debug)]
pub struct FilterError(String);

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FilterError {}

pub struct RequestFilter {
    types: Vec<EventType>,
}

impl RequestFilter {
    pub fn new(request: &proto::GetEventsRequest) -> Result<Self, FilterError> {
        let mut types = Vec::new();
        for number in request.allow_list.iter().flat_map(|f| &f.event_set) {
            let name = proto::EventType::try_from(*number)
                .map_err(|_| FilterError(format!("event_set: unknown event type {number}")))?;
            types.extend(name.as_str_name().parse::<EventType>());
        }
        Ok(Self { types })
    }

    pub fn matches(&self, event: &Event) -> bool {
        if self.types.is_empty() {
            event.in_default_set()
        } else {
            self.types.contains(&event.event_type())
        }
    }

    pub fn shapes(&self, _: EventType) -> bool {
        false
    }

    pub fn apply_fields(&self, _: EventType, _: &mut serde_json::Value) {}
}
