//! `RequestFilter`: a `GetEventsRequest`'s allow list, deny list and field filters, compiled
//! once per stream and applied by the agent to every event before it is sent (tetragon.md §1.5).
//!
//! An event passes when it matches any allow entry (an empty list allows the default set) and
//! no deny entry. Inside an entry the set fields are ANDed, inside a field the values ORed.

mod capabilities;
mod entry;
mod fields;
mod labels;

use std::fmt;

use super::proto;
use crate::event::{Event, EventType};
use entry::EntryFilter;
use fields::FieldFilter;

/// A request this agent cannot serve, and where in it the problem is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// The path of the offending field, e.g. `allow_list[0].binary_regex[1]`.
    place: String,
    message: String,
}

impl FilterError {
    fn new(place: impl Into<String>, message: impl Into<String>) -> Self {
        FilterError {
            place: place.into(),
            message: message.into(),
        }
    }

    pub fn place(&self) -> &str {
        &self.place
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

impl std::error::Error for FilterError {}

/// The event types of an `event_set`; a number that is not one of ours (including `UNDEF`)
/// is an error rather than a type that silently never matches.
fn event_types(numbers: &[i32], place: &str) -> Result<Vec<EventType>, FilterError> {
    numbers
        .iter()
        .enumerate()
        .map(|(i, &number)| {
            EventType::ALL
                .into_iter()
                .find(|t| i64::from(t.number()) == i64::from(number))
                .ok_or_else(|| {
                    FilterError::new(
                        format!("{place}[{i}]"),
                        format!("unknown event type {number}"),
                    )
                })
        })
        .collect()
}

/// A compiled `GetEventsRequest`.
#[derive(Clone, Debug)]
pub struct RequestFilter {
    allow: Vec<EntryFilter>,
    deny: Vec<EntryFilter>,
    fields: Vec<FieldFilter>,
}

impl RequestFilter {
    /// Compiles a request; a bad one is an error naming the place, e.g.
    /// `allow_list[0].binary_regex[1]: regex parse error: ...`.
    pub fn new(request: &proto::GetEventsRequest) -> Result<Self, FilterError> {
        let list = |filters: &[proto::Filter], name: &str, allow: bool| {
            filters
                .iter()
                .enumerate()
                .map(|(i, filter)| EntryFilter::new(filter, &format!("{name}[{i}]"), allow))
                .collect::<Result<Vec<_>, _>>()
        };
        let fields = request
            .field_filters
            .iter()
            .enumerate()
            .map(|(i, filter)| FieldFilter::new(filter, &format!("field_filters[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(RequestFilter {
            allow: list(&request.allow_list, "allow_list", true)?,
            deny: list(&request.deny_list, "deny_list", false)?,
            fields,
        })
    }

    /// Allow (any entry; an empty list allows the default set) minus deny (any entry).
    pub fn matches(&self, event: &Event) -> bool {
        let allowed = if self.allow.is_empty() {
            event.in_default_set()
        } else {
            self.allow.iter().any(|entry| entry.matches(event))
        };
        allowed && !self.deny.iter().any(|entry| entry.matches(event))
    }

    /// Whether any field filter changes events of this type (so the caller can skip the JSON
    /// work).
    pub fn shapes(&self, event_type: EventType) -> bool {
        self.fields.iter().any(|f| f.shapes(event_type))
    }

    /// Applies the field filters, in request order, to the event's JSON object as
    /// `serde_json::to_value(event)` gives it. Only the object under the event type's key is
    /// shaped: `node_name`, `time` and the rest of the envelope always stay, as in Tetragon.
    pub fn apply_fields(&self, event_type: EventType, event_json: &mut serde_json::Value) {
        let Some(body) = event_json.get_mut(event_type.json_key()) else {
            return;
        };
        for filter in self.fields.iter().filter(|f| f.shapes(event_type)) {
            filter.apply(body);
        }
    }
}

#[cfg(test)]
mod test_support;

#[cfg(test)]
mod tests {
    use super::test_support::{event, request};
    use super::*;

    #[test]
    fn an_empty_request_passes_the_default_set_only() {
        let filter = RequestFilter::new(&proto::GetEventsRequest::default()).unwrap();
        assert!(filter.matches(&event(
            r#"{"process_exec":{"process":{"binary":"/bin/sh"}}}"#
        )));
        assert!(filter.matches(&event(r#"{"process_throttle":{"type":"THROTTLE_START"}}"#)));
        let stats = event(r#"{"tetrascope_syscall_stats":{"process":{"binary":"/bin/sh"}}}"#);
        assert!(!filter.matches(&stats));
        let open = event(r#"{"process_kprobe":{"function_name":"fd_install"}}"#);
        assert!(!filter.matches(&open));
    }

    #[test]
    fn own_types_and_file_tracking_only_when_an_allow_entry_names_them() {
        let stats = event(r#"{"tetrascope_syscall_stats":{"process":{"binary":"/bin/sh"}}}"#);
        let open = event(r#"{"process_kprobe":{"function_name":"fd_install"}}"#);
        let exec = event(r#"{"process_exec":{"process":{"binary":"/bin/sh"}}}"#);

        let by_binary = request(r#"{"allow_list":[{"binary_regex":["sh"]}]}"#);
        assert!(by_binary.matches(&exec));
        assert!(
            !by_binary.matches(&stats),
            "an entry without types is the default set"
        );

        let named = request(
            r#"{"allow_list":[{"event_set":["TETRASCOPE_SYSCALL_STATS","PROCESS_KPROBE"]}]}"#,
        );
        assert!(named.matches(&stats) && named.matches(&open));
        assert!(!named.matches(&exec));

        let other_entry_named = request(
            r#"{"allow_list":[{"event_set":["TETRASCOPE_FILE_ACCESS"]},{"binary_regex":["sh"]}]}"#,
        );
        assert!(!other_entry_named.matches(&stats));
        assert!(other_entry_named.matches(&exec));
    }

    #[test]
    fn allow_entries_are_ored_and_deny_wins() {
        let sh = event(r#"{"process_exec":{"process":{"binary":"/bin/sh"}}}"#);
        let cat = event(r#"{"process_exec":{"process":{"binary":"/bin/cat"}}}"#);
        let ls = event(r#"{"process_exec":{"process":{"binary":"/bin/ls"}}}"#);
        let filter = request(
            r#"{"allow_list":[{"binary_regex":["sh$"]},{"binary_regex":["cat$"]}],
                "deny_list":[{"binary_regex":["cat"]}]}"#,
        );
        assert!(filter.matches(&sh));
        assert!(!filter.matches(&cat), "denied although allowed");
        assert!(!filter.matches(&ls), "allowed by no entry");

        let deny_only = request(r#"{"deny_list":[{"binary_regex":["sh$"]}]}"#);
        assert!(!deny_only.matches(&sh));
        assert!(deny_only.matches(&cat));
    }

    #[test]
    fn deny_entries_without_types_cover_every_type() {
        let stats = event(r#"{"tetrascope_syscall_stats":{"process":{"binary":"/bin/sh"}}}"#);
        let filter = request(
            r#"{"allow_list":[{"event_set":["TETRASCOPE_SYSCALL_STATS"]}],
                "deny_list":[{"binary_regex":["sh"]}]}"#,
        );
        assert!(!filter.matches(&stats));
    }

    #[test]
    fn errors_name_their_place() {
        let error = |json: &str| {
            let request: proto::GetEventsRequest = serde_json::from_str(json).unwrap();
            RequestFilter::new(&request).unwrap_err()
        };
        let bad_regex = error(r#"{"allow_list":[{"binary_regex":["ok","("]}]}"#);
        assert_eq!(bad_regex.place(), "allow_list[0].binary_regex[1]");
        assert!(
            bad_regex
                .to_string()
                .starts_with("allow_list[0].binary_regex[1]: regex parse error"),
            "{bad_regex}"
        );
        let cel = error(r#"{"deny_list":[{},{"cel_expression":["true"]}]}"#);
        assert_eq!(
            cel.to_string(),
            "deny_list[1].cel_expression: CEL expressions are not supported by this agent"
        );
        let labels = error(r#"{"allow_list":[{"labels":["app in (a"]}]}"#);
        assert_eq!(labels.place(), "allow_list[0].labels[0]");

        let unknown_type = proto::GetEventsRequest {
            allow_list: vec![proto::Filter {
                event_set: vec![1, 7],
                ..proto::Filter::default()
            }],
            ..proto::GetEventsRequest::default()
        };
        let unknown_type = RequestFilter::new(&unknown_type).unwrap_err();
        assert_eq!(
            unknown_type.to_string(),
            "allow_list[0].event_set[1]: unknown event type 7"
        );
    }

    #[test]
    fn field_filters_shape_only_the_event_object() {
        let filter = request(
            r#"{"field_filters":[{"event_set":["PROCESS_EXEC"],
                "fields":{"paths":["process.binary"]},"action":"INCLUDE"}]}"#,
        );
        assert!(filter.shapes(EventType::ProcessExec));
        assert!(!filter.shapes(EventType::ProcessExit));
        let exec = event(
            r#"{"process_exec":{"process":{"binary":"/bin/sh","pid":3},"parent":{"pid":1}},
                "node_name":"n","time":"2026-11-29T10:00:00Z"}"#,
        );
        let mut json = serde_json::to_value(&exec).unwrap();
        filter.apply_fields(EventType::ProcessExec, &mut json);
        assert_eq!(
            json,
            serde_json::json!({"process_exec":{"process":{"binary":"/bin/sh"}},
                               "node_name":"n","time":"2026-11-29T10:00:00Z"})
        );
        let empty = RequestFilter::new(&proto::GetEventsRequest::default()).unwrap();
        assert!(!empty.shapes(EventType::ProcessExec));
    }
}
