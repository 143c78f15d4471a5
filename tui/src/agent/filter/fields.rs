//! `FieldFilter`: a compiled `FieldFilter` of a request (tetragon.md §1.5), shaping the JSON
//! object of an event type (`process_exec`'s `{"process":…,"parent":…}`) as Tetragon's
//! `pkg/fieldfilters` shapes the message.
//!
//! Filters apply one after the other, in request order, so exclusion wins over inclusion and
//! two inclusions keep what both list. A filter with no paths changes nothing.

use serde_json::Value;

use super::{FilterError, event_types};
use crate::agent::proto;
use crate::event::EventType;

#[derive(Clone, Debug)]
pub(super) struct FieldFilter {
    /// Empty: every type.
    event_types: Vec<EventType>,
    /// Shape every type except `event_types` (ignored when those are empty, as in Tetragon).
    invert_event_set: bool,
    action: proto::FieldFilterAction,
    mask: Mask,
}

/// Field paths as a tree: a node without children stands for the field's whole subtree.
#[derive(Clone, Debug, Default)]
struct Mask {
    fields: Vec<(String, Mask)>,
}

impl FieldFilter {
    pub(super) fn new(filter: &proto::FieldFilter, place: &str) -> Result<Self, FilterError> {
        let action = proto::FieldFilterAction::try_from(filter.action).map_err(|_| {
            FilterError::new(
                format!("{place}.action"),
                format!("unknown action {}", filter.action),
            )
        })?;
        let paths = filter.fields.as_ref().map_or(&[][..], |mask| &mask.paths);
        Ok(FieldFilter {
            event_types: event_types(&filter.event_set, &format!("{place}.event_set"))?,
            invert_event_set: filter.invert_event_set.is_some_and(|b| b.value),
            action,
            mask: Mask::new(paths, &format!("{place}.fields.paths"))?,
        })
    }

    /// Whether the filter changes events of this type.
    pub(super) fn shapes(&self, event_type: EventType) -> bool {
        let in_event_set = self.event_types.is_empty()
            || self.event_types.contains(&event_type) != self.invert_event_set;
        in_event_set && !self.mask.fields.is_empty()
    }

    /// Shapes the object of the event type (the caller checked [`Self::shapes`]).
    pub(super) fn apply(&self, body: &mut Value) {
        match self.action {
            proto::FieldFilterAction::Include => self.mask.keep(body),
            proto::FieldFilterAction::Exclude => self.mask.remove(body),
        }
    }
}

/// Tetragon matches paths against Go field names (`pod_labels` → `PodLabels`), so spellings
/// that give the same Go name (`pod_labels`, `podLabels`) name the same field. JSON keys are
/// proto names and compare the same way, which also covers `Key` and `ProgType`.
fn same_field(a: &str, b: &str) -> bool {
    fn go_name(name: &str) -> impl Iterator<Item = char> + '_ {
        let mut word_start = true;
        name.chars().filter_map(move |c| {
            if c == '_' {
                word_start = true;
                return None;
            }
            let c = if word_start {
                c.to_ascii_uppercase()
            } else {
                c
            };
            word_start = false;
            Some(c)
        })
    }
    go_name(a).eq(go_name(b))
}

impl Mask {
    fn new(paths: &[String], place: &str) -> Result<Self, FilterError> {
        let mut mask = Mask::default();
        for (i, path) in paths.iter().enumerate() {
            if path.split('.').any(str::is_empty) {
                let message = format!("empty field name in {path:?}");
                return Err(FilterError::new(format!("{place}[{i}]"), message));
            }
            mask.add(path.split('.'));
        }
        Ok(mask)
    }

    /// Adds one path; a whole field absorbs deeper paths into it, whatever the order.
    fn add<'a>(&mut self, mut path: impl Iterator<Item = &'a str>) {
        let Some(name) = path.next() else {
            // The path ends at this field: all of it.
            self.fields.clear();
            return;
        };
        match self.fields.iter().position(|(n, _)| same_field(n, name)) {
            Some(i) if self.fields[i].1.fields.is_empty() => {}
            Some(i) => self.fields[i].1.add(path),
            None => {
                let mut child = Mask::default();
                child.add(path);
                self.fields.push((name.to_owned(), child));
            }
        }
    }

    fn child(&self, key: &str) -> Option<&Mask> {
        self.fields
            .iter()
            .find(|(name, _)| same_field(name, key))
            .map(|(_, mask)| mask)
    }

    /// Keeps only the masked fields (and all of a field without children). Lists are shaped
    /// element by element; a scalar under a deeper path stays whole.
    fn keep(&self, value: &mut Value) {
        match value {
            Value::Object(object) => object.retain(|key, value| match self.child(key) {
                Some(child) => {
                    if !child.fields.is_empty() {
                        child.keep(value);
                    }
                    true
                }
                None => false,
            }),
            Value::Array(items) => items.iter_mut().for_each(|item| self.keep(item)),
            _ => {}
        }
    }

    /// Removes the masked fields; a field with children loses only those.
    fn remove(&self, value: &mut Value) {
        match value {
            Value::Object(object) => object.retain(|key, value| match self.child(key) {
                Some(child) if child.fields.is_empty() => false,
                Some(child) => {
                    child.remove(value);
                    true
                }
                None => true,
            }),
            Value::Array(items) => items.iter_mut().for_each(|item| self.remove(item)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::agent::filter::RequestFilter;
    use crate::agent::filter::test_support::request;
    use crate::agent::proto;
    use crate::event::EventType;

    /// A request of field filters, each `(event_set, paths, action, invert_event_set)`.
    fn field_filters(filters: &[(&[&str], &[&str], &str, bool)]) -> RequestFilter {
        let filters: Vec<Value> = filters
            .iter()
            .map(|(types, paths, action, invert)| {
                json!({"event_set": types, "fields": {"paths": paths},
                       "action": action, "invert_event_set": invert})
            })
            .collect();
        request(&json!({ "field_filters": filters }).to_string())
    }

    fn exec_json() -> Value {
        json!({"process_exec": {
            "process": {"pid": 1337, "uid": 0, "binary": "/bin/sh",
                "pod": {"namespace": "kube-system", "name": "foobar",
                    "container": {"id": "c", "name": "c", "image": {"id": "i", "name": "i"}},
                    "pod_labels": {"test": "test"}}},
            "parent": {"pid": 1, "binary": "/sbin/init"}},
            "node_name": "n", "time": "2026-11-29T10:00:00Z"})
    }

    fn shaped(filter: &RequestFilter, event_type: EventType, mut json: Value) -> Value {
        filter.apply_fields(event_type, &mut json);
        json
    }

    #[test]
    fn exclusion_after_inclusion_wins() {
        let filter = field_filters(&[
            (
                &[],
                &["parent", "process.pid", "process.uid", "process.pod"],
                "INCLUDE",
                false,
            ),
            (
                &[],
                &[
                    "process.pid",
                    "process.pod.pod_labels",
                    "process.pod.container.image",
                    "process.pod.namespace",
                ],
                "EXCLUDE",
                false,
            ),
        ]);
        assert_eq!(
            shaped(&filter, EventType::ProcessExec, exec_json()),
            json!({"process_exec": {
                "process": {"uid": 0, "pod": {"name": "foobar", "container": {"id": "c", "name": "c"}}},
                "parent": {"pid": 1, "binary": "/sbin/init"}},
                "node_name": "n", "time": "2026-11-29T10:00:00Z"})
        );
    }

    #[test]
    fn two_inclusions_keep_what_both_list() {
        let filter = field_filters(&[
            (&[], &["process.pid", "process.binary"], "INCLUDE", false),
            (&[], &["process.binary", "parent"], "INCLUDE", false),
        ]);
        let json = shaped(&filter, EventType::ProcessExec, exec_json());
        assert_eq!(
            json["process_exec"],
            json!({"process": {"binary": "/bin/sh"}})
        );
    }

    #[test]
    fn event_set_limits_a_filter_and_invert_turns_it_around() {
        let exit_only = field_filters(&[(&["PROCESS_EXIT"], &["process.pid"], "EXCLUDE", false)]);
        assert!(!exit_only.shapes(EventType::ProcessExec));
        assert!(exit_only.shapes(EventType::ProcessExit));
        assert_eq!(
            shaped(&exit_only, EventType::ProcessExec, exec_json()),
            exec_json()
        );
        let exec_only = field_filters(&[(&["PROCESS_EXEC"], &["process.pid"], "EXCLUDE", false)]);
        let json = shaped(&exec_only, EventType::ProcessExec, exec_json());
        assert!(json["process_exec"]["process"].get("pid").is_none());
        assert_eq!(json["process_exec"]["parent"]["pid"], 1);

        let all_but_exec =
            field_filters(&[(&["PROCESS_EXEC"], &["process", "parent"], "EXCLUDE", true)]);
        assert!(!all_but_exec.shapes(EventType::ProcessExec));
        assert!(all_but_exec.shapes(EventType::ProcessKprobe));
        assert_eq!(
            shaped(&all_but_exec, EventType::ProcessExec, exec_json()),
            exec_json()
        );
        let all_but_kprobe =
            field_filters(&[(&["PROCESS_KPROBE"], &["process", "parent"], "EXCLUDE", true)]);
        let json = shaped(&all_but_kprobe, EventType::ProcessExec, exec_json());
        assert_eq!(json["process_exec"], json!({}));
        assert_eq!(json["node_name"], "n");

        let invert_without_types = field_filters(&[(&[], &["parent"], "EXCLUDE", true)]);
        assert!(invert_without_types.shapes(EventType::ProcessExec));
    }

    #[test]
    fn empty_masks_change_nothing() {
        let filter = field_filters(&[(&[], &[], "INCLUDE", false), (&[], &[], "EXCLUDE", false)]);
        assert!(!filter.shapes(EventType::ProcessExec));
        assert_eq!(
            shaped(&filter, EventType::ProcessExec, exec_json()),
            exec_json()
        );
        let no_mask = request(r#"{"field_filters":[{"action":"INCLUDE"}]}"#);
        assert!(!no_mask.shapes(EventType::ProcessExec));
    }

    #[test]
    fn a_whole_field_absorbs_deeper_paths_in_any_order() {
        for paths in [["process", "process.pid"], ["process.pid", "process"]] {
            let filter = field_filters(&[(&[], &paths, "INCLUDE", false)]);
            let json = shaped(&filter, EventType::ProcessExec, exec_json());
            assert_eq!(
                json["process_exec"]["process"],
                exec_json()["process_exec"]["process"]
            );
            assert!(json["process_exec"].get("parent").is_none());
        }
    }

    #[test]
    fn lists_are_shaped_element_by_element() {
        let filter = field_filters(&[(&[], &["ancestors.binary"], "INCLUDE", false)]);
        let kprobe = json!({"process_kprobe": {"process": {"pid": 3},
            "ancestors": [{"pid": 2, "binary": "/bin/sh"}, {"pid": 1, "binary": "/sbin/init"}]}});
        let json = shaped(&filter, EventType::ProcessKprobe, kprobe);
        assert_eq!(
            json["process_kprobe"],
            json!({"ancestors": [{"binary": "/bin/sh"}, {"binary": "/sbin/init"}]})
        );
    }

    #[test]
    fn paths_name_fields_as_tetragon_does() {
        let filter = field_filters(&[(
            &[],
            &["process.pod.podLabels", "process.environment_variables.key"],
            "EXCLUDE",
            false,
        )]);
        let json = shaped(
            &filter,
            EventType::ProcessExec,
            json!({"process_exec": {"process": {"pod": {"name": "p", "pod_labels": {"a": "b"}},
                "environment_variables": [{"Key": "HOME", "Value": "/root"}]}}}),
        );
        assert_eq!(
            json["process_exec"]["process"],
            json!({"pod": {"name": "p"}, "environment_variables": [{"Value": "/root"}]})
        );
    }

    #[test]
    fn bad_field_filters_are_errors_at_their_place() {
        let error = |filter: proto::FieldFilter| {
            let request = proto::GetEventsRequest {
                field_filters: vec![proto::FieldFilter::default(), filter],
                ..proto::GetEventsRequest::default()
            };
            RequestFilter::new(&request).unwrap_err().to_string()
        };
        let mask = |paths: &[&str]| {
            Some(pbjson_types::FieldMask {
                paths: paths.iter().map(|p| p.to_string()).collect(),
            })
        };
        assert_eq!(
            error(proto::FieldFilter {
                fields: mask(&["process.pid", "process..binary"]),
                ..proto::FieldFilter::default()
            }),
            r#"field_filters[1].fields.paths[1]: empty field name in "process..binary""#
        );
        assert_eq!(
            error(proto::FieldFilter {
                action: 2,
                ..proto::FieldFilter::default()
            }),
            "field_filters[1].action: unknown action 2"
        );
        assert_eq!(
            error(proto::FieldFilter {
                event_set: vec![0],
                ..proto::FieldFilter::default()
            }),
            "field_filters[1].event_set[0]: unknown event type 0"
        );
    }
}
