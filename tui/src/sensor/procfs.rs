//! The /proc walk at start-up: processes that were running before the probes attached.
use std::{fs, path::Path};

use tetrascope_shared::NS_RECORD_SLOTS;

use super::{
    cgroup,
    image::{ProcessImage, ProcessOrigin},
    records::split_argv,
};

/// `/proc/PID/ns/*` names in `ExecRecord::ns` slot order.
pub const NS_NAMES: [&str; NS_RECORD_SLOTS] = [
    "uts",
    "ipc",
    "mnt",
    "pid_for_children",
    "net",
    "time",
    "time_for_children",
    "cgroup",
    "pid",
    "user",
];

/// Every user-space process under `proc_root` (kernel threads, which have no executable, are
/// left out), in no particular order. Processes that vanish during the walk are skipped.
pub fn snapshot(proc_root: &Path) -> Vec<ProcessImage> {
    let ns_per_tick = 1_000_000_000 / clock_ticks_per_second();
    let cgroup_root = cgroup::v2_root();
    let Ok(dir) = fs::read_dir(proc_root) else {
        return Vec::new();
    };
    dir.filter_map(|entry| {
        let entry = entry.ok()?;
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let mut image = read_process(&entry.path(), pid, ns_per_tick)?;
        if let Some(root) = &cgroup_root {
            image.cgroup_id = cgroup::process_cgroup_id(root, &entry.path());
        }
        Some(image)
    })
    .collect()
}

fn read_process(dir: &Path, pid: u32, ns_per_tick: u64) -> Option<ProcessImage> {
    let binary = fs::read_link(dir.join("exe")).ok()?;
    let (ppid, start_ticks) = parse_stat(&fs::read_to_string(dir.join("stat")).ok()?)?;
    let status = fs::read_to_string(dir.join("status")).ok()?;
    let mut args = split_argv(&fs::read(dir.join("cmdline")).ok()?);
    if !args.is_empty() {
        args.remove(0);
    }
    let auid = fs::read_to_string(dir.join("loginuid"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(u32::MAX);
    Some(ProcessImage {
        ktime: start_ticks * ns_per_tick,
        pid,
        ppid,
        uid: effective_uid(&status)?,
        auid,
        ns_pid: namespace_pid_in(&status).unwrap_or(0),
        binary: binary.to_string_lossy().into_owned(),
        args,
        cwd: fs::read_link(dir.join("cwd"))
            .ok()
            .map(|p| p.to_string_lossy().into_owned()),
        origin: ProcessOrigin::ProcFs,
        error_flags: 0,
        ns: namespaces(dir),
        cgroup_id: 0,
        docker: String::new(),
    })
}

/// `(ppid, starttime)` from /proc/PID/stat. The command name may hold spaces and parentheses,
/// so the fields are counted from the last ')'.
fn parse_stat(stat: &str) -> Option<(u32, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(3) ppid(4) ... starttime(22), so indices 1 and 19.
    Some((fields.get(1)?.parse().ok()?, fields.get(19)?.parse().ok()?))
}

/// The second value of the `Uid:` line (real, effective, saved, fs).
fn effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// The pid of a process inside its own pid namespace: the last `NSpid:` value of its status.
fn namespace_pid_in(status: &str) -> Option<u32> {
    let line = status.lines().find(|l| l.starts_with("NSpid:"))?;
    line.split_whitespace().last()?.parse().ok()
}

/// The capability sets (effective, inheritable, permitted) of process `pid` now, from
/// `/proc/PID/status`.
pub fn capabilities(pid: u32) -> Option<[u64; 3]> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    capabilities_in(&status)
}

fn capabilities_in(status: &str) -> Option<[u64; 3]> {
    let set = |name: &str| {
        let line = status.lines().find(|l| l.starts_with(name))?;
        u64::from_str_radix(line.split_whitespace().nth(1)?, 16).ok()
    };
    Some([set("CapEff:")?, set("CapInh:")?, set("CapPrm:")?])
}

/// The initial ("host") namespaces: PID 1's, or, where PID 1 cannot be inspected (it may hold
/// capabilities we lack), kthreadd's: kernel threads always live in the initial namespaces.
pub fn host_namespaces(proc_root: &Path) -> [u32; NS_RECORD_SLOTS] {
    let init = namespaces(&proc_root.join("1"));
    let kthreadd = namespaces(&proc_root.join("2"));
    std::array::from_fn(|slot| {
        if init[slot] != 0 {
            init[slot]
        } else {
            kthreadd[slot]
        }
    })
}

/// Namespace inode numbers of a process, 0 where unreadable.
fn namespaces(dir: &Path) -> [u32; NS_RECORD_SLOTS] {
    NS_NAMES.map(|name| {
        fs::read_link(dir.join("ns").join(name))
            .ok()
            .and_then(|link| {
                let link = link.to_string_lossy().into_owned();
                link.split_once(":[")?.1.strip_suffix(']')?.parse().ok()
            })
            .unwrap_or(0)
    })
}

fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as u64 } else { 100 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_sets_come_from_the_status_lines() {
        let status = "Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t0000000000003000\nCapBnd:\t000001ffffffffff\n";
        assert_eq!(capabilities_in(status), Some([0x3000, 0, 0x1ff_ffff_ffff]));
        assert_eq!(capabilities_in("Name:\tx\n"), None);
    }

    #[test]
    fn stat_fields_count_from_the_last_parenthesis() {
        let stat = "4242 (my (odd) prog) S 17 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 98765 1000 10";
        assert_eq!(parse_stat(stat), Some((17, 98765)));
    }

    #[test]
    fn effective_uid_is_the_second_uid() {
        assert_eq!(effective_uid("Name:\tx\nUid:\t1000\t0\t0\t0\n"), Some(0));
    }

    #[test]
    fn snapshot_finds_this_test_process_with_its_parent() {
        let me = std::process::id();
        let procs = snapshot(Path::new("/proc"));
        let mine = procs.iter().find(|p| p.pid == me).expect("own process");
        // SAFETY: getppid has no preconditions.
        assert_eq!(mine.ppid, unsafe { libc::getppid() } as u32);
        assert_eq!(mine.origin, ProcessOrigin::ProcFs);
        assert_eq!(
            mine.binary,
            std::env::current_exe().unwrap().to_string_lossy()
        );
        assert!(mine.ns[2] != 0, "mnt namespace read");
        assert!(
            procs.iter().all(|p| p.pid != 2),
            "kthreadd has no executable"
        );
    }

    #[test]
    fn host_namespaces_are_known_even_when_pid_1_is_not_readable() {
        let host = host_namespaces(Path::new("/proc"));
        assert!(host.iter().all(|&inum| inum != 0), "{host:?}");
        // This test runs in the host's mount namespace.
        assert_eq!(host[2], namespaces(Path::new("/proc/self"))[2]);
    }
}
