//! Compact lines of tetrascope's own events (tetra has none for them).

use super::compact::{Color, Line};
use super::events::Event;
use super::file_access::TetrascopeFileAccess;
use super::process::Process;
use super::syscall_stats::TetrascopeSyscallStats;

/// Syscalls named on a stats line, the most called first.
const TOP: usize = 5;

/// `📊 syscalls <source> <binary> 1200 calls (1200/s), 5000 in all: read 600, write 600`
pub(super) fn syscall_stats(
    line: &mut Line,
    event: &Event,
    stats: &TetrascopeSyscallStats,
    process: &Process,
) {
    line.head("\u{1F4CA}", "syscalls", event, process);
    line.space();
    line.paint(Color::Cyan, |line| {
        line.number(stats.count);
        line.text(" calls (");
        line.number(format_args!("{:.0}", stats.rate()));
        line.text("/s), ");
        line.number(stats.total);
        line.text(" in all");
    });
    let mut syscalls: Vec<_> = stats.syscalls.iter().filter(|s| s.count > 0).collect();
    syscalls.sort_by(|a, b| b.count.cmp(&a.count).then(a.nr.cmp(&b.nr)));
    for (i, syscall) in syscalls.iter().take(TOP).enumerate() {
        line.text(if i == 0 { ": " } else { ", " });
        if syscall.name.is_empty() {
            line.text(&syscall.abi);
            line.text("#");
            line.number(syscall.nr);
        } else {
            line.text(&syscall.name);
        }
        line.space();
        line.number(syscall.count);
    }
    if stats.ended {
        line.space();
        line.painted(Color::Red, "(ended)");
    }
}

/// `📂 file    <source> <binary> <path> read,write ×3` (the errno name for failures)
pub(super) fn file_access(
    line: &mut Line,
    event: &Event,
    access: &TetrascopeFileAccess,
    process: &Process,
) {
    line.head("\u{1F4C2}", "file", event, process);
    line.space();
    line.painted_quoted(Color::Cyan, &access.path);
    line.space();
    line.text(&access.access.join(","));
    if !access.error.is_empty() {
        line.space();
        line.painted(Color::Red, &access.error);
    }
    line.text(" \u{D7}");
    line.number(access.count);
}

#[cfg(test)]
mod tests {
    use crate::event::{
        CompactEncoder, Event, EventBody, Process, SyscallCount, TetrascopeFileAccess,
        TetrascopeSyscallStats,
    };

    fn compact(body: EventBody) -> String {
        let event = Event {
            node_name: "vm".into(),
            ..Event::new(body)
        };
        let mut out = Vec::new();
        CompactEncoder::default().encode(&event, &mut out);
        String::from_utf8(out).unwrap().trim_end().to_owned()
    }

    fn dd() -> Option<Process> {
        Some(Process {
            binary: "/usr/bin/dd".into(),
            ..Process::default()
        })
    }

    #[test]
    fn stats_lines_name_the_busiest_syscalls() {
        let count = |name: &str, nr, count| SyscallCount {
            abi: "x64".into(),
            nr,
            name: name.into(),
            count,
            total: count,
        };
        let line = compact(EventBody::TetrascopeSyscallStats(TetrascopeSyscallStats {
            process: dd(),
            interval_ns: 2_000_000_000,
            count: 30,
            total: 40,
            syscalls: vec![
                count("read", 0, 10),
                count("write", 1, 20),
                count("", 460, 0),
            ],
            ended: true,
        }));
        assert_eq!(
            line,
            "📊 syscalls vm /usr/bin/dd 30 calls (15/s), 40 in all: write 20, read 10 (ended)"
        );
    }

    #[test]
    fn file_lines_show_errors() {
        let line = compact(EventBody::TetrascopeFileAccess(TetrascopeFileAccess {
            process: dd(),
            path: "/root/secret".into(),
            access: vec!["read".into()],
            error: "EACCES".into(),
            count: 2,
            ..TetrascopeFileAccess::default()
        }));
        assert_eq!(
            line,
            "📂 file    vm /usr/bin/dd /root/secret read EACCES ×2"
        );
    }
}
