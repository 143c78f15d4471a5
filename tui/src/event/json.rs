//! Tetragon's JSON export lines (tetragon.md §2.1): one `GetEventsResponse` per line, written
//! by Go protojson with proto field names.
//!
//! The envelope is (de)serialized by hand: a map visitor dispatches the event key straight to
//! the typed message, which is filled in place (`merge.rs`). There is no `serde_json::Value` or
//! `#[serde(flatten)]` detour: both buffer the whole object and cost several times the decode
//! time.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::event_type::EventType;
use super::events::{Event, EventBody};
use super::merge::{Fill, Merge, skip, string, value};
use super::timestamp::Timestamp;

/// Why a line could not be decoded.
#[derive(Debug)]
pub enum DecodeError {
    /// Not JSON, or a field of the wrong shape.
    Json(serde_json::Error),
    /// Valid JSON without any known event key (`process_exec`, …).
    UnknownEventType,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Json(e) => write!(f, "invalid event JSON: {e}"),
            DecodeError::UnknownEventType => {
                f.write_str("unknown event type: the object has none of the keys ")?;
                for (i, t) in EventType::ALL.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(t.json_key())?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DecodeError::Json(e) => Some(e),
            DecodeError::UnknownEventType => None,
        }
    }
}

impl From<serde_json::Error> for DecodeError {
    fn from(e: serde_json::Error) -> Self {
        DecodeError::Json(e)
    }
}

/// Decodes one line of a Tetragon JSON export (a trailing newline is fine).
pub fn decode_json_line(line: &[u8]) -> Result<Event, DecodeError> {
    let mut envelope = Envelope::default();
    // Checking UTF-8 once for the whole line is much cheaper than serde_json's per-string
    // check; invalid UTF-8 goes the slice path for serde_json's error and position.
    match std::str::from_utf8(line) {
        Ok(text) => fill(&mut envelope, serde_json::Deserializer::from_str(text))?,
        Err(_) => fill(&mut envelope, serde_json::Deserializer::from_slice(line))?,
    }
    envelope.into_event().ok_or(DecodeError::UnknownEventType)
}

fn fill<'de, R: serde_json::de::Read<'de>>(
    envelope: &mut Envelope,
    mut deserializer: serde_json::Deserializer<R>,
) -> serde_json::Result<()> {
    Fill(envelope).deserialize(&mut deserializer)?;
    deserializer.end()
}

/// Appends `event` as one protojson line, including the trailing `'\n'`.
pub fn encode_json(event: &Event, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail, and every map key in an event is a string.
    serde_json::to_writer(&mut *out, event).expect("an event always serializes to JSON");
    out.push(b'\n');
}

/// An event whose body may still be missing: a line without one is
/// [`DecodeError::UnknownEventType`] rather than a generic JSON error.
#[derive(Default)]
struct Envelope {
    body: Option<EventBody>,
    node_name: String,
    time: Option<Timestamp>,
    aggregation_info: Option<Value>,
    cluster_name: String,
    node_labels: BTreeMap<String, String>,
}

impl Envelope {
    fn into_event(self) -> Option<Event> {
        Some(Event {
            body: self.body?,
            node_name: self.node_name,
            time: self.time,
            aggregation_info: self.aggregation_info,
            cluster_name: self.cluster_name,
            node_labels: self.node_labels,
        })
    }

    /// Reads the value of an event key into the body, in place.
    fn merge_body<'de, A: MapAccess<'de>>(
        &mut self,
        event_type: EventType,
        map: &mut A,
    ) -> Result<(), A::Error> {
        if self
            .body
            .as_ref()
            .is_some_and(|b| b.event_type() != event_type)
        {
            return Err(de::Error::custom("more than one event type in one object"));
        }
        let body = self
            .body
            .get_or_insert_with(|| EventBody::empty(event_type));
        let present = match body {
            EventBody::ProcessExec(m) => map.next_value_seed(Fill(m))?,
            EventBody::ProcessExit(m) => map.next_value_seed(Fill(m))?,
            EventBody::ProcessKprobe(m) => map.next_value_seed(Fill(m))?,
            EventBody::ProcessTracepoint(m) => map.next_value_seed(Fill(m))?,
            EventBody::ProcessLoader(m) => map.next_value_seed(Fill(m))?,
            EventBody::ProcessUprobe(m) => map.next_value_seed(Fill(m))?,
            EventBody::ProcessLsm(m) => map.next_value_seed(Fill(m))?,
            EventBody::ProcessUsdt(m) => map.next_value_seed(Fill(m))?,
            EventBody::ProcessThrottle(m) => replace(m, map.next_value()?),
            EventBody::Test(m) => replace(m, map.next_value()?),
            EventBody::RateLimitInfo(m) => replace(m, map.next_value()?),
            EventBody::TetrascopeSyscallStats(m) => replace(m, map.next_value()?),
            EventBody::TetrascopeFileAccess(m) => replace(m, map.next_value()?),
        };
        // `null` means the oneof is not set, as in protojson.
        if !present {
            self.body = None;
        }
        Ok(())
    }
}

/// Stores a small message read by value; false for `null`.
fn replace<T>(slot: &mut T, value: Option<T>) -> bool {
    value.map(|v| *slot = v).is_some()
}

impl Merge for Envelope {
    fn merge_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        if let Some(event_type) = EventType::from_json_key(key) {
            return self.merge_body(event_type, map);
        }
        match key {
            "node_name" | "nodeName" => self.node_name = string(map)?,
            "time" => self.time = map.next_value()?,
            "aggregation_info" | "aggregationInfo" => self.aggregation_info = map.next_value()?,
            "cluster_name" | "clusterName" => self.cluster_name = string(map)?,
            "node_labels" | "nodeLabels" => self.node_labels = value(map)?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut envelope = Envelope::default();
        Fill(&mut envelope).deserialize(deserializer)?;
        envelope
            .into_event()
            .ok_or_else(|| de::Error::custom("unknown event type"))
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        let key = self.event_type().json_key();
        match &self.body {
            EventBody::ProcessExec(m) => map.serialize_entry(key, m)?,
            EventBody::ProcessExit(m) => map.serialize_entry(key, m)?,
            EventBody::ProcessKprobe(m) => map.serialize_entry(key, m)?,
            EventBody::ProcessTracepoint(m) => map.serialize_entry(key, m)?,
            EventBody::ProcessLoader(m) => map.serialize_entry(key, m)?,
            EventBody::ProcessUprobe(m) => map.serialize_entry(key, m)?,
            EventBody::ProcessThrottle(m) => map.serialize_entry(key, m)?,
            EventBody::ProcessLsm(m) => map.serialize_entry(key, m)?,
            EventBody::ProcessUsdt(m) => map.serialize_entry(key, m)?,
            EventBody::Test(m) => map.serialize_entry(key, m)?,
            EventBody::RateLimitInfo(m) => map.serialize_entry(key, m)?,
            EventBody::TetrascopeSyscallStats(m) => map.serialize_entry(key, m)?,
            EventBody::TetrascopeFileAccess(m) => map.serialize_entry(key, m)?,
        }
        if !self.node_name.is_empty() {
            map.serialize_entry("node_name", &self.node_name)?;
        }
        if let Some(time) = &self.time {
            map.serialize_entry("time", time)?;
        }
        if let Some(info) = &self.aggregation_info {
            map.serialize_entry("aggregation_info", info)?;
        }
        if !self.cluster_name.is_empty() {
            map.serialize_entry("cluster_name", &self.cluster_name)?;
        }
        if !self.node_labels.is_empty() {
            map.serialize_entry("node_labels", &self.node_labels)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/seed-events.jsonl"
    );

    fn seed_lines() -> Vec<String> {
        let text = std::fs::read_to_string(SEED).unwrap_or_else(|e| panic!("reading {SEED}: {e}"));
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn round_trip(line: &str) -> Value {
        let event = decode_json_line(line.as_bytes()).unwrap();
        let mut out = Vec::new();
        encode_json(&event, &mut out);
        assert_eq!(out.last(), Some(&b'\n'));
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn seed_events_round_trip() {
        let lines = seed_lines();
        assert_eq!(lines.len(), 2);
        for line in &lines {
            let input: Value = serde_json::from_str(line).unwrap();
            assert_eq!(round_trip(line), input);
        }
    }

    #[test]
    fn seed_events_decode_to_typed_fields() {
        let event = decode_json_line(seed_lines()[1].as_bytes()).unwrap();
        assert_eq!(event.event_type(), EventType::ProcessExec);
        assert_eq!(event.node_name, "kind-worker2");
        assert_eq!(
            event.time.unwrap().to_string(),
            "2024-10-01T02:35:01.624257883Z"
        );
        let process = event.process().unwrap();
        assert_eq!(process.binary, "/bin/bash");
        assert_eq!(process.arguments, "-p -c pwd");
        assert_eq!(process.pid, Some(3005372));
        assert_eq!(process.auid, Some(4294967295));
        let pod = process.pod.as_ref().unwrap();
        assert_eq!(
            (pod.namespace.as_str(), pod.name.as_str()),
            ("default", "iris-priv")
        );
        assert_eq!(pod.container.as_ref().unwrap().pid, Some(68097));
        assert_eq!(event.parent().unwrap().binary, "/usr/irissys/bin/irisdb");
    }

    #[test]
    fn other_event_types_round_trip() {
        for line in [
            r#"{"process_exit":{"process":{"binary":"/usr/bin/cat","uid":0},"signal":"SIGKILL","time":"2024-01-01T00:00:00.100Z"},"node_name":"n","time":"2024-01-01T00:00:00.100200300Z"}"#,
            r#"{"process_kprobe":{"process":{"binary":"/bin/cat"},"function_name":"security_file_permission","args":[{"file_arg":{"path":"/etc/passwd","permission":"-rw-r--r--"}},{"int_arg":4}],"return":{"int_arg":0},"action":"KPROBE_ACTION_POST","policy_name":"file-monitoring","return_action":"KPROBE_ACTION_POST","tags":["a"]},"node_name":"n"}"#,
            r#"{"process_throttle":{"type":"THROTTLE_START","cgroup":"session-429.scope"},"node_name":"ubuntu-22","time":"2024-07-26T13:07:43.178407128Z"}"#,
            r#"{"rate_limit_info":{"number_of_dropped_process_events":"12"},"node_name":"n","cluster_name":"c","node_labels":{"k":"v"},"aggregation_info":{"count":"3"}}"#,
            r#"{"process_uprobe":{"process":{"binary":"/bin/bash"},"path":"/bin/bash","symbol":"readline","offset":"1234"}}"#,
            r#"{"process_loader":{"process":{"binary":"/bin/ls"},"path":"/lib/libc.so.6","buildid":"3q2+7w=="}}"#,
            r#"{"test":{"arg0":"1","arg3":"18446744073709551615"}}"#,
            r#"{"tetrascope_syscall_stats":{"process":{"exec_id":"eA==","pid":7,"binary":"/usr/bin/dd"},"interval_ns":"1000000000","count":"3","total":"5","syscalls":[{"abi":"x64","nr":1,"name":"write","count":"3","total":"5"}],"ended":true},"node_name":"n","time":"2024-01-01T00:00:01Z"}"#,
            r#"{"tetrascope_file_access":{"process":{"binary":"/usr/bin/cat"},"path":"/etc/x","name":"x","syscall":"openat","access":["read"],"result":"-2","error":"ENOENT","count":"1","first_time":"2024-01-01T00:00:00Z","last_time":"2024-01-01T00:00:00Z"}}"#,
        ] {
            let input: Value = serde_json::from_str(line).unwrap();
            assert_eq!(round_trip(line), input, "{line}");
        }
    }

    #[test]
    fn normalises_to_protojson_output() {
        let event = decode_json_line(
            br#"{"processExit":{"process":{"pid":"5"},"status":"3","signal":""},"nodeName":"n","extra":[1,{"a":null}]}"#,
        )
        .unwrap();
        let mut out = Vec::new();
        encode_json(&event, &mut out);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "{\"process_exit\":{\"process\":{\"pid\":5},\"status\":3},\"node_name\":\"n\"}\n"
        );
    }

    #[test]
    fn unknown_event_types_are_errors() {
        for line in [
            &b"{}"[..],
            br#"{"foo":{}}"#,
            br#"{"node_name":"n","process_exec":null}"#,
        ] {
            let err = decode_json_line(line).unwrap_err();
            assert!(matches!(err, DecodeError::UnknownEventType), "{err}");
            assert!(err.to_string().starts_with("unknown event type"), "{err}");
        }
    }

    #[test]
    fn malformed_lines_report_serde_position() {
        let err = decode_json_line(br#"{"process_exec":{"process":{"pid":"x"}}}"#).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, DecodeError::Json(_)));
        assert!(text.contains("column"), "{text}");
        assert!(std::error::Error::source(&err).is_some());
        assert!(decode_json_line(b"not json").is_err());
        let bad_utf8 = decode_json_line(b"{\"process_exec\":{\"process\":{\"binary\":\"\xff\"}}}");
        assert!(matches!(bad_utf8, Err(DecodeError::Json(_))));
        assert!(decode_json_line(b"[1]").is_err());
        let twice = decode_json_line(br#"{"process_exec":{},"process_exit":{}}"#).unwrap_err();
        assert!(
            twice.to_string().contains("more than one event type"),
            "{twice}"
        );
    }

    #[test]
    fn event_deserialize_impl() {
        let event: Event =
            serde_json::from_str(r#"{"test":{},"time":"2024-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(event.event_type(), EventType::Test);
        assert!(serde_json::from_str::<Event>("{}").is_err());
    }
}
