//! Wire compatibility: the agent's messages carry every field under Tetragon's field numbers
//! (../shared/tetragon.md §1). The bytes are read with a hand-written protobuf reader, not the
//! generated types, so that a wrong number in our .proto files cannot hide itself.
mod common;

use std::path::{Path, PathBuf};

use prost::Message;
use serde_json::Value;
use tetrascope::{
    agent::convert::{from_proto, to_proto},
    event::decode_json_line,
};

use common::shared_dir;

/// One field of a protobuf message as it is on the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

fn varint(buf: &[u8], at: &mut usize) -> u64 {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*at).expect("truncated varint");
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return value;
        }
    }
    panic!("varint longer than 10 bytes");
}

/// The fields of a message, in wire order: (number, value).
fn fields(buf: &[u8]) -> Vec<(u64, Wire<'_>)> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < buf.len() {
        let key = varint(buf, &mut at);
        let (number, wire_type) = (key >> 3, key & 7);
        assert!(number > 0, "field number 0");
        let value = match wire_type {
            0 => Wire::Varint(varint(buf, &mut at)),
            1 => {
                let v = u64::from_le_bytes(buf[at..at + 8].try_into().unwrap());
                at += 8;
                Wire::Fixed64(v)
            }
            2 => {
                let len = varint(buf, &mut at) as usize;
                let v = &buf[at..at + len];
                at += len;
                Wire::Bytes(v)
            }
            5 => {
                let v = u32::from_le_bytes(buf[at..at + 4].try_into().unwrap());
                at += 4;
                Wire::Fixed32(v)
            }
            other => panic!("wire type {other} (groups are not used by Tetragon)"),
        };
        out.push((number, value));
    }
    assert_eq!(at, buf.len(), "a field runs past the message's end");
    out
}

/// The one occurrence of field `number` in `msg`.
fn one<'a>(msg: &[(u64, Wire<'a>)], number: u64, what: &str) -> Wire<'a> {
    let found: Vec<_> = msg.iter().filter(|(n, _)| *n == number).collect();
    assert_eq!(found.len(), 1, "{what} (field {number}): {msg:?}");
    found[0].1
}

fn absent(msg: &[(u64, Wire<'_>)], number: u64) -> bool {
    msg.iter().all(|(n, _)| *n != number)
}

fn bytes<'a>(msg: &[(u64, Wire<'a>)], number: u64, what: &str) -> &'a [u8] {
    match one(msg, number, what) {
        Wire::Bytes(b) => b,
        other => panic!("{what} (field {number}) is {other:?}, not length-delimited"),
    }
}

fn string(msg: &[(u64, Wire<'_>)], number: u64, what: &str) -> String {
    String::from_utf8(bytes(msg, number, what).to_vec()).unwrap()
}

fn submessage<'a>(msg: &[(u64, Wire<'a>)], number: u64, what: &str) -> Vec<(u64, Wire<'a>)> {
    fields(bytes(msg, number, what))
}

fn uint(msg: &[(u64, Wire<'_>)], number: u64, what: &str) -> u64 {
    match one(msg, number, what) {
        Wire::Varint(v) => v,
        other => panic!("{what} (field {number}) is {other:?}, not a varint"),
    }
}

/// The seconds of a google.protobuf.Timestamp (`seconds = 1`, `nanos = 2`; zeros are absent).
fn timestamp(msg: &[(u64, Wire<'_>)], number: u64, what: &str) -> (i64, i32) {
    let ts = submessage(msg, number, what);
    let seconds = if absent(&ts, 1) {
        0
    } else {
        uint(&ts, 1, "seconds") as i64
    };
    let nanos = if absent(&ts, 2) {
        0
    } else {
        uint(&ts, 2, "nanos") as i32
    };
    (seconds, nanos)
}

/// RFC 3339 text of the JSON export as (seconds, nanos), parsed by the library's own codec
/// through a one-field event would be circular; chrono-free: `date -d` would be slow, so the
/// civil-from-days algorithm.
fn rfc3339(text: &str) -> (i64, i32) {
    let (date, time) = text.split_once('T').unwrap();
    let mut d = date.split('-').map(|p| p.parse::<i64>().unwrap());
    let (y, m, day) = (d.next().unwrap(), d.next().unwrap(), d.next().unwrap());
    let time = time.trim_end_matches('Z');
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.split(':').map(|p| p.parse::<i64>().unwrap());
    let (h, min, s) = (t.next().unwrap(), t.next().unwrap(), t.next().unwrap());
    let nanos = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}")[..9].parse::<i32>().unwrap()
    };
    // Days from civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days * 86_400 + h * 3600 + min * 60 + s, nanos)
}

/// A Process message against its JSON object.
fn check_process(msg: &[(u64, Wire<'_>)], json: &Value, what: &str) {
    assert_eq!(
        string(msg, 1, "exec_id"),
        json["exec_id"].as_str().unwrap(),
        "{what}"
    );
    let pid = submessage(msg, 2, "pid (UInt32Value)");
    assert_eq!(
        uint(&pid, 1, "pid.value"),
        json["pid"].as_u64().unwrap(),
        "{what}"
    );
    if let Some(uid) = json["uid"].as_u64() {
        let wrapper = submessage(msg, 3, "uid (UInt32Value)");
        // A zero uid is present (the wrapper), its value absent (proto3 default).
        let value = if absent(&wrapper, 1) {
            0
        } else {
            uint(&wrapper, 1, "uid.value")
        };
        assert_eq!(value, uid, "{what}");
    }
    if let Some(cwd) = json["cwd"].as_str() {
        assert_eq!(string(msg, 4, "cwd"), cwd, "{what}");
    }
    assert_eq!(
        string(msg, 5, "binary"),
        json["binary"].as_str().unwrap(),
        "{what}"
    );
    match json["arguments"].as_str() {
        Some(args) => assert_eq!(string(msg, 6, "arguments"), args, "{what}"),
        None => assert!(absent(msg, 6), "{what}: arguments"),
    }
    if let Some(flags) = json["flags"].as_str() {
        assert_eq!(string(msg, 7, "flags"), flags, "{what}");
    }
    if let Some(start) = json["start_time"].as_str() {
        assert_eq!(
            timestamp(msg, 8, "start_time"),
            rfc3339(start),
            "{what}: start_time"
        );
    }
    if let Some(auid) = json["auid"].as_u64() {
        let wrapper = submessage(msg, 9, "auid");
        assert_eq!(uint(&wrapper, 1, "auid.value"), auid, "{what}");
    }
    match json.get("pod") {
        Some(pod) => {
            let message = submessage(msg, 10, "pod");
            assert_eq!(
                string(&message, 1, "pod.namespace"),
                pod["namespace"].as_str().unwrap()
            );
            assert_eq!(
                string(&message, 2, "pod.name"),
                pod["name"].as_str().unwrap()
            );
            if let Some(container) = pod.get("container") {
                let c = submessage(&message, 4, "pod.container");
                assert_eq!(
                    string(&c, 1, "container.id"),
                    container["id"].as_str().unwrap()
                );
                let image = submessage(&c, 3, "container.image");
                assert_eq!(
                    string(&image, 2, "image.name"),
                    container["image"]["name"].as_str().unwrap()
                );
            }
            if let Some(workload) = pod["workload"].as_str() {
                assert_eq!(string(&message, 6, "pod.workload"), workload);
            }
        }
        None => assert!(absent(msg, 10), "{what}: pod"),
    }
    if let Some(docker) = json["docker"].as_str() {
        assert_eq!(string(msg, 11, "docker"), docker, "{what}");
    }
    match json["parent_exec_id"].as_str() {
        Some(parent) => assert_eq!(string(msg, 12, "parent_exec_id"), parent, "{what}"),
        None => assert!(absent(msg, 12), "{what}: parent_exec_id"),
    }
    if let Some(tid) = json["tid"].as_u64() {
        let wrapper = submessage(msg, 16, "tid");
        assert_eq!(uint(&wrapper, 1, "tid.value"), tid, "{what}");
    }
}

/// KprobeAction numbers (tetragon.md §1.6).
fn kprobe_action(name: &str) -> u64 {
    match name {
        "KPROBE_ACTION_UNKNOWN" => 0,
        "KPROBE_ACTION_POST" => 1,
        "KPROBE_ACTION_FOLLOWFD" => 2,
        "KPROBE_ACTION_SIGKILL" => 3,
        "KPROBE_ACTION_UNFOLLOWFD" => 4,
        "KPROBE_ACTION_OVERRIDE" => 5,
        "KPROBE_ACTION_COPYFD" => 6,
        "KPROBE_ACTION_GETURL" => 7,
        "KPROBE_ACTION_DNSLOOKUP" => 8,
        "KPROBE_ACTION_NOPOST" => 9,
        "KPROBE_ACTION_SIGNAL" => 10,
        "KPROBE_ACTION_TRACKSOCK" => 11,
        "KPROBE_ACTION_UNTRACKSOCK" => 12,
        "KPROBE_ACTION_NOTIFYENFORCER" => 13,
        "KPROBE_ACTION_CLEANUPENFORCERNOTIFICATION" => 14,
        other => panic!("unknown action {other}"),
    }
}

/// Checks one JSON line; returns its event type's field number.
fn check_line(line: &str, origin: &str) -> u64 {
    let json: Value = serde_json::from_str(line).unwrap();
    let event = decode_json_line(line.as_bytes()).unwrap_or_else(|e| panic!("{origin}: {e}"));
    let message = to_proto(&event).unwrap_or_else(|e| panic!("{origin}: {e}"));
    assert_eq!(
        from_proto(&message).unwrap(),
        event,
        "{origin}: from_proto(to_proto(e)) == e"
    );
    let wire = message.encode_to_vec();
    // The bytes decode back to the same message through prost, too.
    let decoded = tetrascope::agent::proto::GetEventsResponse::decode(wire.as_slice()).unwrap();
    assert_eq!(decoded, message, "{origin}");

    let top = fields(&wire);
    if let Some(node) = json["node_name"].as_str() {
        assert_eq!(string(&top, 1000, "node_name"), node, "{origin}");
    }
    if let Some(time) = json["time"].as_str() {
        assert_eq!(timestamp(&top, 1001, "time"), rfc3339(time), "{origin}");
    }
    let (kind, number) = [
        ("process_exec", 1),
        ("process_exit", 5),
        ("process_kprobe", 9),
        ("process_tracepoint", 10),
        ("process_loader", 11),
        ("process_uprobe", 12),
        ("process_lsm", 28),
        ("rate_limit_info", 40001),
    ]
    .into_iter()
    .find(|(k, _)| json.get(*k).is_some())
    .unwrap_or_else(|| panic!("{origin}: no known event type in {line}"));
    let body = &json[kind];
    let inner = submessage(&top, number, kind);
    // Exactly one event in the oneof, and nothing else but the envelope's fields.
    for (n, _) in &top {
        assert!(
            *n == number || (1000..=1004).contains(n),
            "{origin}: unexpected top-level field {n}"
        );
    }
    if let Some(process) = body.get("process") {
        check_process(&submessage(&inner, 1, "process"), process, origin);
    }
    if let Some(parent) = body.get("parent") {
        check_process(&submessage(&inner, 2, "parent"), parent, origin);
    }
    match kind {
        "process_exit" => {
            if let Some(signal) = body["signal"].as_str() {
                assert_eq!(string(&inner, 3, "exit.signal"), signal, "{origin}");
            }
            if let Some(status) = body["status"].as_u64().filter(|s| *s != 0) {
                assert_eq!(uint(&inner, 4, "exit.status"), status, "{origin}");
            }
        }
        "process_kprobe" => {
            assert_eq!(
                string(&inner, 3, "function_name"),
                body["function_name"].as_str().unwrap(),
                "{origin}"
            );
            let args = body["args"].as_array().map_or(0, Vec::len);
            let on_wire = inner.iter().filter(|(n, _)| *n == 4).count();
            assert_eq!(on_wire, args, "{origin}: kprobe args (field 4)");
            match body["action"].as_str() {
                Some(action) if kprobe_action(action) != 0 => assert_eq!(
                    uint(&inner, 6, "kprobe.action"),
                    kprobe_action(action),
                    "{origin}: {action}"
                ),
                _ => assert!(absent(&inner, 6), "{origin}: action"),
            }
            if let Some(policy) = body["policy_name"].as_str() {
                assert_eq!(string(&inner, 8, "policy_name"), policy, "{origin}");
            }
        }
        _ => {}
    }
    number
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

#[test]
fn seed_events_travel_under_tetragons_field_numbers() {
    let path = shared_dir().join("fixtures/seed-events.jsonl");
    let lines = lines(&path);
    assert!(!lines.is_empty());
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(check_line(line, &format!("seed-events.jsonl:{}", i + 1)), 1);
    }
}

#[test]
fn the_iris_session_travels_under_tetragons_field_numbers() {
    let lines = lines(&fixture("iris-session.jsonl"));
    let mut kinds = std::collections::BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let number = check_line(line, &format!("iris-session.jsonl:{}", i + 1));
        *kinds.entry(number).or_insert(0) += 1;
    }
    // Execs, exits and kprobes: each numbering was exercised.
    assert_eq!(kinds.keys().copied().collect::<Vec<_>>(), [1, 5, 9]);
    // The SIGKILL of the enforcing policy went out as the enum's number 3.
    let sigkill = lines
        .iter()
        .filter(|l| l.contains("KPROBE_ACTION_SIGKILL"))
        .count();
    assert!(sigkill > 0, "the fixture has a SIGKILL kprobe event");
}

#[test]
fn the_reader_reads_what_it_should() {
    // The reader itself: a known encoding (field 1 varint 150; field 2 string "hi").
    let buf = [0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i'];
    assert_eq!(
        fields(&buf),
        [(1, Wire::Varint(150)), (2, Wire::Bytes(b"hi"))]
    );
    assert_eq!(rfc3339("1970-01-01T00:00:01.5Z"), (1, 500_000_000));
    assert_eq!(rfc3339("2024-10-01T02:35:01Z"), (1_727_750_101, 0));
}
