//! The live policy engine in-process, and policies written inline, for the policy tests.
use tetrascope::{
    policy::{
        self,
        model::{Mode, TracingPolicy},
        store::{PolicySource, PolicyStatus},
    },
    sensor::SensorOptions,
    source::local::LocalSource,
};

/// A policy named `name` whose spec is `spec` (YAML indented under `spec:`).
pub fn policy(name: &str, spec: &str) -> TracingPolicy {
    let text = format!(
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: {name}\nspec:\n{spec}"
    );
    policy::parse_str(&text, None).unwrap().remove(0)
}

/// A policy on openat(2) of files whose name ends in `suffix`; `selector` adds fields to its
/// selector (YAML indented under it, e.g. its `matchActions`).
pub fn openat_policy(name: &str, suffix: &str, selector: &str) -> TracingPolicy {
    policy(
        name,
        &format!(
            "  kprobes:\n  - call: sys_openat\n    syscall: true\n    args:\n    - index: 1\n      type: string\n    selectors:\n    - matchArgs:\n      - index: 1\n        operator: Postfix\n        values: [\"{suffix}\"]\n{selector}"
        ),
    )
}

/// The live engine with `policies` loaded in `mode`, without the file and syscall observations.
pub fn start(policies: &[&TracingPolicy], mode: Mode) -> LocalSource {
    let options = SensorOptions {
        syscalls: false,
        files: false,
    };
    let (mut source, _, _) = LocalSource::start("engine".into(), options).unwrap();
    for policy in policies {
        let entry = source
            .add_policy((*policy).clone(), PolicySource::Api, Some(mode))
            .unwrap();
        assert_eq!(entry.status, PolicyStatus::Enabled, "{:?}", entry.problems);
    }
    source
}
