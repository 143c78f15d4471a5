//! Events to and from `GetEventsResponse` messages. Both sides go through protojson, the one
//! mapping Tetragon defines between its JSON export and its messages: our JSON codec is already
//! held to Tetragon's export, and the generated serde impls to the proto, so every field lands
//! where Tetragon's clients read it without a hand-written copy of each message.

use super::proto;
use crate::event::{DecodeError, Event, decode_json_line, encode_json};

/// The message of an event.
pub fn to_proto(event: &Event) -> Result<proto::GetEventsResponse, serde_json::Error> {
    let mut json = Vec::with_capacity(1024);
    encode_json(event, &mut json);
    serde_json::from_slice(&json)
}

/// The event of a message. A message whose `event` is empty (or of a type newer than ours)
/// is [`DecodeError::UnknownEventType`].
pub fn from_proto(message: &proto::GetEventsResponse) -> Result<Event, DecodeError> {
    let json = serde_json::to_vec(message)?;
    decode_json_line(&json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventBody, Process, ProcessExec, TetrascopeSyscallStats, Timestamp};

    #[test]
    fn an_exec_keeps_every_field_both_ways() {
        let line = br#"{"process_exec":{"process":{"exec_id":"bm9kZToxOjI=","pid":2,"uid":0,"binary":"/bin/pwd","arguments":"-L","start_time":"2026-11-29T10:00:00.123456789Z","pod":{"namespace":"iris","name":"iris-0","pod_labels":{"app":"iris"}},"process_credentials":{"uid":0,"caps":{"permitted":["CAP_CHOWN","DAC_OVERRIDE"]}}},"parent":{"exec_id":"bm9kZToxOjE=","pid":1}},"node_name":"node-a","time":"2026-11-29T10:00:00.2Z"}"#;
        let event = decode_json_line(line).unwrap();
        let message = to_proto(&event).unwrap();
        let Some(proto::get_events_response::Event::ProcessExec(exec)) = &message.event else {
            panic!("not an exec: {message:?}");
        };
        let process = exec.process.as_ref().unwrap();
        assert_eq!(process.binary, "/bin/pwd");
        assert_eq!(process.pid.map(|pid| pid.value), Some(2));
        let uid = process.uid.map(|uid| uid.value);
        assert_eq!(uid, Some(0), "a zero uid is present, not absent");
        assert_eq!(process.start_time.as_ref().unwrap().nanos, 123_456_789);
        let creds = process.process_credentials.as_ref().unwrap();
        assert_eq!(
            creds.caps.as_ref().unwrap().permitted,
            [
                proto::CapabilitiesType::CapChown as i32,
                proto::CapabilitiesType::DacOverride as i32
            ]
        );
        assert_eq!(message.node_name, "node-a");
        assert_eq!(from_proto(&message).unwrap(), event);
    }

    #[test]
    fn own_event_types_travel_under_their_own_fields() {
        let event = Event {
            time: Some(Timestamp {
                seconds: 5,
                nanos: 0,
            }),
            ..Event::new(EventBody::TetrascopeSyscallStats(TetrascopeSyscallStats {
                process: Some(Process {
                    binary: "/bin/cat".into(),
                    ..Process::default()
                }),
                count: 7,
                ..TetrascopeSyscallStats::default()
            }))
        };
        let message = to_proto(&event).unwrap();
        assert!(matches!(
            message.event,
            Some(proto::get_events_response::Event::TetrascopeSyscallStats(_))
        ));
        assert_eq!(from_proto(&message).unwrap(), event);
    }

    #[test]
    fn an_empty_message_is_an_unknown_type() {
        let empty = proto::GetEventsResponse::default();
        assert!(matches!(
            from_proto(&empty),
            Err(DecodeError::UnknownEventType)
        ));
        let exec = Event::new(EventBody::ProcessExec(ProcessExec::default()));
        assert_eq!(from_proto(&to_proto(&exec).unwrap()).unwrap(), exec);
    }
}
