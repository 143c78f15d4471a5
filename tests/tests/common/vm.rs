//! A real Debian kernel (kprobes, BPF LSM, BTF) under qemu TCG, for what our own 6.18 kernel
//! cannot do. scripts/vm-kernel.sh caches the kernel; each run packs a fresh initramfs (a static
//! busybox, the files given, their shared libraries; large ELF files without debug sections)
//! whose /init mounts the usual file systems, runs the script with `sh -e` and powers off. The
//! serial console is the script's output.
use std::{
    fs,
    io::{BufRead, BufReader},
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{Mutex, mpsc},
    thread,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

/// A VM to boot: the kernel and the files to put in its initramfs.
pub struct Vm {
    kernel: PathBuf,
    /// (host path, guest path)
    files: Vec<(PathBuf, String)>,
    memory_mb: u32,
}

/// What a run gave back.
#[derive(Debug)]
pub struct VmOutput {
    /// What the script wrote to stdout and stderr (both go to the console), without the
    /// markers; lines end in `\n`.
    pub stdout: String,
    /// The script's exit status (`sh -e`: the first failing command's; 128+N for signal N).
    pub exit_status: i32,
    /// From starting qemu to the script's first line.
    pub boot_time: Duration,
    /// From starting qemu to its exit.
    pub total_time: Duration,
}

/// The Debian kernel series the VM tests boot by default: Debian 12's own kernel.
pub const DEFAULT_SERIES: &str = "6.1";

/// The cached kernel of `series`: `TETRASCOPE_VM_KERNEL` (for the default series), else what
/// scripts/vm-kernel.sh prints (it downloads the kernel and installs qemu when missing).
fn kernel(series: &str) -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("TETRASCOPE_VM_KERNEL")
        && series == DEFAULT_SERIES
    {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "TETRASCOPE_VM_KERNEL={} is no file",
                path.display()
            ))
        };
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/vm-kernel.sh");
    let out = Command::new("bash")
        .arg(&script)
        .env("TETRASCOPE_VM_KERNEL_SERIES", series)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed: {}", script.display(), out.status));
    }
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("{} printed no kernel", script.display()))
    }
}

/// The shared libraries and the dynamic loader a binary needs (empty for a static one).
fn shared_libraries(binary: &Path) -> Vec<PathBuf> {
    let Ok(out) = Command::new("ldd").arg(binary).output() else {
        return Vec::new();
    };
    // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)`, `/lib64/ld-linux-x86-64.so.2 (0x...)`
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let path = match line.split_once("=>") {
                Some((_, rest)) => rest.split_whitespace().next()?,
                None => line.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// Copies a file into the initramfs tree; a large ELF file (a debug build of tetrascope is
/// hundreds of MB) without its debug sections, which the guest would unpack slowly.
fn copy_into_initramfs(host: &Path, to: &Path) {
    let large = fs::metadata(host).is_ok_and(|m| m.len() > 16 << 20);
    let elf = || {
        let mut magic = [0u8; 4];
        fs::File::open(host)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
            .is_ok()
            && magic == *b"\x7fELF"
    };
    if large && elf() {
        let stripped = Command::new("objcopy")
            .arg("--strip-debug")
            .arg(host)
            .arg(to)
            .status()
            .is_ok_and(|s| s.success());
        if stripped {
            return;
        }
    }
    fs::copy(host, to).unwrap_or_else(|e| panic!("copying {}: {e}", host.display()));
}

fn unique() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{nanos}", std::process::id())
}

impl Vm {
    /// A VM with the cached kernel, or None (after saying why) when the live tests are skipped
    /// on purpose: not root with TETRASCOPE_SKIP_ROOT_TESTS, or TETRASCOPE_SKIP_VM_TESTS set.
    /// Without a kernel otherwise, it panics: a missing kernel fails the test, loudly.
    pub fn new() -> Option<Vm> {
        Vm::with_series(DEFAULT_SERIES)
    }

    /// As [`Vm::new`], with the newest Debian cloud kernel of another series ("6.12").
    pub fn with_series(series: &str) -> Option<Vm> {
        if std::env::var_os("TETRASCOPE_SKIP_VM_TESTS").is_some() {
            eprintln!("TETRASCOPE_SKIP_VM_TESTS set: skipping a VM test");
            return None;
        }
        if std::env::var_os("TETRASCOPE_VM_KERNEL").is_none() && !super::require_root() {
            return None;
        }
        match kernel(series) {
            Ok(kernel) => Some(Vm {
                kernel,
                files: vec![(PathBuf::from("/bin/busybox"), "/bin/busybox".into())],
                memory_mb: 1024,
            }),
            Err(why) => panic!(
                "no VM kernel {series}: {why} (scripts/vm-kernel.sh caches one; \
                 set TETRASCOPE_SKIP_VM_TESTS=1 to skip the VM tests)"
            ),
        }
    }

    /// The kernel image booted.
    pub fn kernel(&self) -> &Path {
        &self.kernel
    }

    /// Puts `host` at `guest` (absolute) in the initramfs; an executable brings its shared
    /// libraries and dynamic loader along, at their host paths.
    pub fn with_file(mut self, host: impl AsRef<Path>, guest: &str) -> Self {
        let host = host.as_ref();
        assert!(guest.starts_with('/'), "guest path {guest} is not absolute");
        let meta = fs::metadata(host).unwrap_or_else(|e| panic!("VM file {}: {e}", host.display()));
        if meta.permissions().mode() & 0o111 != 0 {
            for lib in shared_libraries(host) {
                let at = lib.display().to_string();
                if !self.files.iter().any(|(_, g)| *g == at) {
                    self.files.push((lib, at));
                }
            }
        }
        self.files.push((host.to_path_buf(), guest.to_string()));
        self
    }

    /// Guest memory in MiB (1024 unless changed).
    pub fn with_memory_mb(mut self, memory_mb: u32) -> Self {
        self.memory_mb = memory_mb;
        self
    }

    /// Boots the VM, runs `script` with `sh -e` as root in it and returns its output and exit
    /// status. Panics, with the console so far, when the VM does not finish within `timeout`.
    pub fn run(&self, script: &str, timeout: Duration) -> VmOutput {
        // TCG is CPU-bound: one VM at a time in a test binary, so that timeouts hold.
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        let _guard = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let id = unique();
        let dir = std::env::temp_dir().join(format!("tetrascope-vm-{id}"));
        let root = dir.join("root");
        fs::create_dir_all(&root).unwrap();
        let start_marker = format!("TETRASCOPE-VM-START-{id}");
        let end_marker = format!("TETRASCOPE-VM-END-{id}");

        for (host, guest) in &self.files {
            let to = root.join(guest.trim_start_matches('/'));
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            copy_into_initramfs(host, &to);
        }
        fs::write(root.join("script.sh"), script).unwrap();
        let init = root.join("init");
        fs::write(&init, init_script(&start_marker, &end_marker)).unwrap();
        fs::set_permissions(&init, fs::Permissions::from_mode(0o755)).unwrap();
        // Uncompressed: TCG decompresses slowly, and the kernel takes a plain newc cpio.
        let initrd = dir.join("initrd.cpio");
        let status = Command::new("sh")
            .arg("-c")
            .arg("find . | cpio --quiet -o -H newc -R 0:0 > \"$0\"")
            .arg(&initrd)
            .current_dir(&root)
            .status()
            .expect("running cpio");
        assert!(status.success(), "cpio failed: {status}");
        fs::remove_dir_all(&root).unwrap();

        let started = Instant::now();
        let mut qemu = Command::new("qemu-system-x86_64")
            .args([
                "-machine", "q35", "-accel", "tcg", "-cpu", "max", "-smp", "2",
            ])
            .args(["-m", &self.memory_mb.to_string()])
            .arg("-kernel")
            .arg(&self.kernel)
            .arg("-initrd")
            .arg(&initrd)
            .args([
                "-append",
                "console=ttyS0 quiet loglevel=0 lsm=lockdown,capability,bpf panic=-1",
            ])
            .args(["-nodefaults", "-display", "none", "-serial", "stdio"])
            .arg("-no-reboot")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting qemu-system-x86_64 (scripts/vm-kernel.sh installs it)");

        let (tx, rx) = mpsc::channel();
        let console = qemu.stdout.take().unwrap();
        let reader = thread::spawn(move || {
            let mut reader = BufReader::new(console);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                let text = String::from_utf8_lossy(&line).replace('\r', "");
                if tx.send((Instant::now(), text)).is_err() {
                    break;
                }
                line.clear();
            }
        });
        let mut stderr = qemu.stderr.take().unwrap();
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
            text
        });

        let mut console = String::new();
        let mut boot_time = None;
        let deadline = started + timeout;
        let exited = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok((at, text)) => {
                    if boot_time.is_none() && text.contains(&start_marker) {
                        boot_time = Some(at - started);
                    }
                    console.push_str(&text);
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break true,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if Instant::now() > deadline {
                break false;
            }
        };
        if !exited {
            let _ = qemu.kill();
        }
        let status = qemu.wait().expect("waiting for qemu");
        let total_time = started.elapsed();
        let _ = reader.join();
        let qemu_stderr = stderr.join().unwrap_or_default();
        let _ = fs::remove_dir_all(&dir);
        assert!(
            exited,
            "the VM did not finish within {timeout:?}; console so far:\n{console}"
        );

        let fail = |what: &str| -> ! {
            panic!("{what} (qemu {status}); console:\n{console}\nqemu stderr:\n{qemu_stderr}")
        };
        let Some(begin) = console.find(&start_marker) else {
            fail("the VM never started the script")
        };
        let body = &console[begin + start_marker.len()..];
        let body = body.strip_prefix('\n').unwrap_or(body);
        let Some(end) = body.find(&end_marker) else {
            fail("the script's end marker never came")
        };
        let exit_status = body[end + end_marker.len()..]
            .split_whitespace()
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| fail("no exit status after the end marker"));
        // /init prints a newline before the end marker, for output without a last newline.
        let stdout = body[..end].strip_suffix('\n').unwrap_or(&body[..end]);
        VmOutput {
            stdout: stdout.to_string(),
            exit_status,
            boot_time: boot_time.unwrap(),
            total_time,
        }
    }
}

/// The guest's /init: busybox applets, the usual mounts, the script, the markers, power off.
fn init_script(start_marker: &str, end_marker: &str) -> String {
    format!(
        r#"#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /sbin /usr/bin /usr/sbin /etc /root
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t securityfs securityfs /sys/kernel/security
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd
echo 'root:x:0:' > /etc/group
hostname vm
cd /root
echo {start_marker}
sh -e /script.sh
status=$?
printf '\n%s %d\n' {end_marker} "$status"
poweroff -f
"#
    )
}

/// Guest shell that starts `tetrascope getevents -o json --policy POLICY` in the background
/// (events to /tmp/events.json, stderr to /tmp/stderr.txt, its pid in `$pid`) and waits until
/// the policy named `name` is enabled in enforce mode, or fails the script with tetrascope's
/// stderr.
pub fn start_tetrascope_with(policy: &str, name: &str) -> String {
    format!(
        r#"tetrascope getevents -o json --policy {policy} > /tmp/events.json 2> /tmp/stderr.txt &
pid=$!
until grep -q 'policy {name} enabled (enforce)' /tmp/stderr.txt; do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "tetrascope did not enable the policy:"
        cat /tmp/stderr.txt
        exit 1
    fi
    sleep 0.2
done
"#
    )
}
