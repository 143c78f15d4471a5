//! Process selectors and enforcement of Tetragon's examples on the real kernel (root), with real
//! processes: matchCapabilities with isNamespaceCapability, matchNamespaceChanges and
//! matchCapabilityChanges (against what the process had at exec).
mod common;

use std::{
    path::Path,
    process::{Command, Output},
};

use common::{marker_dir, require_root};
use tetrascope::{
    event::Event,
    policy::{
        self,
        hit_event::policy_name,
        model::{Mode, TracingPolicy},
        store::{PolicySource, PolicyStatus},
        what_if::WhatIf,
    },
    sensor::SensorOptions,
    source::local::LocalSource,
};

fn policy(name: &str, spec: &str) -> TracingPolicy {
    let text = format!(
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: {name}\nspec:\n{spec}"
    );
    policy::parse_str(&text, None).unwrap().remove(0)
}

/// A policy posting openat(2) of files whose name ends in `suffix`, with more selector fields.
fn openat_policy(name: &str, suffix: &str, selector: &str) -> TracingPolicy {
    policy(
        name,
        &format!(
            "  kprobes:\n  - call: sys_openat\n    syscall: true\n    args:\n    - index: 1\n      type: string\n    selectors:\n    - matchArgs:\n      - index: 1\n        operator: Postfix\n        values: [\"{suffix}\"]\n{selector}"
        ),
    )
}

/// The live engine with `policies` loaded in `mode`, without the file and syscall observations.
fn start(policies: &[&TracingPolicy], mode: Mode) -> LocalSource {
    let options = SensorOptions {
        syscalls: false,
        files: false,
    };
    let (mut source, _, _) = LocalSource::start("selectors".into(), options).unwrap();
    for policy in policies {
        let entry = source
            .add_policy((*policy).clone(), PolicySource::Api, Some(mode))
            .unwrap();
        assert_eq!(entry.status, PolicyStatus::Enabled, "{:?}", entry.problems);
    }
    source
}

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
