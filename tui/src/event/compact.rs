//! tetra's `-o compact` lines (tetragon.md §2.3):
//! `[<ts> ]<EMOJI> <label padded to 7> <source> <binary> <details>[ <caps>]`.
//!
//! Two deliberate differences from tetra: the `🛑 CAP_SYS_ADMIN` trailer checks the capability
//! values (tetra tests the slice indexes) and pads by visible bytes, so colour codes do not shift
//! it; and events tetra refuses to print (a missing process, `rate_limit_info`) still get a line.

use std::fmt::Display;
use std::io::Write;
use std::sync::LazyLock;

use super::compact_kprobe;
use super::compact_tetrascope;
use super::events::{Event, EventBody, RateLimitInfo};
use super::lifecycle::ProcessThrottle;
use super::process::Process;
use super::quote::maybe_quote_into;
use super::timestamp::Fraction;

/// Prints events as compact one-line summaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompactEncoder {
    /// Prefix each line with the event time, `2006-01-02T15:04:05.000000000Z` style.
    pub timestamps: bool,
    /// Use ANSI colours like tetra's fatih/color output.
    pub color: bool,
}

/// tetra's ANSI foreground colours.
#[derive(Clone, Copy, Debug)]
pub(super) enum Color {
    Red,
    Green,
    Yellow,
    Blue,
    Magenta,
    Cyan,
}

impl Color {
    fn code(self) -> &'static [u8] {
        match self {
            Color::Red => b"\x1b[31m",
            Color::Green => b"\x1b[32m",
            Color::Yellow => b"\x1b[33m",
            Color::Blue => b"\x1b[34m",
            Color::Magenta => b"\x1b[35m",
            Color::Cyan => b"\x1b[36m",
        }
    }
}

const RESET: &[u8] = b"\x1b[0m";
const CAPS_COLUMN: usize = 120;
const SYS_ADMIN_TRAILER: &str = "\u{1F6D1} CAP_SYS_ADMIN";

/// A line being written: knows how many bytes are colour codes so that padding can ignore them.
pub(super) struct Line<'a> {
    out: &'a mut Vec<u8>,
    color: bool,
    start: usize,
    escape_bytes: usize,
}

impl Line<'_> {
    pub(super) fn text(&mut self, s: &str) {
        self.out.extend_from_slice(s.as_bytes());
    }

    pub(super) fn space(&mut self) {
        self.out.push(b' ');
    }

    /// Appends an untrusted string, quoted when it holds spaces or control characters.
    pub(super) fn quoted(&mut self, s: &str) {
        maybe_quote_into(self.out, s);
    }

    pub(super) fn number(&mut self, n: impl Display) {
        // Writing to a Vec cannot fail.
        let _ = write!(self.out, "{n}");
    }

    /// Runs `write` between the colour's escape codes (when colour is on).
    pub(super) fn paint(&mut self, color: Color, write: impl FnOnce(&mut Self)) {
        if self.color {
            self.out.extend_from_slice(color.code());
            self.escape_bytes += color.code().len() + RESET.len();
        }
        write(self);
        if self.color {
            self.out.extend_from_slice(RESET);
        }
    }

    pub(super) fn painted(&mut self, color: Color, s: &str) {
        self.paint(color, |line| line.text(s));
    }

    pub(super) fn painted_quoted(&mut self, color: Color, s: &str) {
        self.paint(color, |line| line.quoted(s));
    }

    /// `<emoji> <label>` with the label left-aligned in 7 columns (Go `%-7s`).
    pub(super) fn label(&mut self, color: Color, emoji: &str, label: &str) {
        self.paint(color, |line| {
            line.text(emoji);
            line.space();
            line.text(label);
            for _ in label.chars().count()..7 {
                line.space();
            }
        });
    }

    /// The label, then `<source> <binary>`: source is `namespace/pod`, else the node name.
    pub(super) fn head(&mut self, emoji: &str, label: &str, event: &Event, process: &Process) {
        self.label(Color::Blue, emoji, label);
        self.space();
        match &process.pod {
            Some(pod) => self.paint(Color::Green, |line| {
                line.text(&pod.namespace);
                line.text("/");
                line.text(&pod.name);
            }),
            None => self.painted_quoted(Color::Green, &event.node_name),
        }
        self.space();
        self.painted_quoted(Color::Magenta, &process.binary);
    }

    /// Right-pads to column 120 and appends `🛑 CAP_SYS_ADMIN` if the process has it.
    pub(super) fn caps_trailer(&mut self, process: &Process) {
        if !process.has_effective_sys_admin() {
            return;
        }
        let visible = self.out.len() - self.start - self.escape_bytes;
        // tetra: `fmt.Sprintf("%s %*s", line, 120-len(line), caps)`.
        let width = CAPS_COLUMN.saturating_sub(visible);
        let pad = width.saturating_sub(SYS_ADMIN_TRAILER.chars().count());
        self.space();
        self.out.resize(self.out.len() + pad, b' ');
        self.painted(Color::Magenta, SYS_ADMIN_TRAILER);
    }
}

/// Stands in for the process of an event that lacks one.
static NO_PROCESS: LazyLock<Process> = LazyLock::new(Process::default);

impl CompactEncoder {
    /// Appends the compact line for `event`, with its trailing `'\n'`, to `out`.
    pub fn encode(&self, event: &Event, out: &mut Vec<u8>) {
        if self.timestamps {
            event
                .time
                .unwrap_or_default()
                .write_rfc3339(out, Fraction::Nanos);
            out.push(b' ');
        }
        let start = out.len();
        let mut line = Line {
            out,
            color: self.color,
            start,
            escape_bytes: 0,
        };
        let process = event.process().unwrap_or(&NO_PROCESS);
        match &event.body {
            EventBody::ProcessExec(_) => {
                line.head("\u{1F680}", "process", event, process);
                line.space();
                line.painted_quoted(Color::Cyan, &process.arguments);
            }
            EventBody::ProcessExit(exit) => {
                line.head("\u{1F4A5}", "exit", event, process);
                line.space();
                line.painted_quoted(Color::Cyan, &process.arguments);
                line.space();
                if exit.signal.is_empty() {
                    line.paint(Color::Red, |line| line.number(exit.status));
                } else {
                    line.painted(Color::Red, &exit.signal);
                }
            }
            EventBody::ProcessLoader(loader) => {
                line.head("\u{1F9EC}", "loader", event, process);
                line.space();
                for byte in &loader.buildid {
                    line.number(format_args!("{byte:02x}"));
                }
                if !loader.buildid.is_empty() {
                    line.space();
                }
                line.painted_quoted(Color::Yellow, &loader.path);
            }
            EventBody::ProcessKprobe(kprobe) => {
                compact_kprobe::kprobe(&mut line, event, kprobe, process)
            }
            EventBody::ProcessTracepoint(tp) => {
                compact_kprobe::tracepoint(&mut line, event, tp, process)
            }
            EventBody::ProcessUprobe(uprobe) => {
                line.head("\u{1F575}\u{FE0F}", "uprobe", event, process);
                line.space();
                line.quoted(&uprobe.path);
                line.space();
                line.quoted(&uprobe.symbol);
            }
            EventBody::ProcessLsm(lsm) => {
                line.head("\u{1F512}", "LSM", event, process);
                line.space();
                line.text(&lsm.function_name);
            }
            EventBody::ProcessUsdt(usdt) => {
                line.head("\u{1F575}\u{FE0F}", "usdt", event, process);
                line.space();
                line.quoted(&usdt.path);
                line.space();
                line.quoted(&usdt.provider);
                line.space();
                line.quoted(&usdt.name);
            }
            EventBody::ProcessThrottle(throttle) => throttle_line(&mut line, throttle),
            EventBody::RateLimitInfo(info) => rate_limit_line(&mut line, event, info),
            EventBody::Test(_) => line.text("TEST EVENT"),
            EventBody::TetrascopeSyscallStats(stats) => {
                compact_tetrascope::syscall_stats(&mut line, event, stats, process)
            }
            EventBody::TetrascopeFileAccess(access) => {
                compact_tetrascope::file_access(&mut line, event, access, process)
            }
        }
        line.caps_trailer(process);
        line.out.push(b'\n');
    }
}

fn throttle_line(line: &mut Line, throttle: &ProcessThrottle) {
    line.label(Color::Red, "\u{1F9EC}", "throttle");
    line.space();
    match throttle.r#type.as_str() {
        "THROTTLE_START" => line.painted(Color::Red, "START"),
        "THROTTLE_STOP" => line.painted(Color::Green, "STOP "),
        _ => {}
    }
    line.space();
    line.quoted(&throttle.cgroup);
}

/// Not printed by tetra at all; shown here so that export drops are visible.
fn rate_limit_line(line: &mut Line, event: &Event, info: &RateLimitInfo) {
    line.label(Color::Red, "\u{1F6A6}", "ratelimit");
    line.space();
    line.painted_quoted(Color::Green, &event.node_name);
    line.space();
    line.paint(Color::Cyan, |line| {
        line.number(info.number_of_dropped_process_events);
        line.text(" events dropped");
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{
        Capabilities, Pod, ProcessExec, ProcessExit, ProcessLoader, ProcessLsm, ProcessUprobe,
        ProcessUsdt, Test, Timestamp, decode_json_line,
    };

    const PLAIN: CompactEncoder = CompactEncoder {
        timestamps: false,
        color: false,
    };

    fn compact(encoder: CompactEncoder, event: &Event) -> String {
        let mut out = Vec::new();
        encoder.encode(event, &mut out);
        let text = String::from_utf8(out).unwrap();
        text.strip_suffix('\n')
            .expect("line ends with a newline")
            .to_owned()
    }

    fn host_process(binary: &str, arguments: &str) -> Process {
        Process {
            binary: binary.into(),
            arguments: arguments.into(),
            ..Process::default()
        }
    }

    fn on_node(body: EventBody) -> Event {
        Event {
            node_name: "node-1".into(),
            ..Event::new(body)
        }
    }

    fn exit(signal: &str, status: u32) -> Event {
        on_node(EventBody::ProcessExit(ProcessExit {
            process: Some(host_process("/usr/bin/cat", "/tmp/x")),
            signal: signal.into(),
            status,
            ..ProcessExit::default()
        }))
    }

    #[test]
    fn seed_events() {
        let seed = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/seed-events.jsonl"
        );
        let text = std::fs::read_to_string(seed).unwrap();
        let lines: Vec<String> = text
            .lines()
            .map(|l| compact(PLAIN, &decode_json_line(l.as_bytes()).unwrap()))
            .collect();
        assert_eq!(
            lines,
            [
                "🚀 process default/iris-priv /usr/bin/pwd ",
                "🚀 process default/iris-priv /bin/bash \"-p -c pwd\"",
            ]
        );
    }

    #[test]
    fn exit_prints_signal_else_status() {
        assert_eq!(
            compact(PLAIN, &exit("SIGKILL", 0)),
            "💥 exit    node-1 /usr/bin/cat /tmp/x SIGKILL"
        );
        assert_eq!(
            compact(PLAIN, &exit("", 3)),
            "💥 exit    node-1 /usr/bin/cat /tmp/x 3"
        );
        assert_eq!(
            compact(PLAIN, &exit("", 0)),
            "💥 exit    node-1 /usr/bin/cat /tmp/x 0"
        );
    }

    #[test]
    fn colours_follow_tetra() {
        let encoder = CompactEncoder {
            timestamps: false,
            color: true,
        };
        assert_eq!(
            compact(encoder, &exit("", 3)),
            "\x1b[34m💥 exit   \x1b[0m \x1b[32mnode-1\x1b[0m \x1b[35m/usr/bin/cat\x1b[0m \
             \x1b[36m/tmp/x\x1b[0m \x1b[31m3\x1b[0m"
        );
    }

    #[test]
    fn timestamps_prefix_has_nine_digits() {
        let encoder = CompactEncoder {
            timestamps: true,
            color: false,
        };
        let mut event = exit("SIGKILL", 0);
        event.time = Some("2024-10-01T02:39:42.5Z".parse().unwrap());
        assert_eq!(
            compact(encoder, &event),
            "2024-10-01T02:39:42.500000000Z 💥 exit    node-1 /usr/bin/cat /tmp/x SIGKILL"
        );
        event.time = None;
        assert!(compact(encoder, &event).starts_with("1970-01-01T00:00:00.000000000Z 💥"));
        event.time = Some(Timestamp {
            seconds: 1,
            nanos: 7,
        });
        assert!(compact(encoder, &event).starts_with("1970-01-01T00:00:01.000000007Z 💥"));
    }

    #[test]
    fn sys_admin_trailer_pads_to_column_120() {
        let mut process = host_process("/bin/sleep", "365d");
        process.pod = Some(Pod {
            namespace: "default".into(),
            name: "test-pod".into(),
            ..Pod::default()
        });
        process.cap = Some(Capabilities {
            effective: vec!["CAP_CHOWN".into(), "CAP_SYS_ADMIN".into()],
            ..Capabilities::default()
        });
        let event = on_node(EventBody::ProcessExec(ProcessExec {
            process: Some(process),
            ..ProcessExec::default()
        }));
        let head = "🚀 process default/test-pod /bin/sleep 365d";
        let line = compact(PLAIN, &event);
        assert_eq!(
            line,
            format!(
                "{head}{}🛑 CAP_SYS_ADMIN",
                " ".repeat(1 + 120 - head.len() - 15)
            )
        );
        let coloured = compact(
            CompactEncoder {
                timestamps: false,
                color: true,
            },
            &event,
        );
        assert!(
            coloured.ends_with("\x1b[35m🛑 CAP_SYS_ADMIN\x1b[0m"),
            "{coloured:?}"
        );
        let ansi = regex::Regex::new("\x1b\\[[0-9]+m").unwrap();
        assert_eq!(ansi.replace_all(&coloured, ""), line);
    }

    #[test]
    fn quotes_untrusted_strings() {
        let event = on_node(EventBody::ProcessExec(ProcessExec {
            process: Some(host_process("/tmp/evil bin", "a\x1b[2Jb")),
            ..ProcessExec::default()
        }));
        assert_eq!(
            compact(PLAIN, &event),
            r#"🚀 process node-1 "/tmp/evil bin" "a\x1b[2Jb""#
        );
    }

    #[test]
    fn other_process_events() {
        let process = Some(host_process("/bin/bash", ""));
        let cases = [
            (
                EventBody::ProcessLoader(ProcessLoader {
                    process: process.clone(),
                    path: "/lib/libc.so.6".into(),
                    buildid: vec![0xde, 0xad],
                    ..ProcessLoader::default()
                }),
                "🧬 loader  node-1 /bin/bash dead /lib/libc.so.6",
            ),
            (
                EventBody::ProcessUprobe(ProcessUprobe {
                    process: process.clone(),
                    path: "/bin/bash".into(),
                    symbol: "readline".into(),
                    ..ProcessUprobe::default()
                }),
                "🕵️ uprobe  node-1 /bin/bash /bin/bash readline",
            ),
            (
                EventBody::ProcessLsm(ProcessLsm {
                    process: process.clone(),
                    function_name: "bprm_check_security".into(),
                    ..ProcessLsm::default()
                }),
                "🔒 LSM     node-1 /bin/bash bprm_check_security",
            ),
            (
                EventBody::ProcessUsdt(ProcessUsdt {
                    process: process.clone(),
                    path: "/usr/lib/libx.so".into(),
                    provider: "test".into(),
                    name: "probe 1".into(),
                    ..ProcessUsdt::default()
                }),
                "🕵️ usdt    node-1 /bin/bash /usr/lib/libx.so test \"probe 1\"",
            ),
            (EventBody::Test(Test::default()), "TEST EVENT"),
            (
                EventBody::ProcessThrottle(ProcessThrottle {
                    r#type: "THROTTLE_STOP".into(),
                    cgroup: "session-429.scope".into(),
                }),
                "🧬 throttle STOP  session-429.scope",
            ),
            (
                EventBody::RateLimitInfo(RateLimitInfo {
                    number_of_dropped_process_events: 12,
                }),
                "🚦 ratelimit node-1 12 events dropped",
            ),
        ];
        for (body, want) in cases {
            assert_eq!(compact(PLAIN, &on_node(body)), want);
        }
    }

    #[test]
    fn missing_process_still_prints() {
        let event = on_node(EventBody::ProcessExec(ProcessExec::default()));
        assert_eq!(compact(PLAIN, &event), "🚀 process node-1  ");
    }
}
