//! Hook resolution: which mechanism of the running kernel serves each hook of a policy.
//!
//! Syscalls are served by tracepoints, which every kernel we know of has: a kprobe on a syscall
//! (`sys_read`, `__x64_sys_read`, `ksys_read`) becomes that syscall's entry or exit tracepoint;
//! `fd_install`, `security_file_open` and the LSM hook `file_open` become the exit of the open
//! family with the new fd resolved to its path. Other kernel functions get a kprobe (kretprobe
//! with `return: true`) where the kernel has kprobes, and an LSM hook `NAME` a kprobe on its
//! `security_NAME` function, which takes the same arguments. A tracepoint hook runs at its
//! tracepoint, its fields read as the tracepoint's format file lays them out; a uprobe hook at
//! the file offset of each of its symbols. Anything else is reported as unsupported, with the
//! reason.
use std::{
    collections::{BTreeSet, HashSet},
    fmt, fs,
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
};

use tetrascope_shared::policy::{site, site_key};

use super::{
    elf_symbol,
    model::{Location, TracepointSpec, TracingPolicy, UprobeSpec},
    tracepoint_format::{self, TracepointFormat},
};
use crate::event::syscalls::{native_abi, syscall_number};

/// What the running kernel offers, probed once at start-up.
#[derive(Clone, Debug, Default)]
pub struct KernelFeatures {
    pub kprobes: bool,
    pub bpf_lsm: bool,
    /// Raw tracepoint programs can read a BPF cookie (kernel 6.10 and later).
    pub raw_tracepoint_cookies: bool,
    /// Syscalls with entry/exit tracepoints; None when tracefs could not be read (the syscall
    /// table is trusted then).
    pub syscall_events: Option<BTreeSet<String>>,
    /// Where tracepoint format files are read; None: tracepoint hooks cannot be resolved.
    pub tracefs: Option<PathBuf>,
    /// The kernel's functions (from /proc/kallsyms), read when a kprobe first needs them.
    pub kernel_functions: Arc<OnceLock<HashSet<String>>>,
}

impl KernelFeatures {
    pub fn probe(tracefs: &Path) -> Self {
        let syscall_events = fs::read_dir(tracefs.join("events/syscalls"))
            .ok()
            .map(|dir| {
                dir.filter_map(|entry| {
                    let name = entry.ok()?.file_name().into_string().ok()?;
                    name.strip_prefix("sys_enter_").map(str::to_owned)
                })
                .collect()
            });
        let lsm = fs::read_to_string("/sys/kernel/security/lsm").unwrap_or_default();
        KernelFeatures {
            kprobes: Path::new(KPROBE_PMU_TYPE).exists(),
            bpf_lsm: lsm.split(',').any(|name| name.trim() == "bpf"),
            raw_tracepoint_cookies: kernel_release_at_least(6, 10),
            syscall_events,
            tracefs: Some(tracefs.to_owned()),
            kernel_functions: Arc::default(),
        }
    }

    /// Whether the kernel has a function `name` a kprobe can be placed on.
    fn has_function(&self, name: &str) -> bool {
        self.kernel_functions
            .get_or_init(|| {
                let symbols = fs::read_to_string("/proc/kallsyms").unwrap_or_default();
                symbols
                    .lines()
                    .filter_map(|line| {
                        let mut fields = line.split_whitespace();
                        let (_, kind, name) = (fields.next()?, fields.next()?, fields.next()?);
                        matches!(kind, "t" | "T").then(|| name.to_owned())
                    })
                    .collect()
            })
            .contains(name)
    }

    fn has_syscall_events(&self, name: &str) -> bool {
        self.syscall_events
            .as_ref()
            .is_none_or(|events| events.contains(name))
    }
}

/// The spec list a hook comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookKind {
    Kprobe,
    Tracepoint,
    Uprobe,
    LsmHook,
    Usdt,
    Fentry,
}

impl HookKind {
    pub fn spec_field(self) -> &'static str {
        match self {
            HookKind::Kprobe => "kprobes",
            HookKind::Tracepoint => "tracepoints",
            HookKind::Uprobe => "uprobes",
            HookKind::LsmHook => "lsmhooks",
            HookKind::Usdt => "usdts",
            HookKind::Fentry => "fentries",
        }
    }
}

/// Whether the running kernel's release is `major.minor` or later.
fn kernel_release_at_least(major: u32, minor: u32) -> bool {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut numbers = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let found = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    found >= (major, minor)
}

/// The perf event type of kprobes: where it is, the kernel places kprobes for BPF programs.
pub const KPROBE_PMU_TYPE: &str = "/sys/bus/event_source/devices/kprobe/type";

/// A place a hook's program runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mechanism {
    SyscallEnter {
        syscall: String,
        number: u32,
    },
    SyscallExit {
        syscall: String,
        number: u32,
    },
    /// The exit of open, openat, openat2 and creat, the new fd resolved to its path.
    OpenExit,
    /// A tracepoint, read as its format file says.
    Tracepoint {
        subsystem: String,
        event: String,
        format: TracepointFormat,
    },
    /// A uprobe at a file offset of `path` (a symbol's, or one the policy gives); with `ret`, a
    /// return uprobe (the entry saves the arguments, the return evaluates the hook).
    Uprobe {
        path: String,
        symbol: Option<String>,
        offset: u64,
        ret: bool,
    },
    /// A kprobe on a kernel function; with `ret`, a kretprobe (the entry saves the arguments,
    /// the return evaluates the hook).
    Kprobe {
        function: String,
        ret: bool,
    },
    /// A raw tracepoint (`raw: true`): the arguments as the kernel passes them, typed by the
    /// policy.
    RawTracepoint {
        subsystem: String,
        event: String,
    },
}

/// A program attached to a tracepoint.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TracepointLink {
    pub program: &'static str,
    pub category: String,
    pub name: String,
    /// The BPF cookie the program reads to know the tracepoint (its id).
    pub cookie: Option<u64>,
}

/// The program of `tracepoints:` hooks, which reads any record by its format.
pub const TRACEPOINT_PROGRAM: &str = "policy_tracepoint";

impl TracepointLink {
    pub fn syscall(program: &'static str, name: String) -> Self {
        TracepointLink {
            program,
            category: "syscalls".into(),
            name,
            cookie: None,
        }
    }

    /// Whether the program reads the syscall record layout (checked before attaching).
    pub fn assumes_syscall_layout(&self) -> bool {
        self.category == "syscalls" && self.program != TRACEPOINT_PROGRAM
    }
}

impl Mechanism {
    /// A kprobe, uprobe or raw tracepoint: an attachment of its own, with a `PROBE_SITES` slot.
    pub fn is_probe(&self) -> bool {
        matches!(
            self,
            Mechanism::Uprobe { .. } | Mechanism::Kprobe { .. } | Mechanism::RawTracepoint { .. }
        )
    }

    /// The entry of a syscall that a cgroup program can fail (`Override`).
    pub fn is_cgroup_overridable(&self) -> bool {
        matches!(self, Mechanism::SyscallEnter { syscall, .. } if CGROUP_OVERRIDES.contains(&syscall.as_str()))
    }

    /// Whether the hook's arguments are kernel values (pointers to kernel objects, kernel
    /// strings), not user memory or a tracepoint record.
    pub fn reads_kernel_arguments(&self) -> bool {
        matches!(
            self,
            Mechanism::Kprobe { .. } | Mechanism::RawTracepoint { .. }
        )
    }

    /// The key of the site this mechanism lists its hooks under; None for a kprobe or uprobe,
    /// whose attachment is the hook's own.
    pub fn site_key(&self) -> Option<u64> {
        Some(match self {
            Mechanism::SyscallEnter { number, .. } => site_key(site::SYSCALL_ENTER, *number),
            Mechanism::SyscallExit { number, .. } => site_key(site::SYSCALL_EXIT, *number),
            Mechanism::OpenExit => site_key(site::FD_INSTALL, 0),
            Mechanism::Tracepoint { format, .. } => site_key(site::TRACEPOINT, format.id),
            _ => return None,
        })
    }

    /// The tracepoints and the programs attached to them.
    pub fn attachments(&self) -> Vec<TracepointLink> {
        match self {
            Mechanism::SyscallEnter { syscall, .. } => vec![TracepointLink::syscall(
                "policy_sys_enter",
                format!("sys_enter_{syscall}"),
            )],
            // The entry saves the arguments for the exit.
            Mechanism::SyscallExit { syscall, .. } => vec![
                TracepointLink::syscall("policy_sys_enter", format!("sys_enter_{syscall}")),
                TracepointLink::syscall("policy_sys_exit", format!("sys_exit_{syscall}")),
            ],
            Mechanism::OpenExit => OPEN_FAMILY
                .iter()
                .map(|name| TracepointLink::syscall("policy_open_exit", format!("sys_exit_{name}")))
                .collect(),
            Mechanism::Tracepoint {
                subsystem,
                event,
                format,
            } => vec![TracepointLink {
                program: TRACEPOINT_PROGRAM,
                category: subsystem.clone(),
                name: event.clone(),
                cookie: Some(u64::from(format.id)),
            }],
            _ => Vec::new(),
        }
    }
}

/// The programs that carry followed fds over to their duplicates, and their tracepoints.
pub const DUPLICATE_TRACKING: [(&str, &str); 8] = [
    ("policy_dup_enter", "sys_enter_dup"),
    ("policy_dup_enter", "sys_enter_dup2"),
    ("policy_dup_enter", "sys_enter_dup3"),
    ("policy_fcntl_enter", "sys_enter_fcntl"),
    ("policy_dup_exit", "sys_exit_dup"),
    ("policy_dup_exit", "sys_exit_dup2"),
    ("policy_dup_exit", "sys_exit_dup3"),
    ("policy_dup_exit", "sys_exit_fcntl"),
];

/// The syscalls a cgroup program runs inside of, and can fail: `Override` at their entry.
pub const CGROUP_OVERRIDES: [&str; 3] = ["connect", "bind", "socket"];

/// The syscalls whose exit stands in for `fd_install`.
pub const OPEN_FAMILY: [&str; 4] = ["open", "openat", "openat2", "creat"];

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mechanism::SyscallEnter { syscall, .. } => {
                write!(f, "tracepoint syscalls:sys_enter_{syscall}")
            }
            Mechanism::SyscallExit { syscall, .. } => {
                write!(f, "tracepoint syscalls:sys_exit_{syscall}")
            }
            Mechanism::OpenExit => write!(
                f,
                "tracepoints syscalls:sys_exit_{{{}}} (new fd resolved to its path)",
                OPEN_FAMILY.join(",")
            ),
            Mechanism::Tracepoint {
                subsystem, event, ..
            } => write!(f, "tracepoint {subsystem}/{event}"),
            Mechanism::Uprobe {
                path,
                symbol,
                offset,
                ret,
            } => {
                let kind = if *ret { "uretprobe" } else { "uprobe" };
                match symbol {
                    Some(symbol) => write!(f, "{kind} {path}:{symbol} (file offset {offset:#x})"),
                    None => write!(f, "{kind} {path}+{offset:#x}"),
                }
            }
            Mechanism::Kprobe { function, ret } => {
                write!(
                    f,
                    "{} {function}",
                    if *ret { "kretprobe" } else { "kprobe" }
                )
            }
            Mechanism::RawTracepoint { subsystem, event } => {
                write!(f, "raw tracepoint {subsystem}/{event}")
            }
        }
    }
}

/// One hook of a policy and how it is served here.
#[derive(Clone, Debug)]
pub struct ResolvedHook {
    pub kind: HookKind,
    /// Position in its spec list.
    pub index: usize,
    /// As the policy names it: the call, `subsystem/event`, the LSM hook, the uprobe target.
    pub name: String,
    /// The `function_name` its events carry (Tetragon reports syscalls with the arch prefix).
    pub function_name: String,
    pub at: Location,
    pub mechanisms: Result<Vec<Mechanism>, String>,
}

impl ResolvedHook {
    /// `spec.kprobes[2]`
    pub fn field(&self) -> String {
        format!("spec.{}[{}]", self.kind.spec_field(), self.index)
    }
}

/// Resolves every hook of `policy`.
pub fn resolve(policy: &TracingPolicy, kernel: &KernelFeatures) -> Vec<ResolvedHook> {
    let spec = &policy.spec;
    let mut hooks = Vec::new();
    for (index, kprobe) in spec.kprobes.iter().enumerate() {
        let calls = expand_list(policy, &kprobe.call);
        let mut mechanisms = Vec::new();
        let mut function_name = kprobe.call.clone();
        let mut failure = None;
        for call in &calls {
            match kprobe_mechanism(call, kprobe.is_return, kernel) {
                Ok((mechanism, name)) => {
                    mechanisms.push(mechanism);
                    function_name = name;
                }
                Err(reason) => failure = Some(reason),
            }
        }
        hooks.push(ResolvedHook {
            kind: HookKind::Kprobe,
            index,
            name: kprobe.call.clone(),
            function_name,
            at: kprobe.at,
            mechanisms: match failure {
                Some(reason) if !kprobe.ignore_call_not_found || mechanisms.is_empty() => {
                    Err(reason)
                }
                _ => Ok(mechanisms),
            },
        });
    }
    for (index, lsm) in spec.lsmhooks.iter().enumerate() {
        let mechanisms = lsm_mechanism(&lsm.hook, kernel).map(|m| vec![m]);
        hooks.push(ResolvedHook {
            kind: HookKind::LsmHook,
            index,
            name: lsm.hook.clone(),
            function_name: lsm.hook.clone(),
            at: lsm.at,
            mechanisms,
        });
    }
    for (index, tracepoint) in spec.tracepoints.iter().enumerate() {
        let name = format!("{}/{}", tracepoint.subsystem, tracepoint.event);
        hooks.push(ResolvedHook {
            kind: HookKind::Tracepoint,
            index,
            function_name: name.clone(),
            name,
            at: tracepoint.at,
            mechanisms: tracepoint_mechanism(tracepoint, kernel).map(|m| vec![m]),
        });
    }
    for (index, uprobe) in spec.uprobes.iter().enumerate() {
        hooks.push(ResolvedHook {
            kind: HookKind::Uprobe,
            index,
            name: uprobe.path.clone(),
            function_name: uprobe.symbols.join(","),
            at: uprobe.at,
            mechanisms: uprobe_mechanisms(uprobe),
        });
    }
    for (index, usdt) in spec.usdts.iter().enumerate() {
        hooks.push(ResolvedHook {
            kind: HookKind::Usdt,
            index,
            name: format!("{}:{}", usdt.provider, usdt.name),
            function_name: usdt.name.clone(),
            at: usdt.at,
            mechanisms: Err("USDT hooks are not implemented in tetrascope yet".into()),
        });
    }
    for (index, fentry) in spec.fentries.iter().enumerate() {
        hooks.push(ResolvedHook {
            kind: HookKind::Fentry,
            index,
            name: fentry.call.clone(),
            function_name: fentry.call.clone(),
            at: fentry.at,
            mechanisms: Err(
                "fentry programs do not load on this kernel (BPF trampolines are not permitted)"
                    .into(),
            ),
        });
    }
    hooks
}

fn tracepoint_mechanism(
    tracepoint: &TracepointSpec,
    kernel: &KernelFeatures,
) -> Result<Mechanism, String> {
    let (subsystem, event) = (&tracepoint.subsystem, &tracepoint.event);
    let tracefs = kernel.tracefs.as_deref().ok_or_else(|| {
        format!("{subsystem}/{event}: no tracefs to read the tracepoint's format from")
    })?;
    if tracepoint.raw {
        if !kernel.raw_tracepoint_cookies {
            return Err(format!(
                "{subsystem}/{event}: raw tracepoints need BPF cookies on raw tracepoints (kernel 6.10 or later)"
            ));
        }
        if !tracefs.join("events").join(subsystem).join(event).is_dir() {
            return Err(format!(
                "{subsystem}/{event}: no such tracepoint in this kernel"
            ));
        }
        return Ok(Mechanism::RawTracepoint {
            subsystem: subsystem.clone(),
            event: event.clone(),
        });
    }
    let format = tracepoint_format::read(tracefs, subsystem, event)?;
    Ok(Mechanism::Tracepoint {
        subsystem: subsystem.clone(),
        event: event.clone(),
        format,
    })
}

/// One uprobe per symbol (or offset); the first that cannot be placed fails the hook, as the
/// policy would fail in Tetragon.
fn uprobe_mechanisms(uprobe: &UprobeSpec) -> Result<Vec<Mechanism>, String> {
    if !uprobe.addrs.is_empty() {
        return Err(
            "addrs (virtual addresses) are not served by tetrascope yet; use symbols or offsets"
                .into(),
        );
    }
    let path = Path::new(&uprobe.path);
    if !path.is_file() {
        return Err(format!("{}: no such file on this machine", uprobe.path));
    }
    let at = |symbol: Option<&String>, offset| Mechanism::Uprobe {
        path: uprobe.path.clone(),
        symbol: symbol.cloned(),
        offset,
        ret: uprobe.is_return,
    };
    let mut mechanisms = Vec::new();
    for symbol in &uprobe.symbols {
        mechanisms.push(at(Some(symbol), elf_symbol::file_offset(path, symbol)?));
    }
    mechanisms.extend(uprobe.offsets.iter().map(|offset| at(None, *offset)));
    Ok(mechanisms)
}

/// `list:NAME` → the list's values; anything else → itself.
fn expand_list(policy: &TracingPolicy, call: &str) -> Vec<String> {
    let Some(name) = call.strip_prefix("list:") else {
        return vec![call.to_owned()];
    };
    policy
        .spec
        .lists
        .iter()
        .find(|list| list.name == name)
        .map(|list| list.values.clone())
        .unwrap_or_default()
}

/// The mechanism for a kprobe `call`, and the function name its events carry.
fn kprobe_mechanism(
    call: &str,
    is_return: bool,
    kernel: &KernelFeatures,
) -> Result<(Mechanism, String), String> {
    match call {
        "fd_install" | "security_file_open" if !is_return => {
            return Ok((Mechanism::OpenExit, call.to_owned()));
        }
        _ => {}
    }
    if !kernel.kprobes
        && !is_return
        && let Some(syscall) = socket_security_syscall(call)
    {
        return syscall_site(call, syscall, false, kernel).map(|m| (m, call.to_owned()));
    }
    let Some(syscall) = syscall_of(call)? else {
        return kernel_function(call, is_return, kernel).map(|m| (m, call.to_owned()));
    };
    let mechanism = syscall_site(call, &syscall, is_return, kernel)?;
    Ok((mechanism, format!("{}sys_{syscall}", arch_prefix())))
}

/// The entry or exit tracepoint of `syscall`, for `call`.
fn syscall_site(
    call: &str,
    syscall: &str,
    is_return: bool,
    kernel: &KernelFeatures,
) -> Result<Mechanism, String> {
    let abi = native_abi();
    let number = syscall_number(abi, syscall)
        .ok_or_else(|| format!("{call}: no syscall named {syscall:?} on {abi}"))?;
    if !kernel.has_syscall_events(syscall) {
        return Err(format!(
            "{call}: this kernel has no syscalls:sys_enter_{syscall} tracepoint"
        ));
    }
    let syscall = syscall.to_owned();
    Ok(if is_return {
        Mechanism::SyscallExit { syscall, number }
    } else {
        Mechanism::SyscallEnter { syscall, number }
    })
}

/// The syscall whose entry serves a socket security hook where kprobes are missing. These
/// hooks take the syscall's own arguments once its fd and address are in hand (`socket` is the
/// fd's socket, `sockaddr` the address passed, then its length), and a call that gets that far
/// has passed its entry with the same values.
fn socket_security_syscall(function: &str) -> Option<&'static str> {
    match function {
        "security_socket_connect" => Some("connect"),
        "security_socket_bind" => Some("bind"),
        _ => None,
    }
}

fn arch_prefix() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "__arm64_"
    } else {
        "__x64_"
    }
}

/// The syscall a kernel function name stands for: `sys_read`, `__x64_sys_read`, `__se_sys_read`,
/// `__do_sys_read` and `ksys_read` are all `read`. A foreign arch prefix is an error, as in
/// Tetragon.
pub(super) fn syscall_of(call: &str) -> Result<Option<String>, String> {
    const FOREIGN: [&str; 3] = ["__x64_", "__arm64_", "__ia32_"];
    let mut name = call;
    if let Some(rest) = name.strip_prefix(arch_prefix()) {
        name = rest;
    } else if let Some(prefix) = FOREIGN.iter().find(|p| call.starts_with(**p)) {
        return Err(format!(
            "{call}: expecting {} and got {prefix} (write sys_NAME to stay portable)",
            arch_prefix()
        ));
    }
    for prefix in ["__se_", "__do_"] {
        if let Some(rest) = name.strip_prefix(prefix) {
            name = rest;
        }
    }
    Ok(name
        .strip_prefix("sys_")
        .or_else(|| name.strip_prefix("ksys_"))
        .map(str::to_owned))
}

/// A kprobe on a kernel function that is not a syscall, where the kernel has kprobes.
fn kernel_function(
    call: &str,
    is_return: bool,
    kernel: &KernelFeatures,
) -> Result<Mechanism, String> {
    if !kernel.kprobes {
        return Err(format!(
            "{call}: a kernel function with no tracepoint equivalent, and this kernel has no kprobes (CONFIG_KPROBES off)"
        ));
    }
    if !kernel.has_function(call) {
        return Err(format!(
            "{call}: no such function in this kernel (/proc/kallsyms)"
        ));
    }
    Ok(Mechanism::Kprobe {
        function: call.to_owned(),
        ret: is_return,
    })
}

/// LSM hook `file_open` at the open family's exit; any other at its `security_` function
/// (`security_NAME`, or for the hooks named `NAME_security`, such as `bprm_check_security`,
/// `security_NAME`).
fn lsm_mechanism(hook: &str, kernel: &KernelFeatures) -> Result<Mechanism, String> {
    if hook == "file_open" {
        return Ok(Mechanism::OpenExit);
    }
    let function = format!(
        "security_{}",
        hook.strip_suffix("_security").unwrap_or(hook)
    );
    if !kernel.kprobes
        && let Some(syscall) = socket_security_syscall(&function)
    {
        return syscall_site(&format!("LSM hook {hook}"), syscall, false, kernel);
    }
    if kernel.kprobes && kernel.has_function(&function) {
        return Ok(Mechanism::Kprobe {
            function,
            ret: false,
        });
    }
    if kernel.kprobes {
        return Err(format!(
            "LSM hook {hook}: no function {function} to place a kprobe on, and tetrascope has no BPF LSM programs yet"
        ));
    }
    Err(format!(
        "LSM hook {hook}: this kernel has no kprobes for {function}, and tetrascope has no BPF LSM programs yet"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_syscall_names_it() {
        for call in [
            "sys_read",
            "__x64_sys_read",
            "ksys_read",
            "__se_sys_read",
            "__do_sys_read",
        ] {
            assert_eq!(syscall_of(call).unwrap().as_deref(), Some("read"), "{call}");
        }
        assert_eq!(syscall_of("fd_install").unwrap(), None);
        assert!(
            syscall_of("__arm64_sys_read")
                .unwrap_err()
                .contains("expecting __x64_")
        );
    }

    #[test]
    fn syscalls_become_their_tracepoints_and_fd_install_the_open_exits() {
        let kernel = KernelFeatures::default();
        let (mechanism, name) = kprobe_mechanism("sys_read", false, &kernel).unwrap();
        assert_eq!(mechanism.to_string(), "tracepoint syscalls:sys_enter_read");
        assert_eq!(name, "__x64_sys_read");
        let (mechanism, _) = kprobe_mechanism("__x64_sys_openat", true, &kernel).unwrap();
        assert_eq!(mechanism.to_string(), "tracepoint syscalls:sys_exit_openat");
        let (mechanism, name) = kprobe_mechanism("fd_install", false, &kernel).unwrap();
        assert_eq!(mechanism, Mechanism::OpenExit);
        assert_eq!(name, "fd_install");
        let reason = kprobe_mechanism("commit_creds", false, &kernel).unwrap_err();
        assert!(reason.contains("no kprobes"), "{reason}");
    }

    #[test]
    fn with_kprobes_kernel_functions_and_lsm_hooks_get_kprobes_and_syscalls_stay_tracepoints() {
        let kernel = KernelFeatures {
            kprobes: true,
            ..KernelFeatures::default()
        };
        let functions = ["commit_creds", "security_bprm_check"];
        kernel
            .kernel_functions
            .set(functions.iter().map(|f| f.to_string()).collect())
            .unwrap();
        let (mechanism, name) = kprobe_mechanism("commit_creds", false, &kernel).unwrap();
        assert_eq!(mechanism.to_string(), "kprobe commit_creds");
        assert_eq!(name, "commit_creds");
        let (mechanism, _) = kprobe_mechanism("commit_creds", true, &kernel).unwrap();
        assert_eq!(mechanism.to_string(), "kretprobe commit_creds");
        let reason = kprobe_mechanism("no_such_function", false, &kernel).unwrap_err();
        assert!(reason.contains("no such function"), "{reason}");
        let (mechanism, _) = kprobe_mechanism("sys_read", false, &kernel).unwrap();
        assert_eq!(mechanism.to_string(), "tracepoint syscalls:sys_enter_read");
        let mechanism = lsm_mechanism("bprm_check_security", &kernel).unwrap();
        assert_eq!(mechanism.to_string(), "kprobe security_bprm_check");
        assert_eq!(lsm_mechanism("file_open", &kernel), Ok(Mechanism::OpenExit));
        let reason = lsm_mechanism("bprm_check", &KernelFeatures::default()).unwrap_err();
        assert!(reason.contains("no kprobes"), "{reason}");
    }
}
