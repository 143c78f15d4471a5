//! Process selectors and enforcement of Tetragon's examples on the real kernel (root), with real
//! processes: matchCapabilities with isNamespaceCapability, matchNamespaceChanges and
//! matchCapabilityChanges (against what the process had at exec), 32-bit (ia32) syscalls told
//! apart in `syscall64` values and syscall lists, and NotifyEnforcer with SIGKILL (killer.yaml).
mod common;

use std::{
    os::unix::process::ExitStatusExt,
    path::Path,
    process::{Command, Output},
};

use common::{
    engine::{openat_policy, policy, start},
    marker_dir, require_root,
};
use tetrascope::{
    event::{Event, EventBody},
    policy::{
        self,
        hit_event::policy_name,
        model::{Mode, TracingPolicy},
        what_if::WhatIf,
    },
    source::local::LocalSource,
};

fn drain(source: &mut LocalSource) -> Vec<Event> {
    let mut events = Vec::new();
    source.drain(&mut events);
    events
}

/// The events of `policy` from the process `pid`.
fn hits_of<'a>(events: &'a [Event], policy: &str, pid: u32) -> Vec<&'a Event> {
    events
        .iter()
        .filter(|e| policy_name(e) == Some(policy))
        .filter(|e| e.process().and_then(|p| p.pid) == Some(pid))
        .collect()
}

/// Runs `program` with `args` in `dir` to its end; its pid and output.
fn run(dir: &Path, program: &str, args: &[&str]) -> (u32, Output) {
    let child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    (pid, child.wait_with_output().unwrap())
}

/// Runs a Python script in `dir` (through `prefix`, e.g. `unshare`, which execs it); its pid.
fn python(dir: &Path, prefix: &[&str], script: &str) -> u32 {
    let mut args: Vec<&str> = prefix.to_vec();
    args.extend(["/usr/bin/python3", "-c", script]);
    let (pid, out) = run(dir, args[0], &args[1..]);
    assert!(out.status.success(), "{script}: {out:?}");
    pid
}

#[test]
fn namespace_capabilities_match_outside_the_host_user_namespace_only() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("ns-caps");
    std::fs::write(dir.join("x.nscap-target"), "x").unwrap();
    // Tetragon's example (fd_install of any file with CAP_CHOWN or CAP_NET_RAW, in a user
    // namespace), and the same capabilities anywhere.
    let example = common::shared_policy("tetragon-examples/fd_install_caps.yaml");
    let anywhere = openat_policy(
        "caps-anywhere",
        ".nscap-target",
        "      matchCapabilities:\n      - operator: In\n        values: [CAP_CHOWN, CAP_NET_RAW]\n",
    );
    let in_user_ns = openat_policy(
        "caps-in-user-ns",
        ".nscap-target",
        "      matchCapabilities:\n      - operator: In\n        isNamespaceCapability: true\n        values: [CAP_CHOWN, CAP_NET_RAW]\n",
    );
    let not_in = openat_policy(
        "caps-not-in-user-ns",
        ".nscap-target",
        "      matchCapabilities:\n      - operator: NotIn\n        isNamespaceCapability: true\n        values: [CAP_BPF]\n",
    );
    common::runtime().block_on(async {
        let mut source = start(&[&example, &anywhere, &in_user_ns, &not_in], Mode::Enforce);
        let script = "open('x.nscap-target').close()";
        // Root of the host, with every capability.
        let host = python(&dir, &[], script);
        // Root of a new user namespace: every capability there.
        let contained = python(&dir, &["unshare", "--user", "--map-root-user"], script);
        let events = drain(&mut source);

        let count = |policy: &str, pid| hits_of(&events, policy, pid).len();
        assert_eq!(count("caps-anywhere", host), 1);
        assert_eq!(count("caps-anywhere", contained), 1);
        assert_eq!(count("caps-in-user-ns", host), 0, "host user namespace");
        assert_eq!(count("caps-in-user-ns", contained), 1);
        // Not in the host's user namespace, whatever the operator.
        assert_eq!(count("caps-not-in-user-ns", host), 0);
        assert_eq!(count("caps-not-in-user-ns", contained), 0, "it has CAP_BPF");
        // The example sees every file the contained python installs (its libraries too), and
        // none of the host python's.
        let installs = hits_of(&events, "fd-install", contained);
        assert!(
            installs
                .iter()
                .any(|e| format!("{e:?}").contains("x.nscap-target")),
            "{installs:#?}"
        );
        assert_eq!(count("fd-install", host), 0);

        // What-if cannot tell capabilities from recorded events: no match, as for any
        // matchCapabilities.
        let mut what_if = WhatIf::new(&in_user_ns, Mode::Enforce).unwrap();
        for event in hits_of(&events, "caps-anywhere", contained) {
            assert_eq!(what_if.evaluate(event), None);
        }
    });
}

/// A Python script that opens `target` once, then `change`s something and opens it twice.
fn open_change_open(target: &str, change: &str) -> String {
    format!(
        "import ctypes, os\n\
         libc = ctypes.CDLL(None, use_errno=True)\n\
         class H(ctypes.Structure): _fields_ = [('v', ctypes.c_uint32), ('pid', ctypes.c_int)]\n\
         class D(ctypes.Structure): _fields_ = [('e', ctypes.c_uint32), ('p', ctypes.c_uint32), ('i', ctypes.c_uint32)]\n\
         def drop(cap):\n    h = H(0x20080522, 0); d = (D * 2)()\n    assert libc.capget(ctypes.byref(h), d) == 0\n    d[0].e &= ~(1 << cap)\n    assert libc.capset(ctypes.byref(h), d) == 0, ctypes.get_errno()\n\
         open('{target}').close()\n\
         {change}\n\
         open('{target}').close()\n\
         open('{target}').close()\n"
    )
}

#[test]
fn namespace_changes_compare_with_the_namespaces_at_exec_and_are_told_once() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("ns-changes");
    for name in ["x.mnt-in", "x.mnt-notin"] {
        std::fs::write(dir.join(name), "x").unwrap();
    }
    let changes = |name: &str, suffix: &str, operator: &str| {
        openat_policy(
            name,
            suffix,
            &format!(
                "      matchNamespaceChanges:\n      - operator: {operator}\n        values: [Mnt]\n"
            ),
        )
    };
    let mnt_in = changes("mnt-changed", ".mnt-in", "In");
    let mnt_not_in = changes("other-ns-changed", ".mnt-notin", "NotIn");
    common::runtime().block_on(async {
        let mut source = start(&[&mnt_in, &mnt_not_in], Mode::Enforce);
        // Unshared after the exec: a change, told at the first open after it.
        let unshare = "assert libc.unshare(0x20000) == 0  # CLONE_NEWNS";
        let changed = python(&dir, &[], &open_change_open("x.mnt-in", unshare));
        let other = python(&dir, &[], &open_change_open("x.mnt-notin", unshare));
        // Unshared before the exec (unshare(1) execs python): what it has at exec is no change.
        let at_exec = python(
            &dir,
            &["unshare", "--mount"],
            &open_change_open("x.mnt-in", "pass"),
        );
        let events = drain(&mut source);

        let count = |policy: &str, pid| hits_of(&events, policy, pid).len();
        assert_eq!(count("mnt-changed", changed), 1, "once, after the unshare");
        assert_eq!(count("other-ns-changed", other), 0, "only mnt changed");
        assert_eq!(count("mnt-changed", at_exec), 0, "new namespace at exec");

        // Recorded events do not carry the namespaces at exec: what-if does not match.
        let mut what_if = WhatIf::new(&mnt_in, Mode::Enforce).unwrap();
        for event in hits_of(&events, "mnt-changed", changed) {
            assert_eq!(what_if.evaluate(event), None);
        }
    });
}

#[test]
fn capability_changes_compare_with_the_capabilities_at_exec() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("cap-changes");
    for name in ["x.cap-in", "x.cap-notin", "x.cap-notin-admin"] {
        std::fs::write(dir.join(name), "x").unwrap();
    }
    let changes = |name: &str, suffix: &str, operator: &str| {
        openat_policy(
            name,
            suffix,
            &format!(
                "      matchCapabilityChanges:\n      - type: Effective\n        operator: {operator}\n        values: [CAP_SYS_ADMIN]\n"
            ),
        )
    };
    let admin_changed = changes("admin-changed", ".cap-in", "In");
    let others_changed = changes("others-changed", ".cap-notin", "NotIn");
    let others_admin = changes("others-changed-admin", ".cap-notin-admin", "NotIn");
    common::runtime().block_on(async {
        let mut source = start(
            &[&admin_changed, &others_changed, &others_admin],
            Mode::Enforce,
        );
        // CAP_SYS_ADMIN (21) leaves the effective set after the exec.
        let admin = python(&dir, &[], &open_change_open("x.cap-in", "drop(21)"));
        // CAP_CHOWN (0) leaves it: another capability changed.
        let chown = python(&dir, &[], &open_change_open("x.cap-notin", "drop(0)"));
        // CAP_SYS_ADMIN leaves it: NotIn does not match.
        let both = python(
            &dir,
            &[],
            &open_change_open("x.cap-notin-admin", "drop(21)"),
        );
        // Nothing changes.
        let steady = python(&dir, &[], &open_change_open("x.cap-in", "pass"));
        let events = drain(&mut source);

        let count = |policy: &str, pid| hits_of(&events, policy, pid).len();
        assert_eq!(count("admin-changed", admin), 1, "once, after the drop");
        assert_eq!(count("others-changed", chown), 1);
        assert_eq!(count("others-changed-admin", both), 0);
        assert_eq!(count("admin-changed", steady), 0);
    });
}

#[test]
fn return_actions_run_when_the_return_value_matches() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("return-actions");
    std::fs::write(dir.join("x.opened"), "x").unwrap();
    // Kills the opener once openat has returned an fd; a failed open (ENOENT) lives on.
    let kill_on_open = policy(
        "kill-on-open",
        "  kprobes:\n  - call: sys_openat\n    syscall: true\n    return: true\n    args:\n    - index: 1\n      type: string\n    returnArg:\n      index: 0\n      type: int\n    selectors:\n    - matchArgs:\n      - index: 1\n        operator: Postfix\n        values: [\".opened\"]\n      matchReturnArgs:\n      - index: 0\n        operator: GT\n        values: [\"-1\"]\n      matchReturnActions:\n      - action: Sigkill\n",
    );
    common::runtime().block_on(async {
        let mut source = start(&[&kill_on_open], Mode::Enforce);
        let (opened, opened_out) = run(&dir, "/usr/bin/head", &["-c", "1", "x.opened"]);
        let (missing, missing_out) = run(&dir, "/usr/bin/head", &["-c", "1", "y.opened"]);
        let events = drain(&mut source);

        assert_eq!(opened_out.status.signal(), Some(9), "{opened_out:?}");
        assert!(opened_out.stdout.is_empty(), "killed before it read");
        assert_eq!(missing_out.status.code(), Some(1), "{missing_out:?}");
        let hits = hits_of(&events, "kill-on-open", opened);
        assert_eq!(hits.len(), 1);
        let EventBody::ProcessKprobe(hit) = &hits[0].body else {
            panic!("{:?}", hits[0]);
        };
        assert_eq!(hit.action, "KPROBE_ACTION_SIGKILL");
        assert!(hits_of(&events, "kill-on-open", missing).is_empty());
    });
}

#[test]
fn file_types_select_the_files_installed_by_their_type() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("file-types");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("plain.txt"), "x").unwrap();
    let by_type = |name: &str, operator: &str| {
        policy(
            name,
            &format!(
                "  kprobes:\n  - call: fd_install\n    syscall: false\n    args:\n    - index: 0\n      type: int\n    - index: 1\n      type: file\n    selectors:\n    - matchArgs:\n      - index: 1\n        operator: {operator}\n        values: [dir]\n"
            ),
        )
    };
    let dirs = by_type("dirs", "FileType");
    let not_dirs = by_type("not-dirs", "NotFileType");
    common::runtime().block_on(async {
        let mut source = start(&[&dirs, &not_dirs], Mode::Enforce);
        let (lister, listed) = run(&dir, "/usr/bin/ls", &["sub"]);
        let (reader, read) = run(&dir, "/usr/bin/head", &["-c", "1", "plain.txt"]);
        let events = drain(&mut source);
        assert!(listed.status.success() && read.status.success());

        let paths = |policy: &str, pid| -> Vec<String> {
            hits_of(&events, policy, pid)
                .iter()
                .filter_map(|event| match &event.body {
                    EventBody::ProcessKprobe(hit) => {
                        hit.args[1]["file_arg"]["path"].as_str().map(str::to_owned)
                    }
                    _ => None,
                })
                .collect()
        };
        let sub = dir.join("sub").display().to_string();
        let plain = dir.join("plain.txt").display().to_string();
        assert!(
            paths("dirs", lister).contains(&sub),
            "{:?}",
            paths("dirs", lister)
        );
        // head opens directories too (its locale's), never its file as one.
        assert!(!paths("dirs", reader).contains(&plain));
        assert!(paths("not-dirs", reader).contains(&plain));
        assert!(!paths("not-dirs", lister).contains(&sub));
    });
}

/// Compiles a program that calls dup(1) natively (x64 dup = 32) and through the ia32 entry
/// (`int $0x80`, i386 dup = 41, x64's socket).
fn dup_both_abis(dir: &Path) -> String {
    let source = dir.join("dup-abis.c");
    std::fs::write(
        &source,
        "#include <unistd.h>\n\
         int main(void) {\n\
             int native = dup(1);\n\
             long compat;\n\
             __asm__ volatile(\"int $0x80\" : \"=a\"(compat) : \"a\"(41L), \"b\"(1L)\n\
                              : \"memory\", \"r8\", \"r9\", \"r10\", \"r11\");\n\
             return native < 0 || compat < 0;\n\
         }\n",
    )
    .unwrap();
    let binary = dir.join("dup-abis");
    let out = Command::new("cc")
        .arg("-O1")
        .arg("-o")
        .arg(&binary)
        .arg(&source)
        .output()
        .unwrap();
    assert!(out.status.success(), "cc: {out:?}");
    binary.display().to_string()
}

/// The `syscall_id` of a `raw_syscalls/sys_enter` event's first argument: (id, abi).
fn syscall_id(event: &Event) -> (u64, String) {
    let EventBody::ProcessTracepoint(tracepoint) = &event.body else {
        panic!("not a tracepoint event: {event:?}");
    };
    let id = &tracepoint.args[0]["syscall_id"];
    (
        id["id"].as_u64().unwrap(),
        id["abi"].as_str().unwrap().into(),
    )
}

#[cfg(target_arch = "x86_64")]
#[test]
fn ia32_syscalls_carry_the_32bit_mark_and_match_their_list_entries() {
    if !require_root() {
        return;
    }
    let emulated = Command::new("sh")
        .args([
            "-c",
            "zcat /proc/config.gz | grep -q '^CONFIG_IA32_EMULATION=y'",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !emulated {
        eprintln!("skipped: no CONFIG_IA32_EMULATION");
        return;
    }
    let dir = marker_dir("ia32");
    let binary = dup_both_abis(&dir);
    let sys_enter = |name: &str, values: &str, selector: &str| {
        policy(
            name,
            &format!(
                "  lists:\n  - name: calls\n    type: syscalls\n    values: [{values}]\n  tracepoints:\n  - subsystem: raw_syscalls\n    event: sys_enter\n    args:\n    - index: 4\n      type: syscall64\n    selectors:\n    - matchBinaries:\n      - operator: In\n        values: [\"{binary}\"]\n{selector}"
            ),
        )
    };
    let in_list = |name: &str, values: &str| {
        sys_enter(
            name,
            values,
            "      matchArgs:\n      - index: 0\n        operator: InMap\n        values: [\"list:calls\"]\n",
        )
    };
    let both = in_list("dups-both-abis", "sys_dup, __ia32_sys_dup");
    let compat = in_list("dup-i386", "\"i386/sys_dup\"");
    let native = in_list("dup-x64", "sys_dup");
    let socket = in_list("socket-x64", "sys_socket");
    let every = sys_enter("every-syscall", "sys_dup", "");
    common::runtime().block_on(async {
        let mut source = start(&[&both, &compat, &native, &socket, &every], Mode::Enforce);
        let (pid, out) = run(&dir, &binary, &[]);
        assert!(out.status.success(), "{out:?}");
        let events = drain(&mut source);

        let ids = |policy: &str| -> Vec<(u64, String)> {
            hits_of(&events, policy, pid)
                .into_iter()
                .map(syscall_id)
                .collect()
        };
        let (x64_dup, i386_dup) = ((32, "x64".to_owned()), (41, "i386".to_owned()));
        assert_eq!(ids("dups-both-abis"), [x64_dup.clone(), i386_dup.clone()]);
        assert_eq!(ids("dup-i386"), std::slice::from_ref(&i386_dup));
        assert_eq!(ids("dup-x64"), std::slice::from_ref(&x64_dup));
        assert!(
            ids("socket-x64").is_empty(),
            "i386 dup has x64 socket's number"
        );
        let all = ids("every-syscall");
        assert!(all.contains(&i386_dup) && all.contains(&x64_dup), "{all:?}");
        assert_eq!(all.iter().filter(|(_, abi)| abi == "i386").count(), 1);

        // What-if reads the ABI of recorded ids and decides as the kernel did.
        for policy in [&both, &compat, &native, &socket] {
            let mut what_if = WhatIf::new(policy, Mode::Enforce).unwrap();
            let matched: Vec<_> = hits_of(&events, "every-syscall", pid)
                .into_iter()
                .filter(|e| what_if.evaluate(e).is_some())
                .map(syscall_id)
                .collect();
            assert_eq!(matched, ids(&policy.name), "what-if of {}", policy.name);
        }
    });
}

/// killer.yaml on a copy of bash (the example names /usr/bin/bash: other shells of the machine
/// must not die of this test).
fn killer(bash: &str) -> TracingPolicy {
    let example = common::shared_dir().join("policies/tetragon-examples/killer.yaml");
    let text = std::fs::read_to_string(example)
        .unwrap()
        .replace("\"/usr/bin/bash\"", &format!("\"{bash}\""));
    policy::parse_str(&text, None).unwrap().remove(0)
}

#[test]
fn notify_enforcer_with_sigkill_kills_the_binary_at_its_dup() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("killer");
    let bash = dir.join("bash");
    std::fs::copy("/usr/bin/bash", &bash).unwrap();
    let bash = bash.display().to_string();
    let killer = killer(&bash);
    let script = "exec 3>&1; echo survived";
    common::runtime().block_on(async {
        let mut source = start(&[&killer], Mode::Enforce);
        // bash's `exec 3>&1` is dup2(1, 3).
        let (killed, out) = run(&dir, &bash, &["-c", script]);
        let (spared, dash) = run(&dir, "/usr/bin/dash", &["-c", script]);
        let events = drain(&mut source);
        source.refresh_policy_counters();
        let counters = source.policies().get("kill-syscalls").unwrap().counters;

        assert_eq!(out.status.signal(), Some(9), "{out:?}");
        assert!(out.stdout.is_empty(), "killed before the echo: {out:?}");
        assert!(
            dash.status.success() && dash.stdout == b"survived\n",
            "{dash:?}"
        );
        let kills = hits_of(&events, "kill-syscalls", killed);
        assert_eq!(kills.len(), 1, "{kills:#?}");
        assert_eq!(syscall_id(kills[0]), (33, "x64".to_owned()), "dup2");
        assert!(hits_of(&events, "kill-syscalls", spared).is_empty());
        assert_eq!((counters.signals, counters.would_signals), (1, 0));
    });
    // Monitor mode: the kill is counted, not done.
    common::runtime().block_on(async {
        let mut source = start(&[&killer], Mode::Monitor);
        let (pid, out) = run(&dir, &bash, &["-c", script]);
        let events = drain(&mut source);
        source.refresh_policy_counters();
        let counters = source.policies().get("kill-syscalls").unwrap().counters;

        assert!(
            out.status.success() && out.stdout == b"survived\n",
            "{out:?}"
        );
        assert!(!hits_of(&events, "kill-syscalls", pid).is_empty());
        assert_eq!(counters.signals, 0);
        assert!(counters.would_signals >= 1, "{counters:?}");
    });
}
