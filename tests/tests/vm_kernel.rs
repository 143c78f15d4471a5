//! tetrascope on a real Debian kernel with kprobes and BPF LSM (our own kernel has neither),
//! booted under qemu TCG by common::vm (scripts/vm-kernel.sh caches the kernel).
mod common;

use std::time::Duration;

use common::{
    shared_dir, tetrascope_bin,
    vm::{Vm, start_tetrascope_with},
};

/// The VM with tetrascope at /usr/bin/tetrascope and the IRIS policy at /root/iris.yaml.
fn vm_with_tetrascope(vm: Option<Vm>) -> Option<Vm> {
    Some(
        vm?.with_file(tetrascope_bin(), "/usr/bin/tetrascope")
            .with_file(
                shared_dir().join("policies/iris-read-file-sigkill.yaml"),
                "/root/iris.yaml",
            ),
    )
}

/// The release the kernel image was packaged as (`.../vmlinuz-6.1.0-56-cloud-amd64`).
fn release(vm: &Vm) -> String {
    let name = vm.kernel().file_name().unwrap().to_string_lossy();
    name.strip_prefix("vmlinuz-").unwrap().to_string()
}

#[test]
fn the_vm_boots_a_kernel_with_btf_and_bpf_lsm_and_runs_tetrascope() {
    let Some(vm) = vm_with_tetrascope(Vm::new()) else {
        return;
    };
    let out = vm.run(
        r#"
echo "uname: $(uname -r)"
test -e /sys/kernel/btf/vmlinux && echo "btf: present"
echo "lsm: $(cat /sys/kernel/security/lsm)"
tetrascope getevents --help | head -n 3
echo "--- policy check"
tetrascope policy check /root/iris.yaml
echo "policy check: $?"
"#,
        Duration::from_secs(60),
    );
    eprintln!(
        "{}\nVM: boot {:.1?}, whole run {:.1?}",
        out.stdout, out.boot_time, out.total_time
    );
    assert_eq!(out.exit_status, 0, "{}", out.stdout);
    let line = |prefix: &str| {
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix} line in:\n{}", out.stdout))
            .to_string()
    };
    assert_eq!(line("uname: "), release(&vm));
    assert_eq!(line("btf: "), "present");
    assert!(
        line("lsm: ").split(',').any(|name| name == "bpf"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Usage: tetrascope getevents"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("/root/iris.yaml: policy iris-read-file-sigkill"),
        "{}",
        out.stdout
    );
    assert_eq!(line("policy check: "), "0");
}

/// The IRIS policy in enforce mode on the guest kernel: the probes load there and the reader of
/// the key is SIGKILLed (status 137), other reads are not.
fn iris_policy_kills_the_reader_of_the_key(vm: Vm) {
    let out = vm.run(
        &(r#"
mkdir -p /usr/irissys/mgr
echo IRIS-LICENSE-KEY > /usr/irissys/mgr/iris.key
echo harmless > /root/other.txt
start=$(cut -d' ' -f1 /proc/uptime)
"#
        .to_owned()
            + &start_tetrascope_with("/root/iris.yaml", "iris-read-file-sigkill")
            + r#"echo "policy enabled: uptime $start -> $(cut -d' ' -f1 /proc/uptime)"
status=0
head -c 5 /usr/irissys/mgr/iris.key > /tmp/key.out || status=$?
echo "key reader: $status"
echo "key bytes read: $(wc -c < /tmp/key.out)"
echo "other reader: $(head -c 5 /root/other.txt)"
kill -INT "$pid"
wait "$pid" || echo "tetrascope exit: $?"
echo "--- stderr"
cat /tmp/stderr.txt
echo "--- the kill"
grep KPROBE_ACTION_SIGKILL /tmp/events.json | head -n 1
echo "--- policy check (tracefs mounted now)"
tetrascope policy check /root/iris.yaml
"#),
        Duration::from_secs(180),
    );
    eprintln!(
        "{}\nVM: boot {:.1?}, whole run {:.1?}",
        out.stdout, out.boot_time, out.total_time
    );
    assert_eq!(out.exit_status, 0, "{}", out.stdout);
    assert!(out.stdout.contains("key reader: 137"), "{}", out.stdout);
    assert!(out.stdout.contains("key bytes read: 0"), "{}", out.stdout);
    assert!(out.stdout.contains("other reader: harml"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("\"policy_name\":\"iris-read-file-sigkill\""),
        "{}",
        out.stdout
    );
}

/// Debian 12's kernel. Its verifier refuses loops closed by a fall-through (run_actions is
/// written out), and forgets the bounds of a scalar spilled before it was checked (selector_nth
/// keeps a copy of its index written after the check). The "reg type unsupported for arg#0"
/// line that starts its logs is only a note on the main program's BTF signature, not the
/// refusal. policy_raw_tracepoint still does not load there: raw tracepoints have attach cookies
/// only from 6.10.
#[test]
fn the_iris_policy_kills_the_reader_of_the_key_on_6_1() {
    if let Some(vm) = vm_with_tetrascope(Vm::new()) {
        iris_policy_kills_the_reader_of_the_key(vm);
    }
}

/// Debian 12's backported 6.12 kernel.
#[test]
fn the_iris_policy_kills_the_reader_of_the_key_on_6_12() {
    if let Some(vm) = vm_with_tetrascope(Vm::with_series("6.12")) {
        iris_policy_kills_the_reader_of_the_key(vm);
    }
}

#[test]
fn the_script_status_and_its_last_line_without_newline_come_back() {
    let Some(vm) = Vm::new() else {
        return;
    };
    let out = vm.run(
        "echo first\nprintf 'no newline'\nfalse\necho not reached",
        Duration::from_secs(60),
    );
    assert_eq!(out.stdout, "first\nno newline");
    assert_eq!(out.exit_status, 1);
}

#[test]
fn a_vm_that_does_not_finish_is_killed_at_the_timeout() {
    let Some(vm) = Vm::new() else {
        return;
    };
    let panic = std::panic::catch_unwind(|| vm.run("sleep 1000", Duration::from_secs(2)))
        .expect_err("a run past its timeout fails");
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.contains("the VM did not finish within 2s"),
        "{message}"
    );
}
