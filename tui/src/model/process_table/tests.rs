//! Lineage rules on synthetic records (the real-kernel tests live in the tests crate).
use super::*;
use crate::event::EventBody;

const NODE: &str = "node-a";
const SEC: u64 = 1_000_000_000;

fn table() -> ProcessTable {
    let mut host = [0; NS_RECORD_SLOTS];
    host[2] = 4026531841;
    ProcessTable::new(NODE.into(), BootClock::with_boot_time(0), host)
}

fn image(ktime: u64, pid: u32, ppid: u32, binary: &str, args: &[&str]) -> ProcessImage {
    let mut ns = [0; NS_RECORD_SLOTS];
    ns[2] = 4026531841;
    ProcessImage {
        ktime,
        pid,
        ppid,
        uid: 1000,
        auid: u32::MAX,
        ns_pid: pid,
        binary: binary.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        cwd: Some("/home/me".into()),
        origin: ProcessOrigin::Exec,
        error_flags: 0,
        ns,
        cgroup_id: 0,
        docker: String::new(),
    }
}

fn seeded_shell(t: &mut ProcessTable) -> String {
    let mut shell = image(SEC, 100, 1, "/usr/bin/bash", &[]);
    shell.origin = ProcessOrigin::ProcFs;
    let mut init = image(1, 1, 0, "/sbin/init", &[]);
    init.origin = ProcessOrigin::ProcFs;
    init.cwd = Some("/".into());
    t.seed(vec![shell, init]);
    t.current(100).unwrap().exec_id.clone()
}

fn exec_of(event: Option<Event>) -> ProcessExec {
    match event.expect("an event").body {
        EventBody::ProcessExec(e) => e,
        other => panic!("expected an exec, got {other:?}"),
    }
}

fn exit_of(event: Option<Event>) -> ProcessExit {
    match event.expect("an event").body {
        EventBody::ProcessExit(e) => e,
        other => panic!("expected an exit, got {other:?}"),
    }
}

#[test]
fn seeded_processes_link_to_their_real_parents() {
    let mut t = table();
    seeded_shell(&mut t);
    let shell = t.current(100).unwrap();
    let init = t.current(1).unwrap();
    assert_eq!(shell.parent_exec_id, init.exec_id);
    assert_eq!(shell.flags, "procFS");
    assert_eq!(init.flags, "procFS rootcwd");
    assert_eq!(init.parent_exec_id, "");
}

#[test]
fn shell_call_out_versus_direct_exec() {
    let mut t = table();
    let shell = seeded_shell(&mut t);

    // shell forks; the child execs bash -c "pwd -L"; bash execs pwd in place (no fork).
    t.apply(SensorRecord::Clone {
        ktime: 2 * SEC,
        pid: 200,
        ppid: 100,
    });
    let bash = exec_of(t.apply(SensorRecord::Exec(image(
        2 * SEC + 10,
        200,
        100,
        "/bin/bash",
        &["-p", "-c", "/usr/bin/pwd -L"],
    ))));
    let bash_process = bash.process.unwrap();
    assert_eq!(bash_process.parent_exec_id, shell);
    assert_eq!(bash.parent.unwrap().exec_id, shell);
    assert_eq!(bash_process.flags, "execve clone");
    assert_eq!(bash_process.arguments, r#"-p -c "/usr/bin/pwd -L""#);
    assert_eq!(bash_process.exec_id, exec_id(NODE, 2 * SEC + 10, 200));

    let pwd = exec_of(t.apply(SensorRecord::Exec(image(
        2 * SEC + 20,
        200,
        100,
        "/usr/bin/pwd",
        &["-L"],
    ))));
    let pwd_process = pwd.process.unwrap();
    assert_eq!(
        pwd_process.parent_exec_id, bash_process.exec_id,
        "re-exec links to the previous image"
    );
    assert_eq!(pwd_process.flags, "execve");
    assert_eq!(pwd.parent.unwrap().binary, "/bin/bash");

    // shell forks and execs pwd -P directly.
    t.apply(SensorRecord::Clone {
        ktime: 3 * SEC,
        pid: 201,
        ppid: 100,
    });
    let direct = exec_of(t.apply(SensorRecord::Exec(image(
        3 * SEC + 10,
        201,
        100,
        "/usr/bin/pwd",
        &["-P"],
    ))));
    assert_eq!(direct.process.unwrap().parent_exec_id, shell);

    let exit = exit_of(t.apply(SensorRecord::Exit {
        ktime: 4 * SEC,
        pid: 200,
        exit_code: 0,
    }));
    assert_eq!(exit.process.unwrap().binary, "/usr/bin/pwd");
    assert_eq!(exit.parent.unwrap().binary, "/bin/bash");
    assert_eq!((exit.signal.as_str(), exit.status), ("", 0));
}

#[test]
fn exit_status_and_signals() {
    let mut t = table();
    seeded_shell(&mut t);
    t.apply(SensorRecord::Clone {
        ktime: 2 * SEC,
        pid: 300,
        ppid: 100,
    });
    t.apply(SensorRecord::Exec(image(
        2 * SEC + 1,
        300,
        100,
        "/usr/bin/sleep",
        &["9"],
    )));
    let killed = exit_of(t.apply(SensorRecord::Exit {
        ktime: 3 * SEC,
        pid: 300,
        exit_code: 9,
    }));
    assert_eq!((killed.signal.as_str(), killed.status), ("SIGKILL", 0));

    t.apply(SensorRecord::Clone {
        ktime: 4 * SEC,
        pid: 301,
        ppid: 100,
    });
    t.apply(SensorRecord::Exec(image(
        4 * SEC + 1,
        301,
        100,
        "/usr/bin/bash",
        &["-c", "exit 3"],
    )));
    let three = exit_of(t.apply(SensorRecord::Exit {
        ktime: 5 * SEC,
        pid: 301,
        exit_code: 3 << 8,
    }));
    assert_eq!((three.signal.as_str(), three.status), ("", 3));

    // A core dump sets bit 7 on top of the signal.
    t.apply(SensorRecord::Clone {
        ktime: 6 * SEC,
        pid: 302,
        ppid: 100,
    });
    let segv = exit_of(t.apply(SensorRecord::Exit {
        ktime: 7 * SEC,
        pid: 302,
        exit_code: 0x80 | 11,
    }));
    assert_eq!(segv.signal, "SIGSEGV");
}

#[test]
fn a_clone_that_never_execs_exits_as_its_clone_entry() {
    let mut t = table();
    let shell = seeded_shell(&mut t);
    t.apply(SensorRecord::Clone {
        ktime: 2 * SEC,
        pid: 400,
        ppid: 100,
    });
    let exit = exit_of(t.apply(SensorRecord::Exit {
        ktime: 3 * SEC,
        pid: 400,
        exit_code: 0,
    }));
    let process = exit.process.unwrap();
    assert_eq!(process.exec_id, exec_id(NODE, 2 * SEC, 400));
    assert_eq!(process.parent_exec_id, shell);
    assert_eq!(
        process.binary, "/usr/bin/bash",
        "a clone carries its parent's image"
    );
    assert_eq!(process.flags, "clone");
}

#[test]
fn unknown_parents_are_marked_miss_and_unknown_exits_counted() {
    let mut t = table();
    let orphan = exec_of(t.apply(SensorRecord::Exec(image(
        SEC,
        500,
        499,
        "/usr/bin/true",
        &[],
    ))));
    assert_eq!(orphan.process.unwrap().flags, "execve miss");
    assert!(orphan.parent.is_none());
    assert!(
        t.apply(SensorRecord::Exit {
            ktime: SEC,
            pid: 12345,
            exit_code: 0
        })
        .is_none()
    );
    assert_eq!(t.stats().unknown_exits, 1);
}

#[test]
fn relative_binaries_resolve_against_the_cwd_and_namespaces_are_marked() {
    let mut t = table();
    seeded_shell(&mut t);
    let mut img = image(2 * SEC, 600, 100, "./run.sh", &["a b", "c"]);
    img.ns[4] = 77;
    let exec = exec_of(t.apply(SensorRecord::Exec(img))).process.unwrap();
    assert_eq!(exec.binary, "/home/me/run.sh");
    assert_eq!(exec.arguments, r#""a b" c"#);
    let ns = exec.ns.unwrap();
    assert!(ns.mnt.unwrap().is_host);
    assert!(!ns.net.unwrap().is_host);
    assert!(ns.uts.is_none());
}

#[test]
fn the_seed_race_keeps_the_proc_entry() {
    let mut t = table();
    seeded_shell(&mut t);
    let mut seen = image(5 * SEC, 700, 100, "/usr/bin/sleep", &["1"]);
    seen.origin = ProcessOrigin::ProcFs;
    t.seed(vec![seen]);
    let before = t.current(700).unwrap().exec_id.clone();
    // The clone record was already in the ring when /proc was read.
    t.apply(SensorRecord::Clone {
        ktime: 5 * SEC + 3_000_000,
        pid: 700,
        ppid: 100,
    });
    assert_eq!(t.current(700).unwrap().exec_id, before);
}

#[test]
fn exited_entries_stay_resolvable_while_children_live_then_go() {
    let mut t = table();
    seeded_shell(&mut t);
    t.apply(SensorRecord::Clone {
        ktime: 2 * SEC,
        pid: 800,
        ppid: 100,
    });
    t.apply(SensorRecord::Exec(image(
        2 * SEC + 1,
        800,
        100,
        "/usr/bin/make",
        &[],
    )));
    t.apply(SensorRecord::Clone {
        ktime: 3 * SEC,
        pid: 801,
        ppid: 800,
    });
    t.apply(SensorRecord::Exec(image(
        3 * SEC + 1,
        801,
        800,
        "/usr/bin/cc",
        &[],
    )));
    t.apply(SensorRecord::Exit {
        ktime: 4 * SEC,
        pid: 800,
        exit_code: 0,
    });

    // Long after the parent exited, the child's exit still names it.
    let exit = exit_of(t.apply(SensorRecord::Exit {
        ktime: 100 * SEC,
        pid: 801,
        exit_code: 0,
    }));
    assert_eq!(exit.parent.unwrap().binary, "/usr/bin/make");
    let tracked = t.stats().tracked;

    // A grace period later both are gone; the seeded shell and init remain.
    t.apply(SensorRecord::Exit {
        ktime: 200 * SEC,
        pid: 12345,
        exit_code: 0,
    });
    t.apply(SensorRecord::Exit {
        ktime: 300 * SEC,
        pid: 12345,
        exit_code: 0,
    });
    assert!(t.stats().tracked < tracked);
    assert_eq!(t.stats().tracked, 2);
}

#[test]
fn a_full_table_evicts_the_oldest_released_entries_and_counts_them() {
    let mut t = table().with_capacity(4);
    seeded_shell(&mut t);
    for pid in 1000..1010 {
        let k = u64::from(pid) * SEC;
        t.apply(SensorRecord::Clone {
            ktime: k,
            pid,
            ppid: 100,
        });
        t.apply(SensorRecord::Exit {
            ktime: k + 1,
            pid,
            exit_code: 0,
        });
    }
    assert!(t.stats().tracked <= 4);
    assert!(t.stats().evicted >= 6);
    assert!(
        t.current(100).is_some(),
        "living processes are never evicted"
    );
}
