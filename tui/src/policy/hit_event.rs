//! A policy hit as a Tetragon event: `process_kprobe`, `process_lsm`, `process_tracepoint` or
//! `process_uprobe` after the kind of hook, whatever mechanism served it here.
use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Map, Value, json};
use tetrascope_shared::policy::{SYSCALL_32BIT, outcome};

use super::{
    compile::{HookEvent, HookMeta},
    model::ArgType,
};
use crate::{
    event::{
        Event, EventBody, Process, ProcessKprobe, ProcessLsm, ProcessTracepoint, ProcessUprobe,
        syscalls::{compat_abi, native_abi},
    },
    sensor::PolicyHit,
};

/// Tags tetrascope adds to a hit's event, so that every reader (the UI, a replay, a SIEM) tells
/// what enforcement did or would have done.
pub const TAG_WOULD_KILL: &str = "tetrascope:would-kill";
pub const TAG_WOULD_SIGNAL: &str = "tetrascope:would-signal";
pub const TAG_SPARED: &str = "tetrascope:spared-protected-process";

/// The event body of a posted hit, of the kind its hook reports.
pub fn hit_body(
    meta: &HookMeta,
    hit: &PolicyHit,
    process: Option<Process>,
    parent: Option<Process>,
) -> EventBody {
    let args = meta
        .args
        .iter()
        .zip(&hit.args)
        .filter(|((ty, _), _)| *ty != ArgType::Nop)
        .map(|((ty, label), (value, text))| argument(*ty, label.as_deref(), *value, text.as_ref()))
        .collect();
    let mut tags = meta.tags.clone();
    let killing = hit.signal == libc::SIGKILL as u32;
    if hit.outcome & outcome::WOULD_SIGNAL != 0 {
        tags.push(
            if killing {
                TAG_WOULD_KILL
            } else {
                TAG_WOULD_SIGNAL
            }
            .to_owned(),
        );
    }
    if hit.outcome & outcome::SPARED != 0 {
        tags.push(TAG_SPARED.to_owned());
    }
    let action = action_name(hit.outcome, killing).to_owned();
    let (policy_name, message) = (meta.policy_name.clone(), meta.message.clone());
    match &meta.event {
        HookEvent::Kprobe => EventBody::ProcessKprobe(ProcessKprobe {
            process,
            parent,
            function_name: meta.function_name.clone(),
            args,
            r#return: meta
                .return_type
                .map(|ty| argument(ty, None, hit.ret as u64, None)),
            action,
            policy_name,
            message,
            tags,
            ..ProcessKprobe::default()
        }),
        HookEvent::Lsm => EventBody::ProcessLsm(ProcessLsm {
            process,
            parent,
            function_name: meta.function_name.clone(),
            args,
            action,
            policy_name,
            message,
            tags,
            ..ProcessLsm::default()
        }),
        HookEvent::Tracepoint { subsys, event } => {
            EventBody::ProcessTracepoint(ProcessTracepoint {
                process,
                parent,
                subsys: subsys.clone(),
                event: event.clone(),
                args,
                policy_name,
                action,
                message,
                tags,
                ..ProcessTracepoint::default()
            })
        }
        HookEvent::Uprobe {
            path,
            symbol,
            offset,
        } => EventBody::ProcessUprobe(ProcessUprobe {
            process,
            parent,
            path: path.clone(),
            symbol: symbol.clone(),
            policy_name,
            message,
            args,
            tags,
            offset: *offset,
            action,
            ..ProcessUprobe::default()
        }),
    }
}

/// Tetragon's `KprobeAction` for what the hit did.
fn action_name(result: u32, killing: bool) -> &'static str {
    if result & outcome::SIGNALED != 0 {
        if killing {
            "KPROBE_ACTION_SIGKILL"
        } else {
            "KPROBE_ACTION_SIGNAL"
        }
    } else if result & outcome::FOLLOWED != 0 {
        "KPROBE_ACTION_FOLLOWFD"
    } else if result & outcome::UNFOLLOWED != 0 {
        "KPROBE_ACTION_UNFOLLOWFD"
    } else {
        "KPROBE_ACTION_POST"
    }
}

/// A `syscall64` value as Tetragon shows it: `{id, abi}`, the ABI of a 32-bit syscall (marked
/// with `Is32Bit`) being the compat one (`i386`).
pub fn syscall_id(value: u64) -> Value {
    match compat_abi() {
        Some((abi, _)) if value & SYSCALL_32BIT != 0 => {
            json!({ "id": (value & !SYSCALL_32BIT) as u32, "abi": abi })
        }
        _ => json!({ "id": value as u32, "abi": native_abi() }),
    }
}

/// One `KprobeArgument` in protojson form (64-bit integers as strings).
fn argument(ty: ArgType, label: Option<&str>, value: u64, bytes: Option<&(Vec<u8>, u32)>) -> Value {
    use ArgType::*;
    let text = bytes.map(|(b, _)| std::string::String::from_utf8_lossy(b));
    let text = text.as_deref().unwrap_or_default();
    let mut arg = Map::new();
    let (member, content) = match ty {
        Int | Sint8 | Int8 | Sint16 | Int16 | Sint32 | Int32 => {
            ("int_arg", json!(value as i64 as i32))
        }
        Uint8 | Uint16 | Uint32 => ("uint_arg", json!(value as u32)),
        Long | Sint64 | Int64 => ("long_arg", json!((value as i64).to_string())),
        Ulong | Uint64 | SizeT => ("size_arg", json!(value.to_string())),
        Syscall64 => ("syscall_id", syscall_id(value)),
        String | Filename | DataLoc => ("string_arg", json!(text)),
        Fd | File | Kiocb => ("file_arg", json!({ "path": text })),
        Path | Dentry => ("path_arg", json!({ "path": text })),
        LinuxBinprm => ("linux_binprm_arg", json!({ "path": text })),
        CharBuf | CharIovec => buffer(bytes),
        _ => ("bytes_arg", Value::Null),
    };
    if !content.is_null() {
        arg.insert(member.to_owned(), content);
    }
    if let Some(label) = label {
        arg.insert("label".to_owned(), json!(label));
    }
    Value::Object(arg)
}

/// A buffer as Tetragon reports it: `bytes_arg` (base64, as protojson writes bytes), or
/// `truncated_bytes_arg` with the full length when the probes copied less than it.
fn buffer(captured: Option<&(Vec<u8>, u32)>) -> (&'static str, Value) {
    let (bytes, full) = captured.map_or((&[][..], 0), |(b, full)| (b.as_slice(), *full));
    let encoded = STANDARD.encode(bytes);
    if (full as usize) > bytes.len() {
        let truncated = json!({ "bytes_arg": encoded, "orig_size": full.to_string() });
        ("truncated_bytes_arg", truncated)
    } else {
        ("bytes_arg", json!(encoded))
    }
}

/// What enforcement did (or would have done) to the process of a policy event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Killed,
    Signaled,
    WouldKill,
    WouldSignal,
    /// A protected process (PID 1, tetrascope) that a policy would have signalled.
    Spared,
}

impl Verdict {
    /// Whether the process really got the signal.
    pub fn enforced(self) -> bool {
        matches!(self, Verdict::Killed | Verdict::Signaled)
    }
}

/// The verdict an event carries, from its action and tags (so recordings and Tetragon's own
/// events say it too: Tetragon reports `KPROBE_ACTION_SIGKILL` the same way).
pub fn verdict(event: &Event) -> Option<Verdict> {
    let (action, tags) = match &event.body {
        EventBody::ProcessKprobe(k) => (k.action.as_str(), &k.tags),
        EventBody::ProcessTracepoint(t) => (t.action.as_str(), &t.tags),
        EventBody::ProcessUprobe(u) => (u.action.as_str(), &u.tags),
        EventBody::ProcessLsm(l) => (l.action.as_str(), &l.tags),
        _ => return None,
    };
    let tagged = |tag: &str| tags.iter().any(|t| t == tag);
    match action {
        "KPROBE_ACTION_SIGKILL" => Some(Verdict::Killed),
        "KPROBE_ACTION_SIGNAL" => Some(Verdict::Signaled),
        _ if tagged(TAG_WOULD_KILL) => Some(Verdict::WouldKill),
        _ if tagged(TAG_WOULD_SIGNAL) => Some(Verdict::WouldSignal),
        _ if tagged(TAG_SPARED) => Some(Verdict::Spared),
        _ => None,
    }
}

/// The policy that produced an event, if it came from one.
pub fn policy_name(event: &Event) -> Option<&str> {
    let name = match &event.body {
        EventBody::ProcessKprobe(k) => &k.policy_name,
        EventBody::ProcessTracepoint(t) => &t.policy_name,
        EventBody::ProcessUprobe(u) => &u.policy_name,
        EventBody::ProcessLsm(l) => &l.policy_name,
        _ => return None,
    };
    (!name.is_empty()).then_some(name.as_str())
}

/// The hook a policy event came from: the function, the `subsystem:event` or the symbol.
pub fn hook_name(event: &Event) -> String {
    match &event.body {
        EventBody::ProcessKprobe(k) => k.function_name.clone(),
        EventBody::ProcessLsm(l) => l.function_name.clone(),
        EventBody::ProcessTracepoint(t) => format!("{}:{}", t.subsys, t.event),
        EventBody::ProcessUprobe(u) => format!("{}:{}", u.path, u.symbol),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(value: &Value) -> Vec<u8> {
        STANDARD.decode(value.as_str().unwrap()).unwrap()
    }

    #[test]
    fn a_whole_buffer_is_bytes_arg_in_base64() {
        let bytes = b"hello\0\xffworld".to_vec();
        let captured = (bytes.clone(), bytes.len() as u32);
        let arg = argument(ArgType::CharBuf, Some("buf"), 0x7fff_0000, Some(&captured));
        assert_eq!(arg["label"], "buf");
        assert_eq!(decoded(&arg["bytes_arg"]), captured.0);
        assert!(arg.get("truncated_bytes_arg").is_none());
    }

    #[test]
    fn a_buffer_longer_than_its_copy_is_truncated_bytes_arg_with_its_size() {
        let captured = (vec![b'x'; 4096], 10_000);
        let arg = argument(ArgType::CharBuf, None, 0, Some(&captured));
        let truncated = &arg["truncated_bytes_arg"];
        assert_eq!(decoded(&truncated["bytes_arg"]), captured.0);
        assert_eq!(truncated["orig_size"], "10000");
        assert!(arg.get("bytes_arg").is_none());
    }

    #[test]
    fn a_buffer_without_size_is_an_empty_bytes_arg() {
        assert_eq!(
            argument(ArgType::CharBuf, None, 0, None),
            json!({"bytes_arg": ""})
        );
        let empty = (Vec::new(), 0);
        let arg = argument(ArgType::CharIovec, None, 0, Some(&empty));
        assert_eq!(arg, json!({"bytes_arg": ""}));
    }

    #[test]
    fn strings_and_paths_stay_text() {
        let path = (b"/etc/passwd".to_vec(), 0);
        let arg = argument(ArgType::Fd, None, 3, Some(&path));
        assert_eq!(arg, json!({"file_arg": {"path": "/etc/passwd"}}));
    }
}
