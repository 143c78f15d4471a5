//! Kprobes, kretprobes and LSM hooks on a kernel that has kprobes (Debian's 6.12, booted under
//! qemu by common::vm; our own kernel has none): a kernel function's `struct file *` is read
//! and a reader is killed, a kretprobe reports what `vfs_read` returned, a `struct cred *` is
//! reported as credentials, a `struct sock *` as its connection (selected by its port) and a
//! `struct socket *` and `struct sockaddr *` as the connection and address asked for, and an LSM
//! hook at its `security_` function kills an exec before the program runs.
mod common;

use std::time::Duration;

use common::{
    tetrascope_bin,
    vm::{Vm, start_tetrascope_with},
};
use serde_json::Value;

#[test]
fn kprobes_kretprobes_and_lsm_hooks_observe_and_kill_on_a_kernel_with_kprobes() {
    let Some(vm) = Vm::with_series("6.12") else {
        return;
    };
    let policy = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/policies/vm-kprobes.yaml"
    );
    let vm = vm
        .with_file(tetrascope_bin(), "/usr/bin/tetrascope")
        .with_file(policy, "/root/kprobes.yaml");
    let out = vm.run(
        &(r#"
echo secret > /root/kprobe-secret.txt
printf '0123456789' > /root/kretprobe.txt
cp /bin/busybox /root/lsm-denied
echo "--- policy check"
tetrascope policy check /root/kprobes.yaml
"#
        .to_owned()
            + &start_tetrascope_with("/root/kprobes.yaml", "vm-kprobes")
            + r#"status=0; /bin/busybox cat /root/kprobe-secret.txt > /tmp/secret.out || status=$?
echo "secret reader: $status, $(wc -c < /tmp/secret.out) bytes"
# dd reads (busybox cat would use sendfile, which does not go through vfs_read).
status=0; /bin/busybox dd if=/root/kretprobe.txt of=/dev/null bs=64 || status=$?
echo "kretprobe reader: $status"
status=0; /root/lsm-denied true || status=$?
echo "denied exec: $status"
status=0; /bin/busybox true || status=$?
echo "allowed exec: $status"
/bin/busybox ip link set lo up
/bin/busybox nc -l -p 8099 > /dev/null &
listener=$!
sleep 1
echo hello | /bin/busybox nc 127.0.0.1 8099 || echo "nc: $?"
# No listener: tcp_connect runs all the same, and its DPort selector does not match.
/bin/busybox nc 127.0.0.1 8098 < /dev/null || echo "nc 8098: $?"
kill "$listener" 2>/dev/null || true
sleep 1
kill -INT "$pid"
wait "$pid" || true
echo "--- stderr"
cat /tmp/stderr.txt
echo "--- events"
grep -E '"process_(kprobe|lsm)"' /tmp/events.json || true
"#),
        Duration::from_secs(240),
    );
    eprintln!(
        "{}\nVM: boot {:.1?}, whole run {:.1?}",
        out.stdout, out.boot_time, out.total_time
    );
    assert_eq!(out.exit_status, 0, "{}", out.stdout);
    let said = |line: &str| out.stdout.lines().any(|l| l == line);
    for mechanism in [
        "  spec.kprobes[0] security_file_permission: kprobe security_file_permission",
        "  spec.kprobes[1] vfs_read: kretprobe vfs_read",
        "  spec.kprobes[2] commit_creds: kprobe commit_creds",
        "  spec.kprobes[3] tcp_connect: kprobe tcp_connect",
        "  spec.kprobes[4] security_socket_connect: kprobe security_socket_connect",
        "  spec.lsmhooks[0] bprm_check_security: kprobe security_bprm_check",
    ] {
        assert!(said(mechanism), "no {mechanism:?} in:\n{}", out.stdout);
    }
    assert!(said("secret reader: 137, 0 bytes"), "{}", out.stdout);
    assert!(said("kretprobe reader: 0"), "{}", out.stdout);
    assert!(said("denied exec: 137"), "{}", out.stdout);
    assert!(said("allowed exec: 0"), "{}", out.stdout);

    let events: Vec<Value> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let kprobes: Vec<&Value> = events
        .iter()
        .filter_map(|e| e.get("process_kprobe"))
        .collect();
    let secret = kprobes
        .iter()
        .find(|k| k["function_name"] == "security_file_permission")
        .unwrap_or_else(|| panic!("no security_file_permission hit: {kprobes:#?}"));
    assert_eq!(
        secret["args"][0]["file_arg"]["path"],
        "/root/kprobe-secret.txt"
    );
    assert_eq!(secret["action"], "KPROBE_ACTION_SIGKILL");
    let read = kprobes
        .iter()
        .find(|k| k["function_name"] == "vfs_read" && k["args"][2]["int_arg"] == 10)
        .unwrap_or_else(|| panic!("no vfs_read return of the 10 bytes: {kprobes:#?}"));
    assert_eq!(read["args"][0]["file_arg"]["path"], "/root/kretprobe.txt");
    let creds = kprobes
        .iter()
        .find(|k| k["function_name"] == "commit_creds")
        .unwrap_or_else(|| panic!("no commit_creds hit: {kprobes:#?}"));
    let creds = &creds["args"][0]["process_credentials_arg"];
    assert_eq!(creds["uid"], 0, "{creds}");
    assert!(
        creds["caps"]["effective"]
            .as_array()
            .is_some_and(|caps| caps.iter().any(|c| c == "CAP_SYS_ADMIN")),
        "{creds}"
    );
    let connects: Vec<&&Value> = kprobes
        .iter()
        .filter(|k| k["function_name"] == "tcp_connect")
        .collect();
    // The connect to 8098 did not pass the DPort selector.
    assert_eq!(connects.len(), 1, "{connects:#?}");
    let sock = &connects[0]["args"][0]["sock_arg"];
    assert_eq!(sock["family"], "AF_INET", "{sock}");
    assert_eq!(sock["type"], "SOCK_STREAM", "{sock}");
    assert_eq!(sock["protocol"], "IPPROTO_TCP", "{sock}");
    assert_eq!(sock["daddr"], "127.0.0.1", "{sock}");
    assert_eq!(sock["dport"], 8099, "{sock}");
    assert_eq!(sock["state"], "TCP_SYN_SENT", "{sock}");
    let mut asked: Vec<(&Value, &Value)> = kprobes
        .iter()
        .filter(|k| k["function_name"] == "security_socket_connect")
        .map(|k| (&k["args"][0]["sock_arg"], &k["args"][1]["sockaddr_arg"]))
        .collect();
    asked.sort_by_key(|(_, address)| address["port"].as_u64());
    assert_eq!(asked.len(), 2, "{asked:#?}");
    for ((sock, address), port) in asked.iter().zip([8098, 8099]) {
        assert_eq!(sock["family"], "AF_INET", "{sock}");
        assert_eq!(sock["type"], "SOCK_STREAM", "{sock}");
        assert_eq!(address["family"], "AF_INET", "{address}");
        assert_eq!(address["addr"], "127.0.0.1", "{address}");
        assert_eq!(address["port"], port, "{address}");
    }
    let lsm = events
        .iter()
        .filter_map(|e| e.get("process_lsm"))
        .find(|l| l["function_name"] == "bprm_check_security")
        .unwrap_or_else(|| panic!("no process_lsm event:\n{}", out.stdout));
    assert_eq!(
        lsm["args"][0]["linux_binprm_arg"]["path"],
        "/root/lsm-denied"
    );
    assert_eq!(lsm["action"], "KPROBE_ACTION_SIGKILL");
}
