//! The policy store on the real kernel (root): a bad or unsupported policy never disturbs the
//! ones running, names are unique, and 32 policies load at once.
mod common;

use std::{os::unix::process::ExitStatusExt, process::Command};

use common::require_root;
use tetrascope::{
    policy::{
        self,
        model::Mode,
        store::{PolicySource, PolicyStatus},
    },
    sensor::SensorOptions,
    source::local::LocalSource,
};

#[test]
fn unsupported_and_duplicate_policies_leave_the_running_one_alone() {
    if !require_root() {
        return;
    }
    common::runtime().block_on(async {
        let (mut source, _, _) =
            LocalSource::start("store".into(), SensorOptions::default()).unwrap();
        let iris = common::shared_policy("iris-read-file-sigkill.yaml");
        let entry = source
            .add_policy(iris.clone(), PolicySource::Api, Some(Mode::Enforce))
            .unwrap();
        assert_eq!(entry.status, PolicyStatus::Enabled);

        let duplicate = source.add_policy(iris.clone(), PolicySource::Api, None);
        assert!(matches!(duplicate, Err(e) if e.contains("loaded already")));
        let usdt = source
            .add_policy(
                common::shared_policy("tetragon-examples/usdt.yaml"),
                PolicySource::Api,
                None,
            )
            .unwrap();
        assert_eq!(usdt.status, PolicyStatus::Unsupported);
        assert!(
            usdt.problems[0].contains("USDT hooks are not implemented"),
            "{:?}",
            usdt.problems
        );
        assert!(source.set_policy_mode("usdts", Mode::Enforce).is_err());

        std::fs::create_dir_all("/usr/irissys/mgr").unwrap();
        std::fs::write("/usr/irissys/mgr/iris.key", "KEY\n").unwrap();
        let reader = Command::new("/usr/bin/head")
            .arg("/usr/irissys/mgr/iris.key")
            .output()
            .unwrap();
        assert_eq!(
            reader.status.signal(),
            Some(libc::SIGKILL),
            "still enforced"
        );

        source.disarm_all();
        let reader = Command::new("/usr/bin/head")
            .arg("/usr/irissys/mgr/iris.key")
            .output()
            .unwrap();
        assert!(reader.status.success(), "disarmed: monitor only");
        source.refresh_policy_counters();
        let counters = source.policies().get(&iris.name).unwrap().counters;
        assert_eq!(counters.signals, 1, "{counters:?}");
        assert!(counters.would_signals >= 1, "{counters:?}");
    });
}

#[test]
fn thirty_two_policies_load_at_once_and_unload_cleanly() {
    if !require_root() {
        return;
    }
    common::runtime().block_on(async {
        let (mut source, _, _) =
            LocalSource::start("store".into(), SensorOptions::default()).unwrap();
        let template = policy::load_file(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/policies/openat-postfix-binary-kill.yaml"
        )))
        .unwrap()
        .remove(0);
        for round in 0..2 {
            for i in 0..32 {
                let mut policy = template.clone();
                policy.name = format!("copy-{i}");
                let entry = source
                    .add_policy(policy, PolicySource::Api, Some(Mode::Monitor))
                    .unwrap();
                assert_eq!(
                    entry.status,
                    PolicyStatus::Enabled,
                    "round {round}, policy {i}: {:?}",
                    entry.problems
                );
            }
            for i in 0..32 {
                source.remove_policy(&format!("copy-{i}")).unwrap();
            }
            assert!(source.policies().entries().is_empty());
        }
    });
}

/// A Sigkill policy hooking a copy of bash (uprobes and matchBinaries see that copy only).
fn kill_policy(name: &str, spec: &str) -> policy::model::TracingPolicy {
    let text = format!(
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: {name}\nspec:\n{spec}"
    );
    policy::parse_str(&text, None).unwrap().remove(0)
}

#[test]
fn tracepoint_and_uprobe_hooks_detach_with_their_policy() {
    if !require_root() {
        return;
    }
    let dir = common::marker_dir("store-detach");
    let bash = dir.join("bash-copy");
    std::fs::copy("/bin/bash", &bash).unwrap();
    let bash = bash.display().to_string();
    let actions = "      matchActions:\n      - action: Sigkill\n";
    let uprobe = kill_policy(
        "uprobe-main",
        &format!(
            "  uprobes:\n  - path: \"{bash}\"\n    symbols: [main]\n    selectors:\n    - matchPIDs:\n      - operator: NotIn\n        values: [1]\n{actions}"
        ),
    );
    let tracepoint = kill_policy(
        "tp-exit",
        &format!(
            "  tracepoints:\n  - subsystem: raw_syscalls\n    event: sys_enter\n    selectors:\n    - matchBinaries:\n      - operator: In\n        values: [\"{bash}\"]\n{actions}"
        ),
    );
    let run = || Command::new(&bash).args(["-c", "exit 0"]).status().unwrap();
    common::runtime().block_on(async {
        let (mut source, _, _) =
            LocalSource::start("store".into(), SensorOptions::default()).unwrap();
        for round in 0..2 {
            for policy in [&uprobe, &tracepoint] {
                let entry = source
                    .add_policy(policy.clone(), PolicySource::Api, Some(Mode::Enforce))
                    .unwrap();
                assert_eq!(entry.status, PolicyStatus::Enabled, "{:?}", entry.problems);
            }
            assert_eq!(run().signal(), Some(libc::SIGKILL), "round {round}: both");
            source.remove_policy("uprobe-main").unwrap();
            assert_eq!(
                run().signal(),
                Some(libc::SIGKILL),
                "round {round}: tracepoint"
            );
            source.remove_policy("tp-exit").unwrap();
            assert!(run().success(), "round {round}: both detached");
        }
    });
}
