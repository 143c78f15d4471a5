//! Selector and action semantics of the policy engine on the real kernel (root), with real
//! processes: `rateLimit` on Post, and what-if giving the same answer on the same calls.
mod common;

use std::{path::Path, process::Command};

use common::{marker_dir, require_root};
use tetrascope::{
    event::{Event, EventBody},
    policy::{
        self,
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

/// A policy posting openat(2) of files whose name ends in `suffix`, with extra action fields.
fn openat_policy(name: &str, suffix: &str, post: &str) -> TracingPolicy {
    policy(
        name,
        &format!(
            "  kprobes:\n  - call: sys_openat\n    syscall: true\n    args:\n    - index: 1\n      type: string\n    selectors:\n    - matchArgs:\n      - index: 1\n        operator: Postfix\n        values: [\"{suffix}\"]\n      matchActions:\n      - action: Post{post}\n"
        ),
    )
}

/// The live engine with `policies` loaded (enforce), without the file and syscall observations.
fn start(policies: &[&TracingPolicy]) -> LocalSource {
    let options = SensorOptions {
        syscalls: false,
        files: false,
    };
    let (mut source, _, _) = LocalSource::start("engine".into(), options).unwrap();
    for policy in policies {
        let entry = source
            .add_policy((*policy).clone(), PolicySource::Api, Some(Mode::Enforce))
            .unwrap();
        assert_eq!(entry.status, PolicyStatus::Enabled, "{:?}", entry.problems);
    }
    source
}

/// Everything the probes reported so far, as events.
fn drain(source: &mut LocalSource) -> Vec<Event> {
    let mut events = Vec::new();
    source.drain(&mut events);
    events
}

/// The kprobe events of `policy` from processes whose pid is in `pids`.
fn hits_of<'a>(events: &'a [Event], policy: &str, pids: &[u32]) -> Vec<&'a Event> {
    events
        .iter()
        .filter(|e| matches!(&e.body, EventBody::ProcessKprobe(k) if k.policy_name == policy))
        .filter(|e| {
            e.process()
                .and_then(|p| p.pid)
                .is_some_and(|p| pids.contains(&p))
        })
        .collect()
}

/// Runs a Python script in `dir`; its pid.
fn python(dir: &Path, script: &str) -> u32 {
    let child = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .current_dir(dir)
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{script}: {out:?}");
    pid
}

#[test]
fn rate_limited_posts_count_once_per_window_and_scope() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("rate-limit");
    std::fs::write(dir.join("x.rate-target"), "x").unwrap();
    // The same opens, posted every time and rate limited per process.
    let every = openat_policy("rate-every", ".rate-target", "");
    let limited = openat_policy(
        "rate-limited",
        ".rate-target",
        "\n        rateLimit: 2s\n        rateLimitScope: process",
    );
    common::runtime().block_on(async {
        let mut source = start(&[&every, &limited]);
        // Two threads of one process share its window; after the window, one more post.
        let first = python(
            &dir,
            "import threading, time\n\
             def opens():\n    [open('x.rate-target').close() for _ in range(5)]\n\
             for _ in range(2):\n    t = threading.Thread(target=opens); t.start(); t.join()\n\
             time.sleep(2.6)\n\
             open('x.rate-target').close()",
        );
        // Another process has its own window.
        let second = python(&dir, "[open('x.rate-target').close() for _ in range(10)]");
        let events = drain(&mut source);
        source.refresh_policy_counters();
        let counters = source.policies().get("rate-limited").unwrap().counters;

        let all = hits_of(&events, "rate-every", &[first, second]);
        assert_eq!(all.len(), 21, "every open of the target is posted there");
        let posted = hits_of(&events, "rate-limited", &[first]);
        assert_eq!(
            posted.len(),
            2,
            "first process: one per window: {posted:#?}"
        );
        let posted = hits_of(&events, "rate-limited", &[second]);
        assert_eq!(posted.len(), 1, "second process: its own window");
        assert_eq!(counters.rate_limited, 18, "{counters:?}");
        assert_eq!(counters.posts, 3, "{counters:?}");

        // What-if on the posts of every open says the same of the rate-limited policy.
        let mut what_if = WhatIf::new(&limited, Mode::Enforce).unwrap();
        let (mut would_post, mut held) = (0, 0);
        for event in all {
            let found = what_if.evaluate(event).expect("the opens match");
            would_post += usize::from(found.posted);
            held += usize::from(found.rate_limited);
        }
        assert_eq!(
            (would_post, held),
            (3, 18),
            "what-if agrees with the kernel"
        );
    });
}
