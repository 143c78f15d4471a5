//! A policy hit as a Tetragon event: `process_kprobe`, `process_lsm`, `process_tracepoint` or
//! `process_uprobe` after the kind of hook, whatever mechanism served it here.
use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Map, Value, json};
use tetrascope_shared::{
    policy::{CredRecord, SYSCALL_32BIT, SockRecord, outcome},
    policy_semantics::{AF_INET, AF_INET6},
};

use super::{
    compile::{HookEvent, HookMeta},
    model::ArgType,
    names::{ADDRESS_FAMILIES, IP_PROTOCOLS, Names, SOCKET_TYPES, TCP_STATES},
    user_actions::UserAction,
};
use crate::{
    event::{
        CAPABILITIES, Capabilities, Event, EventBody, Process, ProcessCredentials, ProcessKprobe,
        ProcessLsm, ProcessTracepoint, ProcessUprobe, SECURE_BITS,
        syscalls::{compat_abi, native_abi},
    },
    sensor::PolicyHit,
};

/// Tags tetrascope adds to a hit's event, so that every reader (the UI, a replay, a SIEM) tells
/// what enforcement did or would have done.
pub const TAG_WOULD_KILL: &str = "tetrascope:would-kill";
pub const TAG_WOULD_SIGNAL: &str = "tetrascope:would-signal";
pub const TAG_WOULD_OVERRIDE: &str = "tetrascope:would-override";
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
    if hit.outcome & outcome::WOULD_OVERRIDE != 0 {
        tags.push(TAG_WOULD_OVERRIDE.to_owned());
    }
    if hit.outcome & outcome::SPARED != 0 {
        tags.push(TAG_SPARED.to_owned());
    }
    let action = match action_name(hit.outcome, killing) {
        // A plain post of a selector with a user-space action is named after that action.
        "KPROBE_ACTION_POST" => match selector_user_actions(meta, hit).first() {
            Some(UserAction::GetUrl(_)) => "KPROBE_ACTION_GETURL",
            Some(UserAction::DnsLookup(_)) => "KPROBE_ACTION_DNSLOOKUP",
            None => "KPROBE_ACTION_POST",
        },
        other => other,
    }
    .to_owned();
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

/// The user-space actions (GetUrl, DnsLookup) of the selector that matched.
pub fn selector_user_actions<'a>(meta: &'a HookMeta, hit: &PolicyHit) -> &'a [UserAction] {
    let position = (hit.selector as usize).wrapping_sub(1);
    meta.user_actions.get(position).map_or(&[], Vec::as_slice)
}

/// Tetragon's `KprobeAction` for what the hit did.
fn action_name(result: u32, killing: bool) -> &'static str {
    if result & outcome::SIGNALED != 0 {
        if killing {
            "KPROBE_ACTION_SIGKILL"
        } else {
            "KPROBE_ACTION_SIGNAL"
        }
    } else if result & outcome::OVERRIDDEN != 0 {
        "KPROBE_ACTION_OVERRIDE"
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
        Sock | Socket => (
            "sock_arg",
            bytes.and_then(|(b, _)| socket(b)).unwrap_or(Value::Null),
        ),
        Sockaddr => (
            "sockaddr_arg",
            bytes
                .and_then(|(b, _)| socket_address(b))
                .unwrap_or(Value::Null),
        ),
        Cred => (
            "process_credentials_arg",
            bytes
                .and_then(|(b, _)| credentials(b))
                .unwrap_or(Value::Null),
        ),
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

/// A `sock` argument's `SockRecord` as Tetragon's `KprobeSock`.
fn socket(bytes: &[u8]) -> Option<Value> {
    let sock = sock_record(bytes)?;
    let address = |bytes: &[u8; 16]| address(sock.family, bytes);
    Some(json!({
        "family": named(&ADDRESS_FAMILIES, sock.family),
        "type": named(&SOCKET_TYPES, sock.kind),
        "protocol": named(&IP_PROTOCOLS, sock.protocol),
        "saddr": address(&sock.saddr),
        "daddr": address(&sock.daddr),
        "sport": sock.sport,
        "dport": sock.dport,
        "state": named(&TCP_STATES, sock.state.into()),
    }))
}

/// A `sockaddr` argument's `SockRecord` (family, address and port as the source ones) as
/// Tetragon's `KprobeSockaddr`.
fn socket_address(bytes: &[u8]) -> Option<Value> {
    let sock = sock_record(bytes)?;
    Some(json!({
        "family": named(&ADDRESS_FAMILIES, sock.family),
        "addr": address(sock.family, &sock.saddr),
        "port": sock.sport,
    }))
}

fn sock_record(bytes: &[u8]) -> Option<SockRecord> {
    if bytes.len() < size_of::<SockRecord>() {
        return None;
    }
    // SAFETY: SockRecord is plain old data and `bytes` holds one (read unaligned).
    Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) })
}

/// An IPv4 or IPv6 address as text; nothing for other families.
fn address(family: u16, bytes: &[u8; 16]) -> String {
    match family {
        AF_INET6 => std::net::Ipv6Addr::from(*bytes).to_string(),
        AF_INET => std::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        _ => String::new(),
    }
}

/// The name of `value` in `table`, else the number.
fn named(table: &Names<u16>, value: u16) -> String {
    match table.name(value) {
        "?" => value.to_string(),
        name => name.to_owned(),
    }
}

/// A `cred` argument's `CredRecord` as Tetragon's `ProcessCredentials`.
fn credentials(bytes: &[u8]) -> Option<Value> {
    if bytes.len() < size_of::<CredRecord>() {
        return None;
    }
    // SAFETY: CredRecord is plain old data and `bytes` holds one (read unaligned).
    let cred: CredRecord = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
    let [uid, gid, suid, sgid, euid, egid, fsuid, fsgid] = cred.ids;
    let names = |set: u64| -> Vec<String> {
        (0..64)
            .filter(|bit| set & (1 << bit) != 0)
            .map(|bit| {
                CAPABILITIES
                    .get(bit)
                    .map_or_else(|| format!("CAP_{bit}"), |name| (*name).to_owned())
            })
            .collect()
    };
    let [effective, inheritable, permitted] = cred.caps;
    let credentials = ProcessCredentials {
        uid: Some(uid),
        gid: Some(gid),
        euid: Some(euid),
        egid: Some(egid),
        suid: Some(suid),
        sgid: Some(sgid),
        fsuid: Some(fsuid),
        fsgid: Some(fsgid),
        securebits: SECURE_BITS
            .iter()
            .filter(|(bit, _)| *bit != 0 && i64::from(cred.securebits) & bit != 0)
            .map(|(_, name)| (*name).to_owned())
            .collect(),
        caps: Some(Capabilities {
            permitted: names(permitted),
            effective: names(effective),
            inheritable: names(inheritable),
        }),
        user_ns: None,
    };
    serde_json::to_value(credentials).ok()
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
    /// The call failed with the policy's error (`Override`).
    Overridden,
    /// Monitor mode: the call would have failed.
    WouldOverride,
    /// A protected process (PID 1, tetrascope) that a policy would have signalled.
    Spared,
}

impl Verdict {
    /// Whether the process really got the signal.
    pub fn enforced(self) -> bool {
        matches!(
            self,
            Verdict::Killed | Verdict::Signaled | Verdict::Overridden
        )
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
        "KPROBE_ACTION_OVERRIDE" => Some(Verdict::Overridden),
        _ if tagged(TAG_WOULD_KILL) => Some(Verdict::WouldKill),
        _ if tagged(TAG_WOULD_SIGNAL) => Some(Verdict::WouldSignal),
        _ if tagged(TAG_WOULD_OVERRIDE) => Some(Verdict::WouldOverride),
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
    fn a_cred_is_process_credentials_with_capability_names() {
        let record = CredRecord {
            ids: [1000, 1001, 1002, 1003, 0, 1005, 1006, 1007],
            securebits: 16,
            _pad: 0,
            caps: [1 << 21, 0, (1 << 21) | 1],
        };
        // SAFETY: CredRecord is plain old data.
        let bytes = unsafe {
            std::slice::from_raw_parts((&raw const record).cast::<u8>(), size_of::<CredRecord>())
        };
        let arg = argument(ArgType::Cred, None, 0, Some(&(bytes.to_vec(), 0)));
        let creds = &arg["process_credentials_arg"];
        assert_eq!(creds["uid"], 1000);
        assert_eq!(creds["suid"], 1002);
        assert_eq!(creds["euid"], 0);
        assert_eq!(creds["fsgid"], 1007);
        assert_eq!(creds["securebits"], json!(["SecBitKeepCaps"]));
        assert_eq!(creds["caps"]["effective"], json!(["CAP_SYS_ADMIN"]));
        assert_eq!(
            creds["caps"]["permitted"],
            json!(["CAP_CHOWN", "CAP_SYS_ADMIN"])
        );
        assert!(creds["caps"].get("inheritable").is_none());
    }

    #[test]
    fn strings_and_paths_stay_text() {
        let path = (b"/etc/passwd".to_vec(), 0);
        let arg = argument(ArgType::Fd, None, 3, Some(&path));
        assert_eq!(arg, json!({"file_arg": {"path": "/etc/passwd"}}));
    }
}
