//! Compact lines of kprobe and tracepoint events: tetra picks the emoji, label and details by
//! function name, after removing the syscall's arch prefix (tetragon.md §2.3).

use serde_json::Value;

use super::args::{arg, field, field_i64, field_str, field_u64};
use super::compact::{Color, Line};
use super::events::Event;
use super::probes::{ProcessKprobe, ProcessTracepoint};
use super::process::Process;
use super::syscalls::{native_abi, syscall_name};

/// Prefixes of syscall entry symbols: arch wrappers (`__x64_sys_write`) and the
/// sign-extension wrappers some kernels export (`__se_sys_write`).
const SYSCALL_PREFIXES: [&str; 4] = ["__x64_", "__arm64_", "__ia32_", "__se_"];

/// `__x64_sys_write` → `sys_write`; other symbols unchanged.
pub fn strip_syscall_prefix(symbol: &str) -> &str {
    SYSCALL_PREFIXES
        .iter()
        .find_map(|prefix| symbol.strip_prefix(prefix))
        .unwrap_or(symbol)
}

/// `CLONE_NEW*` flag → namespace name, as tetra prints `setns` (0 means any).
fn namespace_name(flag: i64) -> &'static str {
    match flag {
        0 => "any",
        0x0200_0000 => "cgroup",
        0x0800_0000 => "ipc",
        0x4000_0000 => "net",
        0x0002_0000 => "mnt",
        0x2000_0000 => "pid",
        0x80 => "time",
        0x1000_0000 => "user",
        0x0400_0000 => "uts",
        _ => "",
    }
}

/// `tcp SADDR:SPORT -> DADDR:DPORT` from `args[0].sock_arg`.
fn sock_tuple(line: &mut Line, args: &[Value]) {
    let sock = |name: &str| field_str(args, 0, &["sock_arg", name]);
    let port = |name: &str| field_u64(args, 0, &["sock_arg", name]);
    line.paint(Color::Cyan, |line| {
        line.text("tcp ");
        line.text(sock("saddr"));
        line.text(":");
        line.number(port("sport"));
        line.text(" -> ");
        line.text(sock("daddr"));
        line.text(":");
        line.number(port("dport"));
    });
}

/// A file path member, printed only when the member is there (tetra's `GetFileArg() != nil`).
fn path_of(line: &mut Line, args: &[Value], index: usize, member: &str) {
    if field(args, index, &[member]).is_some() {
        line.painted_quoted(Color::Cyan, field_str(args, index, &[member, "path"]));
    }
}

pub(super) fn kprobe(line: &mut Line, event: &Event, kprobe: &ProcessKprobe, process: &Process) {
    let args = kprobe.args.as_slice();
    let has = |index: usize| arg(args, index).is_some();
    match strip_syscall_prefix(&kprobe.function_name) {
        name @ ("sys_write" | "sys_read") => {
            let (emoji, label) = match name {
                "sys_write" => ("\u{1F4DD}", "write"),
                _ => ("\u{1F4DA}", "read"),
            };
            line.head(emoji, label, event, process);
            line.space();
            path_of(line, args, 0, "file_arg");
            line.space();
            if has(2) {
                line.paint(Color::Cyan, |line| {
                    line.number(field_u64(args, 2, &["size_arg"]));
                    line.text(" bytes");
                });
            }
        }
        "fd_install" => {
            line.head("\u{1F4EC}", "open", event, process);
            line.space();
            path_of(line, args, 1, "file_arg");
        }
        name @ ("sys_openat" | "sys_open") => {
            let label = if name == "sys_openat" {
                "openat"
            } else {
                "open"
            };
            line.head("\u{1F4EC}\u{FE0F}", label, event, process);
            line.space();
            if has(1) {
                line.painted_quoted(Color::Cyan, field_str(args, 1, &["string_arg"]));
            }
        }
        "sys_close" => {
            line.head("\u{1F4EA}", "close", event, process);
            line.space();
            path_of(line, args, 0, "file_arg");
        }
        name @ ("sys_mount" | "sys_pivot_root") => {
            let label = if name == "sys_mount" {
                "mount"
            } else {
                "pivot_root"
            };
            line.head("\u{1F4BE}", label, event, process);
            for index in 0..2 {
                line.space();
                if has(index) {
                    line.painted_quoted(Color::Cyan, field_str(args, index, &["string_arg"]));
                }
            }
        }
        "sys_setuid" => {
            line.head("\u{1F511}", "setuid", event, process);
            line.space();
            if has(0) {
                line.paint(Color::Cyan, |line| {
                    line.number(field_i64(args, 0, &["int_arg"]))
                });
            }
        }
        "sys_clock_settime" => line.head("\u{23F0}", "clock_settime", event, process),
        "proc_exec_connector" => line.head("\u{1F527}", "proc_exec_connector", event, process),
        "sys_setns" => {
            line.head("\u{1F527}", "setns", event, process);
            line.space();
            if has(1) {
                line.text(namespace_name(field_i64(args, 1, &["int_arg"])));
            }
        }
        name @ ("tcp_connect" | "tcp_close") => {
            let (emoji, label) = match name {
                "tcp_connect" => ("\u{1F50C}", "connect"),
                _ => ("\u{1F9F9}", "close"),
            };
            line.head(emoji, label, event, process);
            line.space();
            if has(0) {
                sock_tuple(line, args);
            }
        }
        "tcp_sendmsg" => {
            line.head("\u{1F4E4}", "sendmsg", event, process);
            line.space();
            if has(0) {
                sock_tuple(line, args);
            }
            line.text(" bytes ");
            line.number(field_i64(args, 1, &["int_arg"]));
        }
        "bpf_check" => {
            line.head("\u{1F41D}", "bpf_load", event, process);
            line.space();
            if has(0) {
                let attr = |name: &str| field_str(args, 0, &["bpf_attr_arg", name]);
                line.paint(Color::Cyan, |line| {
                    line.text(attr("ProgType"));
                    line.space();
                    line.text(attr("ProgName"));
                    line.text(" instruction count ");
                    line.number(field_u64(args, 0, &["bpf_attr_arg", "InsnCnt"]));
                });
            }
        }
        "security_perf_event_alloc" => {
            line.head("\u{1F41D}", "perf_event_alloc", event, process);
            line.space();
            if has(0) {
                line.paint(Color::Cyan, |line| {
                    line.text(field_str(args, 0, &["perf_event_arg", "Type"]));
                    line.space();
                    line.text(field_str(args, 0, &["perf_event_arg", "KprobeFunc"]));
                });
            }
        }
        "security_bpf_map_alloc" | "security_bpf_map_create" => {
            line.head("\u{1F5FA}", "bpf_map_create", event, process);
            line.space();
            if has(0) {
                let text = |name: &str| field_str(args, 0, &["bpf_map_arg", name]);
                let size = |name: &str| field_u64(args, 0, &["bpf_map_arg", name]);
                line.paint(Color::Cyan, |line| {
                    line.text(text("MapType"));
                    line.space();
                    line.text(text("MapName"));
                    line.text(" key size ");
                    line.number(size("KeySize"));
                    line.text(" value size ");
                    line.number(size("ValueSize"));
                    line.text(" max entries ");
                    line.number(size("MaxEntries"));
                });
            }
        }
        "security_file_permission" => {
            let known = has(0) && has(1);
            let (emoji, label) = match field_i64(args, 1, &["int_arg"]) {
                // MAY_WRITE and MAY_READ.
                0x02 if known => ("\u{1F4DD}", "write"),
                0x04 if known => ("\u{1F4DA}", "read"),
                _ => ("\u{2753}", "security_file_permission"),
            };
            line.head(emoji, label, event, process);
            line.space();
            if known {
                line.painted_quoted(Color::Cyan, field_str(args, 0, &["file_arg", "path"]));
            }
        }
        "security_mmap_file" if has(0) && has(1) => {
            let prot = field_u64(args, 1, &["uint_arg"]);
            let mut label = String::from("mmap-");
            for (bit, flag) in [(0x1, 'r'), (0x2, 'w'), (0x4, 'x')] {
                if prot & bit != 0 {
                    label.push(flag);
                }
            }
            line.head("\u{1F4DD}", &label, event, process);
            line.space();
            line.painted_quoted(Color::Cyan, field_str(args, 0, &["file_arg", "path"]));
        }
        name @ ("security_path_truncate" | "security_file_truncate") if has(0) => {
            let member = if name == "security_path_truncate" {
                "path_arg"
            } else {
                "file_arg"
            };
            line.head("\u{1F4DD}", "truncate", event, process);
            line.space();
            line.painted_quoted(Color::Cyan, field_str(args, 0, &[member, "path"]));
        }
        name @ ("security_mmap_file" | "security_path_truncate" | "security_file_truncate") => {
            line.head("\u{2753}", name, event, process);
            line.space();
        }
        _ => {
            line.head("\u{2753}", "syscall", event, process);
            line.space();
            line.text(&kprobe.function_name);
        }
    }
}

pub(super) fn tracepoint(
    line: &mut Line,
    event: &Event,
    tp: &ProcessTracepoint,
    process: &Process,
) {
    if tp.subsys == "raw_syscalls" && tp.event == "sys_enter" {
        line.head("\u{260E} ", "syscall", event, process);
        line.space();
        raw_syscall_name(line, &tp.args);
    } else {
        line.head("\u{2049}\u{FE0F}", "tracepoint", event, process);
        line.space();
        line.text(&tp.subsys);
        line.space();
        line.text(&tp.event);
    }
}

/// The syscall of a `raw_syscalls/sys_enter` event: `args[0]` is a `long_arg` id in the native
/// ABI or a `syscall_id {id, abi}`. A foreign ABI is shown as `i386/<name>`.
///
/// tetra also prints the arguments with their C types; that needs the kernel's syscall
/// signatures, which we do not carry, so only the name is printed.
fn raw_syscall_name(line: &mut Line, args: &[Value]) {
    let native = native_abi();
    let (id, abi) = if field(args, 0, &["long_arg"]).is_some() {
        (field_i64(args, 0, &["long_arg"]), native)
    } else if field(args, 0, &["syscall_id"]).is_some() {
        let abi = field_str(args, 0, &["syscall_id", "abi"]);
        (
            field_i64(args, 0, &["syscall_id", "id"]),
            if abi.is_empty() { native } else { abi },
        )
    } else {
        (-1, native)
    };
    match syscall_name(abi, id) {
        Some(name) if abi != native => {
            line.text(abi);
            line.text("/");
            line.text(name);
        }
        Some(name) => line.text(name),
        None => line.text("unknown"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::event::{CompactEncoder, EventBody, Pod};

    fn kprobe_line(function_name: &str, args: Value) -> String {
        let process = Process {
            binary: "/usr/bin/curl".into(),
            pod: Some(Pod {
                namespace: "default".into(),
                name: "xwing".into(),
                ..Pod::default()
            }),
            ..Process::default()
        };
        let event = Event::new(EventBody::ProcessKprobe(ProcessKprobe {
            process: Some(process),
            function_name: function_name.into(),
            args: serde_json::from_value(args).unwrap(),
            ..ProcessKprobe::default()
        }));
        line(&event)
    }

    fn line(event: &Event) -> String {
        let mut out = Vec::new();
        CompactEncoder::default().encode(event, &mut out);
        String::from_utf8(out)
            .unwrap()
            .trim_end_matches('\n')
            .to_owned()
    }

    #[test]
    fn strips_arch_prefixes() {
        assert_eq!(strip_syscall_prefix("__x64_sys_write"), "sys_write");
        assert_eq!(strip_syscall_prefix("__arm64_sys_openat"), "sys_openat");
        assert_eq!(strip_syscall_prefix("__ia32_sys_read"), "sys_read");
        assert_eq!(strip_syscall_prefix("__se_sys_close"), "sys_close");
        assert_eq!(strip_syscall_prefix("fd_install"), "fd_install");
    }

    #[test]
    fn file_and_syscall_rows() {
        let rw =
            json!([{"file_arg": {"path": "/etc/passwd"}}, {"bytes_arg": ""}, {"size_arg": "627"}]);
        let cases = [
            (
                "__x64_sys_write",
                rw.clone(),
                "📝 write   default/xwing /usr/bin/curl /etc/passwd 627 bytes",
            ),
            (
                "__arm64_sys_read",
                rw,
                "📚 read    default/xwing /usr/bin/curl /etc/passwd 627 bytes",
            ),
            (
                "__x64_sys_write",
                json!([{"int_arg": 1}]),
                "📝 write   default/xwing /usr/bin/curl  ",
            ),
            (
                "fd_install",
                json!([{"int_arg": 3}, {"file_arg": {"path": "/tmp/tetragon"}}]),
                "📬 open    default/xwing /usr/bin/curl /tmp/tetragon",
            ),
            (
                "__x64_sys_openat",
                json!([{"int_arg": -100}, {"string_arg": "/etc/my file"}]),
                "📬️ openat  default/xwing /usr/bin/curl \"/etc/my file\"",
            ),
            (
                "__x64_sys_open",
                json!([{"int_arg": -100}, {"string_arg": "/etc/hosts"}]),
                "📬️ open    default/xwing /usr/bin/curl /etc/hosts",
            ),
            (
                "__x64_sys_close",
                json!([{"file_arg": {"path": "/etc/hosts"}}]),
                "📪 close   default/xwing /usr/bin/curl /etc/hosts",
            ),
            (
                "__x64_sys_mount",
                json!([{"string_arg": "tmpfs"}, {"string_arg": "/mnt"}]),
                "💾 mount   default/xwing /usr/bin/curl tmpfs /mnt",
            ),
            (
                "__x64_sys_pivot_root",
                json!([{"string_arg": "/new"}, {"string_arg": "/old"}]),
                "💾 pivot_root default/xwing /usr/bin/curl /new /old",
            ),
            (
                "__x64_sys_setuid",
                json!([{"int_arg": 0}]),
                "🔑 setuid  default/xwing /usr/bin/curl 0",
            ),
            (
                "__x64_sys_clock_settime",
                json!([]),
                "⏰ clock_settime default/xwing /usr/bin/curl",
            ),
            (
                "proc_exec_connector",
                json!([]),
                "🔧 proc_exec_connector default/xwing /usr/bin/curl",
            ),
            (
                "__x64_sys_setns",
                json!([{"int_arg": 3}, {"int_arg": 0x4000_0000}]),
                "🔧 setns   default/xwing /usr/bin/curl net",
            ),
            (
                "kfree_skb_reason",
                json!([]),
                "❓ syscall default/xwing /usr/bin/curl kfree_skb_reason",
            ),
            (
                "__x64_sys_ptrace",
                json!([]),
                "❓ syscall default/xwing /usr/bin/curl __x64_sys_ptrace",
            ),
        ];
        for (function, args, want) in cases {
            assert_eq!(kprobe_line(function, args), want, "{function}");
        }
    }

    #[test]
    fn network_and_bpf_rows() {
        let sock = json!({"sock_arg": {"family": "AF_INET", "saddr": "10.244.0.6", "daddr": "104.198.14.52", "sport": 34965, "dport": 80}});
        let cases = [
            (
                "tcp_connect",
                json!([sock.clone()]),
                "🔌 connect default/xwing /usr/bin/curl tcp 10.244.0.6:34965 -> 104.198.14.52:80",
            ),
            (
                "tcp_close",
                json!([sock.clone()]),
                "🧹 close   default/xwing /usr/bin/curl tcp 10.244.0.6:34965 -> 104.198.14.52:80",
            ),
            (
                "tcp_sendmsg",
                json!([sock, {"int_arg": 73}]),
                "📤 sendmsg default/xwing /usr/bin/curl tcp 10.244.0.6:34965 -> 104.198.14.52:80 bytes 73",
            ),
            (
                "bpf_check",
                json!([{"bpf_attr_arg": {"ProgType": "BPF_PROG_TYPE_KPROBE", "InsnCnt": 12, "ProgName": "p"}}]),
                "🐝 bpf_load default/xwing /usr/bin/curl BPF_PROG_TYPE_KPROBE p instruction count 12",
            ),
            (
                "security_perf_event_alloc",
                json!([{"perf_event_arg": {"KprobeFunc": "f", "Type": "kprobe"}}]),
                "🐝 perf_event_alloc default/xwing /usr/bin/curl kprobe f",
            ),
            (
                "security_bpf_map_create",
                json!([{"bpf_map_arg": {"MapType": "BPF_MAP_TYPE_HASH", "KeySize": 4, "ValueSize": 8, "MaxEntries": 1024, "MapName": "m"}}]),
                "🗺 bpf_map_create default/xwing /usr/bin/curl BPF_MAP_TYPE_HASH m key size 4 value size 8 max entries 1024",
            ),
        ];
        for (function, args, want) in cases {
            assert_eq!(kprobe_line(function, args), want, "{function}");
        }
    }

    #[test]
    fn security_hook_rows() {
        let file = json!({"file_arg": {"path": "/etc/passwd"}});
        let cases = [
            (
                "security_file_permission",
                json!([file.clone(), {"int_arg": 4}]),
                "📚 read    default/xwing /usr/bin/curl /etc/passwd",
            ),
            (
                "security_file_permission",
                json!([file.clone(), {"int_arg": 2}]),
                "📝 write   default/xwing /usr/bin/curl /etc/passwd",
            ),
            (
                "security_file_permission",
                json!([file.clone(), {"int_arg": 8}]),
                "❓ security_file_permission default/xwing /usr/bin/curl /etc/passwd",
            ),
            (
                "security_file_permission",
                json!([file.clone()]),
                "❓ security_file_permission default/xwing /usr/bin/curl ",
            ),
            (
                "security_mmap_file",
                json!([file.clone(), {"uint_arg": 5}, {}]),
                "📝 mmap-rx default/xwing /usr/bin/curl /etc/passwd",
            ),
            (
                "security_mmap_file",
                json!([file.clone(), {"uint_arg": 1}]),
                "📝 mmap-r  default/xwing /usr/bin/curl /etc/passwd",
            ),
            (
                "security_mmap_file",
                json!([file.clone()]),
                "❓ security_mmap_file default/xwing /usr/bin/curl ",
            ),
            (
                "security_path_truncate",
                json!([{"path_arg": {"path": "/etc/passwd"}}]),
                "📝 truncate default/xwing /usr/bin/curl /etc/passwd",
            ),
            (
                "security_file_truncate",
                json!([file]),
                "📝 truncate default/xwing /usr/bin/curl /etc/passwd",
            ),
            (
                "security_path_truncate",
                json!([]),
                "❓ security_path_truncate default/xwing /usr/bin/curl ",
            ),
        ];
        for (function, args, want) in cases {
            assert_eq!(kprobe_line(function, args), want, "{function} {want}");
        }
    }

    fn tracepoint_line(subsys: &str, name: &str, args: Value) -> String {
        let event = Event {
            node_name: "host".into(),
            ..Event::new(EventBody::ProcessTracepoint(ProcessTracepoint {
                process: Some(Process {
                    binary: "/usr/bin/kill".into(),
                    ..Process::default()
                }),
                subsys: subsys.into(),
                event: name.into(),
                args: serde_json::from_value(args).unwrap(),
                ..ProcessTracepoint::default()
            }))
        };
        line(&event)
    }

    #[test]
    fn tracepoint_rows() {
        let native = native_abi();
        let execve_id = if native == "x64" { 59 } else { 221 };
        assert_eq!(
            tracepoint_line(
                "raw_syscalls",
                "sys_enter",
                json!([{"long_arg": execve_id.to_string()}])
            ),
            "☎  syscall host /usr/bin/kill execve"
        );
        assert_eq!(
            tracepoint_line(
                "raw_syscalls",
                "sys_enter",
                json!([{"syscall_id": {"id": 11, "abi": "i386"}}])
            ),
            "☎  syscall host /usr/bin/kill i386/execve"
        );
        assert_eq!(
            tracepoint_line(
                "raw_syscalls",
                "sys_enter",
                json!([{"syscall_id": {"id": 9999, "abi": native}}])
            ),
            "☎  syscall host /usr/bin/kill unknown"
        );
        assert_eq!(
            tracepoint_line("sched", "sched_process_exec", json!([])),
            "⁉️ tracepoint host /usr/bin/kill sched sched_process_exec"
        );
    }
}
