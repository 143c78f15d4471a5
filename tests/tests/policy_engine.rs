//! Selector and action semantics of the policy engine on the real kernel (root), with real
//! processes: `rateLimit` on Post, InMap/NotInMap on syscall ids, matchBinaries' followChildren,
//! and what-if giving the same answer on the same calls.
mod common;

use std::{collections::BTreeMap, path::Path, process::Command};

use common::{
    engine::{openat_policy, policy, start},
    marker_dir, require_root,
};
use tetrascope::{
    event::{Event, EventBody},
    policy::{self, hit_event::policy_name, model::Mode, what_if::WhatIf},
    source::local::LocalSource,
};

/// An openat policy's selector tail that posts.
const POST: &str = "      matchActions:\n      - action: Post\n";

/// Everything the probes reported so far, as events.
fn drain(source: &mut LocalSource) -> Vec<Event> {
    let mut events = Vec::new();
    source.drain(&mut events);
    events
}

/// The events of `policy` from processes whose pid is in `pids`.
fn hits_of<'a>(events: &'a [Event], policy: &str, pids: &[u32]) -> Vec<&'a Event> {
    events
        .iter()
        .filter(|e| policy_name(e) == Some(policy))
        .filter(|e| {
            e.process()
                .and_then(|p| p.pid)
                .is_some_and(|p| pids.contains(&p))
        })
        .collect()
}

/// Runs a Python script in `dir`; its pid.
fn python(dir: &Path, script: &str) -> u32 {
    python_as(dir, "/usr/bin/python3", script)
}

/// Runs a Python script with the interpreter `binary` in `dir`; its pid.
fn python_as(dir: &Path, binary: &str, script: &str) -> u32 {
    let child = Command::new(binary)
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
    let every = openat_policy("rate-every", ".rate-target", POST);
    let limited = openat_policy(
        "rate-limited",
        ".rate-target",
        "      matchActions:\n      - action: Post\n        rateLimit: 2s\n        rateLimitScope: process\n",
    );
    common::runtime().block_on(async {
        let mut source = start(&[&every, &limited], Mode::Enforce);
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

/// The syscall id (first argument) of a `raw_syscalls/sys_enter` event, as `syscall64` or as an
/// integer type shows it.
fn syscall_id(event: &Event) -> u64 {
    let EventBody::ProcessTracepoint(tracepoint) = &event.body else {
        panic!("not a tracepoint event: {event:?}");
    };
    let arg = &tracepoint.args[0];
    arg.pointer("/syscall_id/id")
        .and_then(|id| id.as_u64())
        .or_else(|| arg["size_arg"].as_str().and_then(|id| id.parse().ok()))
        .unwrap_or_else(|| panic!("no syscall id in {arg}"))
}

/// How many events there are of each syscall id.
fn by_syscall<'a>(events: impl IntoIterator<Item = &'a Event>) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    for event in events {
        *counts.entry(syscall_id(event)).or_default() += 1;
    }
    counts
}

#[test]
fn in_map_catches_exactly_the_listed_syscalls_and_not_in_map_the_others() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("in-map");
    let interpreter = dir.join("py-in-map");
    std::fs::copy("/usr/bin/python3", &interpreter).unwrap();
    let interpreter = interpreter.display().to_string();
    // Tetragon's example: InMap of a syscall list (dup, dup2) on raw_syscalls' id, any process.
    let listed = common::shared_policy("tetragon-examples/list-syscalls-tracepoint.yaml");
    let sys_enter = |name: &str, selector: &str| {
        policy(
            name,
            &format!(
                "  lists:\n  - name: dups\n    type: syscalls\n    values: [sys_dup, sys_dup2]\n  tracepoints:\n  - subsystem: raw_syscalls\n    event: sys_enter\n    args:\n    - index: 4\n      type: syscall64\n    selectors:\n    - matchBinaries:\n      - operator: In\n        values: [\"{interpreter}\"]\n{selector}"
            ),
        )
    };
    let others = sys_enter(
        "not-in-map",
        "      matchArgs:\n      - index: 0\n        operator: NotInMap\n        values: [\"list:dups\"]\n",
    );
    let every = sys_enter("every-syscall", "");
    common::runtime().block_on(async {
        let mut source = start(&[&listed, &others, &every], Mode::Enforce);
        let pid = python_as(
            &dir,
            &interpreter,
            // Through libc: os.dup() calls fcntl(F_DUPFD_CLOEXEC).
            "import ctypes\nlibc = ctypes.CDLL(None)\nlibc.dup(0)\nlibc.dup2(0, 10)\nlibc.dup2(0, 11)",
        );
        let events = drain(&mut source);

        let all = by_syscall(hits_of(&events, "every-syscall", &[pid]));
        let (dup, dup2) = (32, 33);
        let count = |id| all.get(&id).copied().unwrap_or(0);
        assert!(count(dup) >= 1 && count(dup2) >= 2, "{all:?} in {} events", events.len());
        let in_map = by_syscall(hits_of(&events, "list-syscalls-tracepoint", &[pid]));
        let mut expected = all.clone();
        expected.retain(|id, _| [dup, dup2].contains(id));
        assert_eq!(in_map, expected, "InMap: every dup and dup2, nothing else");
        let not_in_map = by_syscall(hits_of(&events, "not-in-map", &[pid]));
        let mut expected = all.clone();
        expected.retain(|id, _| ![dup, dup2].contains(id));
        assert!(expected.len() > 5, "python makes many other syscalls: {expected:?}");
        assert_eq!(not_in_map, expected, "NotInMap: every other syscall");

        // What-if on every syscall of the process decides as the kernel did.
        for (policy, live) in [(&listed, &in_map), (&others, &not_in_map)] {
            let mut what_if = WhatIf::new(policy, Mode::Enforce).unwrap();
            let matched = by_syscall(
                hits_of(&events, "every-syscall", &[pid])
                    .into_iter()
                    .filter(|event| what_if.evaluate(event).is_some()),
            );
            assert_eq!(&matched, live, "what-if of {}", policy.name);
        }
    });
}

#[test]
fn follow_children_catches_what_the_binary_forks_after_the_load_only() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("follow-children");
    let target = dir.join("x.follow-target");
    std::fs::write(&target, "x").unwrap();
    let target = target.display().to_string();
    let shell = dir.join("sh-follow");
    std::fs::copy("/usr/bin/dash", &shell).unwrap();
    let shell = shell.display().to_string();
    // A child of the shell forked before the load: it opens the target once told to.
    let (ready, go) = (dir.join("ready"), dir.join("go"));
    let waiting = format!(
        "import os, time\nopen('{}', 'w').close()\nwhile not os.path.exists('{}'): time.sleep(0.05)\nopen('{target}').close()",
        ready.display(),
        go.display()
    );
    let mut early = Command::new(&shell)
        .args(["-c", &format!("/usr/bin/python3 -c \"{waiting}\"; true")])
        .spawn()
        .unwrap();
    while !ready.exists() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let follow = openat_policy("follow-children", ".follow-target", POST)
        .yaml
        .replace(
            "    - matchArgs:",
            &format!(
                "    - matchBinaries:\n      - operator: In\n        values: [\"{shell}\"]\n        followChildren: true\n      matchArgs:"
            ),
        )
        .replace("action: Post", "action: Sigkill");
    let follow = policy::parse_str(&follow, None).unwrap().remove(0);
    let every = openat_policy("follow-every", ".follow-target", POST);
    common::runtime().block_on(async {
        let mut source = start(&[&follow, &every], Mode::Enforce);
        std::fs::write(&go, "").unwrap();
        assert!(early.wait().unwrap().success());
        let direct = Command::new("/usr/bin/cat").arg(&target).output().unwrap();
        let status = dir.join("status");
        let forked = Command::new(&shell)
            .args([
                "-c",
                &format!("/usr/bin/cat {target}; echo $? > {}", status.display()),
            ])
            .status()
            .unwrap();
        let events = drain(&mut source);

        assert!(
            direct.status.success(),
            "not forked by the shell: {direct:?}"
        );
        assert!(forked.success());
        let code = std::fs::read_to_string(&status).unwrap();
        assert_eq!(code.trim(), "137", "the shell's child cat is killed");
        let kills: Vec<_> = events
            .iter()
            .filter(|e| policy_name(e) == Some("follow-children"))
            .collect();
        assert_eq!(kills.len(), 1, "{kills:#?}");
        let killed = kills[0].process().unwrap();
        assert_eq!(killed.binary, "/usr/bin/cat");
        assert_eq!(kills[0].parent().unwrap().binary, shell);

        // What-if, on the same opens and the processes' lineage, kills the same one only.
        let mut what_if = WhatIf::new(&follow, Mode::Enforce).unwrap();
        let matched: Vec<_> = events
            .iter()
            .filter(|e| policy_name(e).is_none_or(|name| name == "follow-every"))
            .filter(|e| what_if.evaluate(e).is_some())
            .collect();
        assert_eq!(matched.len(), 1, "{matched:#?}");
        assert_eq!(matched[0].process().unwrap().exec_id, killed.exec_id);
        let every_open = events
            .iter()
            .filter(|e| policy_name(e) == Some("follow-every"))
            .count();
        assert_eq!(
            every_open, 3,
            "the early child, the direct cat, the forked cat"
        );
    });
}

/// The bytes of a `char_buf` argument as the event carries them: `bytes_arg`, or
/// `truncated_bytes_arg` with the full length; the bytes decoded from base64.
fn buffer_of(event: &Event, position: usize) -> (Vec<u8>, Option<u64>) {
    use base64::{Engine, engine::general_purpose::STANDARD};
    let EventBody::ProcessKprobe(kprobe) = &event.body else {
        panic!("not a kprobe event: {event:?}");
    };
    let arg = &kprobe.args[position];
    let decode = |v: &serde_json::Value| STANDARD.decode(v.as_str().unwrap()).unwrap();
    match arg.get("truncated_bytes_arg") {
        Some(t) => (
            decode(&t["bytes_arg"]),
            Some(t["orig_size"].as_str().unwrap().parse().unwrap()),
        ),
        None => (decode(&arg["bytes_arg"]), None),
    }
}

#[test]
fn char_buf_with_size_arg_carries_the_bytes_written_and_truncates_past_the_cap() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("char-buf");
    let interpreter = dir.join("py-char-buf");
    std::fs::copy("/usr/bin/python3", &interpreter).unwrap();
    let interpreter = interpreter.display().to_string();
    let writes = policy(
        "char-buf-writes",
        &format!(
            "  kprobes:\n  - call: sys_write\n    syscall: true\n    args:\n    - index: 0\n      type: fd\n    - index: 1\n      type: char_buf\n      sizeArgIndex: 3\n    - index: 2\n      type: size_t\n    selectors:\n    - matchBinaries:\n      - operator: In\n        values: [\"{interpreter}\"]\n      matchArgs:\n      - index: 0\n        operator: Postfix\n        values: [\"/written.char-buf\"]\n"
        ),
    );
    let short = b"tetrascope char_buf \x00\xff\x01 end".to_vec();
    let long: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    common::runtime().block_on(async {
        let mut source = start(&[&writes], Mode::Enforce);
        let pid = python_as(
            &dir,
            &interpreter,
            "import os\n\
             fd = os.open('written.char-buf', os.O_WRONLY | os.O_CREAT | os.O_TRUNC)\n\
             os.write(fd, b'tetrascope char_buf \\x00\\xff\\x01 end')\n\
             os.write(fd, bytes(range(256)) * 39 + bytes(range(16)))\n\
             os.close(fd)",
        );
        let events = drain(&mut source);
        let hits = hits_of(&events, "char-buf-writes", &[pid]);
        assert_eq!(hits.len(), 2, "one event per write: {hits:#?}");
        assert_eq!(buffer_of(hits[0], 1), (short.clone(), None));
        let (copied, full) = buffer_of(hits[1], 1);
        assert_eq!(
            full,
            Some(long.len() as u64),
            "the full length of the write"
        );
        assert_eq!(copied.len(), 4096, "the probes' cap");
        assert_eq!(copied, long[..copied.len()]);
        assert_eq!(
            std::fs::read(dir.join("written.char-buf")).unwrap(),
            [short, long].concat(),
            "the writes happened as the events say"
        );
        // What-if replays the events with their bytes and posts them as the probes did.
        let mut what_if = WhatIf::new(&writes, Mode::Enforce).unwrap();
        for event in hits {
            let found = what_if.evaluate(event).expect("the writes match");
            assert!(found.posted);
        }
    });
}

#[test]
fn char_buf_with_return_copy_carries_what_read_returned() {
    if !require_root() {
        return;
    }
    let dir = marker_dir("char-buf-read");
    let interpreter = dir.join("py-char-buf-read");
    std::fs::copy("/usr/bin/python3", &interpreter).unwrap();
    let interpreter = interpreter.display().to_string();
    let content = format!("read back by pid {}\n\u{1}\u{2}", std::process::id());
    std::fs::write(dir.join("read.char-buf"), &content).unwrap();
    let reads = policy(
        "char-buf-reads",
        &format!(
            "  kprobes:\n  - call: sys_read\n    syscall: true\n    return: true\n    args:\n    - index: 0\n      type: fd\n    - index: 1\n      type: char_buf\n      returnCopy: true\n    - index: 2\n      type: size_t\n    returnArg:\n      index: 0\n      type: long\n    selectors:\n    - matchBinaries:\n      - operator: In\n        values: [\"{interpreter}\"]\n      matchArgs:\n      - index: 0\n        operator: Postfix\n        values: [\"/read.char-buf\"]\n"
        ),
    );
    common::runtime().block_on(async {
        let mut source = start(&[&reads], Mode::Enforce);
        // The buffer is larger than the file: what the call returned is what it holds.
        let pid = python_as(
            &dir,
            &interpreter,
            "import os\n\
             fd = os.open('read.char-buf', os.O_RDONLY)\n\
             assert os.read(fd, 1000)\n\
             assert not os.read(fd, 1000)\n\
             os.close(fd)",
        );
        let events = drain(&mut source);
        let hits = hits_of(&events, "char-buf-reads", &[pid]);
        assert_eq!(hits.len(), 2, "one event per read: {hits:#?}");
        assert_eq!(buffer_of(hits[0], 1), (content.into_bytes(), None));
        assert_eq!(buffer_of(hits[1], 1), (Vec::new(), None), "end of file");
    });
}
