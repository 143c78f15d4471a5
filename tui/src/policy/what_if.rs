//! What-if: a policy evaluated on recorded events in user space, with the compiled selectors the
//! probes evaluate and the filter semantics they share (`tetrascope_shared::policy_semantics`).
//!
//! A recorded policy event (`process_kprobe`, `process_tracepoint`, `process_uprobe`) stands for
//! one call of its hook: the selectors see its process and its arguments as the event carries
//! them. Tracepoint and uprobe hooks resolve as on this machine (the tracepoint's format file,
//! the binary's symbols): where they cannot, the policy cannot be evaluated and says why. FollowFD state is rebuilt from the
//! recorded `fd_install` (fd and path) and `close` (fd) events. An `fd` argument, which events
//! carry as its path, counts as followed once the process followed a file of that path: the
//! duplicates the probes follow (`dup2` onto stdin for a shell's `< FILE`) are not in recordings.
//!
//! The policy counts as loaded at the first event. A `rateLimit` window is timed by the events'
//! times. followChildren marks a process that started after the load, whose parent runs one of
//! the binaries or is marked itself (from the parents the events name; the probes also keep the
//! mark across an exec of the same process, which a recording shows as a new process).
use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};
use tetrascope_shared::{
    NS_RECORD_SLOTS,
    policy::{
        ArgFilter, HookSpec, MATCH_LEN, RATE_ARG_BYTES, SYSCALL_32BIT, SelectorSpec, SockRecord,
        action, arg_kind, hook_flags, op, pid_flags, rate_scope,
    },
    policy_semantics::{NO_PREFIX, rate_limited, string_verdict},
};

use super::{
    compile::{AddressEntry, CompiledHook, Compiler, HookEvent, StringEntry},
    hit_event::Verdict,
    model::{Mode, TracingPolicy},
    names::{ADDRESS_FAMILIES, IP_PROTOCOLS, Names, SOCKET_TYPES, TCP_STATES},
    resolve::{KernelFeatures, resolve},
};
use crate::{
    event::{
        Event, EventBody, Namespaces, Process, args::field, strip_syscall_prefix,
        syscalls::compat_abi,
    },
    sensor::tracefs::TRACEFS,
};

/// What the policy would have done with one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WhatIfMatch {
    /// The hook's function name.
    pub hook: String,
    /// 1-based index of the matching selector (0: a hook without selectors).
    pub selector: usize,
    /// Whether the event would have been posted.
    pub posted: bool,
    /// The post was held back by the selector's `rateLimit` (the other actions ran).
    pub rate_limited: bool,
    /// What enforcement would have done (the policy's mode decides would-be or real).
    pub verdict: Option<Verdict>,
}

pub struct WhatIf {
    hooks: Vec<CompiledHook>,
    /// Stored strings by (postfix?, filter id); postfix ones reversed.
    strings: HashMap<(bool, u32), Vec<Vec<u8>>>,
    /// InMap and NotInMap values by (filter id, value).
    map_values: HashSet<(u32, u64)>,
    /// The CIDRs of address operators.
    addresses: Vec<AddressEntry>,
    mode: Mode,
    /// Followed files by (pid, fd).
    followed: HashMap<(u32, u64), String>,
    /// Paths each process followed at some point.
    followed_paths: HashSet<(u32, String)>,
    /// Time (ns) of the last post of each rate-limited Post, by what it posted.
    rate_limits: HashMap<RateKey, u64>,
    /// The binary filters of followChildren selectors.
    follow_filters: Vec<u32>,
    /// The time of the first event: the policy counts as loaded then.
    loaded_at: Option<i128>,
    /// Of each process seen (by exec_id), the followChildren filters it follows: it started
    /// after the load, and its parent follows them or runs one of their binaries.
    follows: HashMap<String, Vec<u32>>,
}

/// What a rate-limited Post counts together, as the probes key it: the hook, the selector, the
/// thread, process or nothing (the scope), and the first bytes of each argument.
type RateKey = (usize, usize, u32, Vec<[u8; RATE_ARG_BYTES]>);

impl WhatIf {
    /// Compiles `policy` as the probes would (every syscall tracepoint assumed present); its
    /// problems when it could not run anywhere.
    pub fn new(policy: &TracingPolicy, mode: Mode) -> Result<Self, Vec<String>> {
        let features = KernelFeatures {
            tracefs: Some(TRACEFS.into()),
            ..KernelFeatures::default()
        };
        let hooks = resolve(policy, &features);
        let mut next_filter = 1;
        let compiled = Compiler {
            host_namespaces: &[0; NS_RECORD_SLOTS],
            next_filter: &mut next_filter,
        }
        .compile(policy, &hooks)?;
        let follow_filters = compiled
            .hooks
            .iter()
            .flat_map(|hook| &hook.spec.selectors[..hook.spec.selector_count as usize])
            .filter(|selector| selector.binary_follow != 0)
            .map(|selector| selector.binary_strings)
            .collect();
        let mut strings: HashMap<(bool, u32), Vec<Vec<u8>>> = HashMap::new();
        for StringEntry {
            postfix,
            filter,
            bytes,
        } in compiled.strings
        {
            strings.entry((postfix, filter)).or_default().push(bytes);
        }
        Ok(WhatIf {
            hooks: compiled.hooks,
            strings,
            map_values: compiled
                .map_values
                .iter()
                .map(|v| (v.filter, v.value))
                .collect(),
            addresses: compiled.addresses,
            mode,
            followed: HashMap::new(),
            followed_paths: HashSet::new(),
            rate_limits: HashMap::new(),
            follow_filters,
            loaded_at: None,
            follows: HashMap::new(),
        })
    }

    /// Evaluates one recorded event; None when no hook of the policy saw it or no selector matched.
    pub fn evaluate(&mut self, event: &Event) -> Option<WhatIfMatch> {
        self.note_process(event);
        let (seen, args, ret) = match &event.body {
            EventBody::ProcessKprobe(k) => (
                Seen::Function(&k.function_name),
                &k.args,
                k.r#return.as_ref(),
            ),
            EventBody::ProcessLsm(l) => (Seen::Function(&l.function_name), &l.args, None),
            EventBody::ProcessTracepoint(t) => {
                (Seen::Tracepoint(&t.subsys, &t.event), &t.args, None)
            }
            EventBody::ProcessUprobe(u) => (Seen::Uprobe(&u.path, &u.symbol), &u.args, None),
            _ => return None,
        };
        let process = event.process()?;
        let pid = process.pid?;
        let hook_index = self.hooks.iter().position(|h| seen.is(h))?;
        let hook = &self.hooks[hook_index];
        let spec = hook.spec;
        let values = Values::read(&spec, args, ret);
        if spec.flags & hook_flags::FD_VIA_FOLLOW != 0 && !self.fds_followed(&spec, &values, pid) {
            return None;
        }
        let selectors = spec.selector_count as usize;
        let chosen = (0..selectors)
            .find(|&i| self.selector_matches(&spec, &spec.selectors[i], &values, process));
        if selectors > 0 && chosen.is_none() {
            return None;
        }
        let mut matched = WhatIfMatch {
            hook: hook.meta.function_name.clone(),
            selector: chosen.map_or(0, |i| i + 1),
            posted: true,
            rate_limited: false,
            verdict: None,
        };
        if let Some(index) = chosen {
            let selector = &spec.selectors[index];
            self.run_actions(selector, &values, pid, &mut matched);
            if matched.posted && self.held_back(selector, (hook_index, index + 1), &values, event) {
                matched.posted = false;
                matched.rate_limited = true;
            }
        }
        Some(matched)
    }

    /// The probes' rate limit: whether the selector's Post already posted the same arguments (in
    /// its scope) within its window before this event's time; otherwise this post opens one.
    fn held_back(
        &mut self,
        selector: &SelectorSpec,
        (hook, selector_number): (usize, usize),
        values: &Values,
        event: &Event,
    ) -> bool {
        let Some(post) = selector
            .actions
            .iter()
            .rfind(|a| a.kind == action::POST && a.rate_limit_ns != 0)
        else {
            return false;
        };
        let (Some(process), Some(time)) = (event.process(), event.time) else {
            return false;
        };
        let pid = process.pid.unwrap_or(0);
        let scope = match post.rate_scope {
            rate_scope::THREAD => process.tid.unwrap_or(pid),
            rate_scope::PROCESS => pid,
            _ => 0,
        };
        let now = time.unix_nanos() as u64;
        let key = (hook, selector_number, scope, values.rate_args());
        if let Some(&last) = self.rate_limits.get(&key)
            && rate_limited(last, now, post.rate_limit_ns)
        {
            return true;
        }
        self.rate_limits.insert(key, now);
        false
    }

    /// Notes which followChildren filters the event's process follows, the first time it is
    /// seen (its exec event, in a recording of everything).
    fn note_process(&mut self, event: &Event) {
        let time = event.time.map(|t| t.unix_nanos());
        self.loaded_at = self.loaded_at.or(time);
        let Some(process) = event.process() else {
            return;
        };
        if self.follow_filters.is_empty()
            || process.exec_id.is_empty()
            || self.follows.contains_key(&process.exec_id)
        {
            return;
        }
        let after_load = process
            .start_time
            .zip(self.loaded_at)
            .is_some_and(|(start, loaded)| start.unix_nanos() > loaded);
        let mut follows = Vec::new();
        if after_load {
            let inherited = self.follows.get(&process.parent_exec_id);
            let parent_binary = event.parent().map(|p| p.binary.as_str());
            for &filter in &self.follow_filters {
                let by_parent = parent_binary
                    .is_some_and(|binary| self.string_matches(op::EQUAL, filter, binary));
                if by_parent || inherited.is_some_and(|bits| bits.contains(&filter)) {
                    follows.push(filter);
                }
            }
        }
        self.follows.insert(process.exec_id.clone(), follows);
    }

    fn fds_followed(&self, spec: &HookSpec, values: &Values, pid: u32) -> bool {
        (0..spec.arg_count as usize)
            .filter(|&i| spec.arg_kind[i] == arg_kind::FD)
            .all(|i| {
                values
                    .text(i)
                    .is_some_and(|path| self.followed_paths.contains(&(pid, path.to_owned())))
            })
    }

    fn selector_matches(
        &self,
        spec: &HookSpec,
        selector: &SelectorSpec,
        values: &Values,
        process: &Process,
    ) -> bool {
        if selector.pid.op != op::NONE && !selector.pid.matches(pid_of(selector, process)) {
            return false;
        }
        if selector.binary_op != op::NONE {
            // A process forked by one of the binaries (followChildren) counts as one of them.
            let child = selector.binary_follow != 0
                && self
                    .follows
                    .get(&process.exec_id)
                    .is_some_and(|follows| follows.contains(&selector.binary_strings));
            let passed = match child {
                true => selector.binary_op == op::EQUAL,
                false => self.string_matches(
                    selector.binary_op,
                    selector.binary_strings,
                    &process.binary,
                ),
            };
            if !passed {
                return false;
            }
        }
        for filter in selector.args.iter().filter(|f| f.op != op::NONE) {
            if !self.arg_matches(spec, filter, values) {
                return false;
            }
        }
        let returns = &selector.returns[0];
        if returns.op != op::NONE && !values.ret.is_some_and(|r| returns.matches_integer(r)) {
            return false;
        }
        for filter in selector.namespaces.iter().filter(|f| f.op != op::NONE) {
            let inum = namespace_inum(process.ns.as_ref(), filter.slot as usize);
            if !inum.is_some_and(|inum| filter.matches(inum)) {
                return false;
            }
        }
        // Recorded events carry capabilities by name only when Tetragon added them; a
        // capability filter cannot be decided without them. Nor can a change since the exec:
        // events carry what the process has, not what it had at exec.
        selector.capabilities.iter().all(|f| f.op == op::NONE)
            && selector.namespace_changes.op == op::NONE
            && selector.capability_changes.op == op::NONE
    }

    fn arg_matches(&self, spec: &HookSpec, filter: &ArgFilter, values: &Values) -> bool {
        let arg = filter.arg as usize;
        match spec.arg_kind.get(arg) {
            // Recorded events carry a file's path, not its type: FileType cannot be decided.
            Some(&kind) if arg_kind::is_text(kind) && filter.is_file_type() => false,
            Some(&kind) if arg_kind::is_text(kind) => values
                .text(arg)
                .is_some_and(|text| self.string_matches(filter.op, filter.strings, text)),
            Some(&kind) if arg_kind::is_socket(kind) => values.socket(arg).is_some_and(|sock| {
                let listed = filter
                    .compared_address(&sock)
                    .is_some_and(|address| self.address_listed(filter.strings, &address));
                filter.matches_socket(&sock, listed)
            }),
            Some(_) if matches!(filter.op, op::IN_MAP | op::NOT_IN_MAP) => {
                values.number(arg).is_some_and(|value| {
                    let found = self.map_values.contains(&(filter.strings, value as u64));
                    filter.in_map_verdict(found)
                })
            }
            Some(_) => values
                .number(arg)
                .is_some_and(|value| filter.matches_integer(value)),
            None => false,
        }
    }

    /// Whether one of filter `filter`'s CIDRs holds `address` (the probes' trie lookup).
    fn address_listed(&self, filter: u32, address: &[u8; 16]) -> bool {
        let bits = |bytes: &[u8; 16]| u128::from_be_bytes(*bytes);
        self.addresses.iter().any(|entry| {
            let mask = u128::MAX.checked_shl(128 - entry.bits).unwrap_or(0);
            entry.filter == filter && bits(&entry.address) & mask == bits(address) & mask
        })
    }

    /// The probes' string test on `text`: the longest stored prefix (of the first bytes they
    /// compare) and the stored suffixes.
    fn string_matches(&self, operator: u32, filter: u32, text: &str) -> bool {
        let bytes = text.as_bytes();
        let head = &bytes[..bytes.len().min(MATCH_LEN)];
        let prefix = self
            .strings
            .get(&(false, filter))
            .into_iter()
            .flatten()
            .filter(|stored| head.starts_with(stored))
            .map(|stored| stored.len() as u32)
            .max()
            .unwrap_or(NO_PREFIX);
        let postfix = self
            .strings
            .get(&(true, filter))
            .into_iter()
            .flatten()
            .any(|reversed| bytes.iter().rev().take(reversed.len()).eq(reversed.iter()));
        string_verdict(operator, prefix, postfix, bytes.len() as u32)
    }

    fn run_actions(
        &mut self,
        selector: &SelectorSpec,
        values: &Values,
        pid: u32,
        out: &mut WhatIfMatch,
    ) {
        for act in &selector.actions {
            match act.kind {
                action::NO_POST => out.posted = false,
                action::SIGKILL | action::SIGNAL => {
                    let kill = act.kind == action::SIGKILL || act.signal == 9;
                    out.verdict = Some(match (self.mode, kill) {
                        (Mode::Enforce, true) => Verdict::Killed,
                        (Mode::Enforce, false) => Verdict::Signaled,
                        (Mode::Monitor, true) => Verdict::WouldKill,
                        (Mode::Monitor, false) => Verdict::WouldSignal,
                    });
                }
                action::OVERRIDE => {
                    out.verdict = Some(match self.mode {
                        Mode::Enforce => Verdict::Overridden,
                        Mode::Monitor => Verdict::WouldOverride,
                    });
                }
                action::FOLLOW_FD => {
                    if let (Some(fd), Some(path)) = (
                        values.number(act.arg_fd as usize),
                        values.text(act.arg_name as usize),
                    ) {
                        self.followed.insert((pid, fd as u64), path.to_owned());
                        self.followed_paths.insert((pid, path.to_owned()));
                    }
                }
                action::UNFOLLOW_FD => {
                    let fd = values.number(act.arg_fd as usize).unwrap_or(-1) as u64;
                    if self.followed.remove(&(pid, fd)).is_none() {
                        out.posted = false;
                    }
                }
                _ => {}
            }
        }
    }
}

/// The hook a recorded event names.
enum Seen<'a> {
    Function(&'a str),
    Tracepoint(&'a str, &'a str),
    Uprobe(&'a str, &'a str),
}

impl Seen<'_> {
    fn is(&self, hook: &CompiledHook) -> bool {
        match (self, &hook.meta.event) {
            (Seen::Function(function), HookEvent::Kprobe | HookEvent::Lsm) => {
                strip_syscall_prefix(function) == strip_syscall_prefix(&hook.meta.function_name)
            }
            (
                Seen::Tracepoint(subsys, event),
                HookEvent::Tracepoint {
                    subsys: s,
                    event: e,
                },
            ) => subsys == s && event == e,
            (
                Seen::Uprobe(path, symbol),
                HookEvent::Uprobe {
                    path: p, symbol: s, ..
                },
            ) => path == p && symbol == s,
            _ => false,
        }
    }
}

/// The pid a PID filter compares. Events carry host pids; a process in a container's init tree
/// (Tetragon's `in_init_tree`) stands for namespace pid 1.
fn pid_of(selector: &SelectorSpec, process: &Process) -> u32 {
    let pid = process.pid.unwrap_or(0);
    if selector.pid.flags & pid_flags::NAMESPACE_PID == 0 {
        return pid;
    }
    let host_pid_namespace = process
        .ns
        .as_ref()
        .and_then(|ns| ns.pid.as_ref())
        .is_none_or(|ns| ns.is_host);
    match process.in_init_tree {
        Some(true) => 1,
        _ if host_pid_namespace => pid,
        _ => u32::MAX,
    }
}

/// The inode number of a namespace slot (`ExecRecord::ns` order) from an event's `ns`.
fn namespace_inum(ns: Option<&Namespaces>, slot: usize) -> Option<u32> {
    let ns = ns?;
    let namespace = match slot {
        0 => &ns.uts,
        1 => &ns.ipc,
        2 => &ns.mnt,
        3 => &ns.pid_for_children,
        4 => &ns.net,
        5 => &ns.time,
        6 => &ns.time_for_children,
        7 => &ns.cgroup,
        8 => &ns.pid,
        9 => &ns.user,
        _ => return None,
    };
    namespace.as_ref().map(|n| n.inum)
}

/// A recorded event's arguments as the hook's argument list reads them.
struct Values<'a> {
    args: &'a [Value],
    kinds: [u32; 5],
    ret: Option<i64>,
}

impl<'a> Values<'a> {
    fn read(spec: &HookSpec, args: &'a [Value], ret: Option<&Value>) -> Self {
        Values {
            args,
            kinds: spec.arg_kind,
            ret: ret.and_then(number_of),
        }
    }

    /// Each argument as a rate limit's key holds it: the first bytes of its text, else its
    /// value; nothing of a buffer.
    fn rate_args(&self) -> Vec<[u8; RATE_ARG_BYTES]> {
        (0..self.kinds.len())
            .map(|i| {
                let mut bytes = [0; RATE_ARG_BYTES];
                if matches!(self.kinds[i], arg_kind::CHAR_BUF | arg_kind::NONE) {
                    return bytes;
                }
                if arg_kind::is_socket(self.kinds[i]) {
                    if let Some(sock) = self.socket(i) {
                        // SAFETY: SockRecord is plain old data; its first bytes, as the probes key.
                        let record: &[u8] = unsafe {
                            std::slice::from_raw_parts(
                                (&raw const sock).cast(),
                                size_of::<SockRecord>(),
                            )
                        };
                        bytes.copy_from_slice(&record[..RATE_ARG_BYTES]);
                    }
                    return bytes;
                }
                match self.text(i).filter(|_| arg_kind::is_text(self.kinds[i])) {
                    Some(text) => {
                        let head = &text.as_bytes()[..text.len().min(RATE_ARG_BYTES)];
                        bytes[..head.len()].copy_from_slice(head);
                    }
                    None => {
                        let value = self.number(i).unwrap_or(0) as u64;
                        bytes[..8].copy_from_slice(&value.to_ne_bytes());
                    }
                }
                bytes
            })
            .collect()
    }

    fn number(&self, position: usize) -> Option<i64> {
        self.args.get(position).and_then(number_of)
    }

    /// A `sock_arg` or `sockaddr_arg` as the probes hold it (a sockaddr's address and port as
    /// the source ones).
    fn socket(&self, position: usize) -> Option<SockRecord> {
        let arg = self.args.get(position)?;
        let number = |value: Option<&Value>, table: &Names<u16>| -> u16 {
            match value {
                Some(Value::String(name)) => table.parse(name).unwrap_or(0),
                Some(value) => value.as_u64().unwrap_or(0) as u16,
                None => 0,
            }
        };
        let port = |value: Option<&Value>| value.and_then(Value::as_u64).unwrap_or(0) as u16;
        let address = |value: Option<&Value>| -> [u8; 16] {
            let mut bytes = [0; 16];
            match value
                .and_then(Value::as_str)
                .map(str::parse::<std::net::IpAddr>)
            {
                Some(Ok(std::net::IpAddr::V4(v4))) => bytes[..4].copy_from_slice(&v4.octets()),
                Some(Ok(std::net::IpAddr::V6(v6))) => bytes = v6.octets(),
                _ => {}
            }
            bytes
        };
        if let Some(sock) = arg.get("sock_arg") {
            return Some(SockRecord {
                family: number(sock.get("family"), &ADDRESS_FAMILIES),
                kind: number(sock.get("type"), &SOCKET_TYPES),
                protocol: number(sock.get("protocol"), &IP_PROTOCOLS),
                state: number(sock.get("state"), &TCP_STATES) as u8,
                sport: port(sock.get("sport")),
                dport: port(sock.get("dport")),
                saddr: address(sock.get("saddr")),
                daddr: address(sock.get("daddr")),
                ..SockRecord::default()
            });
        }
        let sockaddr = arg.get("sockaddr_arg")?;
        Some(SockRecord {
            family: number(sockaddr.get("family"), &ADDRESS_FAMILIES),
            sport: port(sockaddr.get("port")),
            saddr: address(sockaddr.get("addr")),
            ..SockRecord::default()
        })
    }

    fn text(&self, position: usize) -> Option<&'a str> {
        if let Some(text) = field(self.args, position, &["string_arg"]) {
            return text.as_str();
        }
        ["file_arg", "path_arg", "linux_binprm_arg"]
            .iter()
            .find_map(|member| field(self.args, position, &[member, "path"]))?
            .as_str()
    }
}

/// The integer of a `KprobeArgument` (`int_arg`, `uint_arg`, `long_arg`, `size_arg`, the id of
/// a `syscall_id`), 64-bit ones written as strings. A syscall of the compat ABI (`i386`) has
/// Tetragon's `Is32Bit` mark, as the probes hold it.
fn number_of(arg: &Value) -> Option<i64> {
    if let Some(id) = arg.get("syscall_id") {
        let number = id.get("id")?.as_i64()?;
        let compat = compat_abi().is_some_and(|(abi, _)| id.get("abi") == Some(&json!(abi)));
        return Some(match compat {
            true => number | SYSCALL_32BIT as i64,
            false => number,
        });
    }
    ["int_arg", "uint_arg", "long_arg", "size_arg"]
        .iter()
        .find_map(|member| arg.get(*member))
        .or_else(|| arg.get("syscall_id")?.get("id"))
        .and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str()?.parse::<i128>().ok().map(|n| n as i64))
        })
}
