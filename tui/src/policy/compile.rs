//! Compilation of a resolved policy into what the probes evaluate: one `HookSpec` per hook, the
//! sites it is listed under and the strings its selectors compare with.
use std::net::IpAddr;

use tetrascope_shared::{
    NS_RECORD_SLOTS,
    policy::{
        ActionSpec, ArgFilter, CapabilityFilter, HookSpec, MATCH_LEN, MAX_ACTIONS, MAX_ARG_FILTERS,
        MAX_CAP_FILTERS, MAX_HOOK_ARGS, MAX_IN_MAP_VALUES, MAX_NS_FILTERS, MAX_SELECTORS,
        MAX_VALUES, MapValue, NamespaceChangeFilter, NamespaceFilter, POSTFIX_LEN, PidFilter,
        RETURN_SLOT, SYSCALL_32BIT, SelectorSpec, TracepointField, action, arg_kind, buf_size,
        hook_flags, op, pid_flags, rate_scope,
    },
};

use super::{
    model::{
        ActionKind, Arg, ArgOperator, ArgSelector, ArgType, BinaryOperator, CapabilitySet,
        ListSpec, NamespaceKind, Selector, SetOperator, TracingPolicy,
    },
    names::{self, ADDRESS_FAMILIES, IP_PROTOCOLS, Names, TCP_STATES},
    resolve::{CGROUP_OVERRIDES, HookKind, Mechanism, ResolvedHook, syscall_of},
    tracepoint_arg,
    user_actions::UserAction,
};
use crate::event::syscalls::{compat_abi, native_abi, syscall_name, syscall_number};

/// The Tetragon event a hook's hits become, and what it names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum HookEvent {
    /// `process_kprobe`.
    #[default]
    Kprobe,
    /// `process_lsm`.
    Lsm,
    Tracepoint {
        subsys: String,
        event: String,
    },
    Uprobe {
        path: String,
        symbol: String,
        offset: u64,
    },
}

/// What an event of a hook needs that the kernel record does not carry.
#[derive(Clone, Debug, Default)]
pub struct HookMeta {
    pub policy_name: String,
    pub event: HookEvent,
    pub function_name: String,
    pub message: String,
    pub tags: Vec<String>,
    /// Type and label of each argument, in the record's order.
    pub args: Vec<(ArgType, Option<String>)>,
    /// Set for hooks at a syscall's exit: the type of the return value.
    pub return_type: Option<ArgType>,
    /// The user-space actions (GetUrl, DnsLookup) of each selector, by position.
    pub user_actions: Vec<Vec<UserAction>>,
}

#[derive(Clone, Debug)]
pub struct CompiledHook {
    pub spec: HookSpec,
    /// Where it is listed.
    pub mechanisms: Vec<Mechanism>,
    pub meta: HookMeta,
    /// A tracepoint hook's record field of each argument (the load gives each its slot).
    pub record_fields: Vec<TracepointField>,
}

/// A selector string: under `filter`, the bytes compared (reversed for postfix).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StringEntry {
    pub postfix: bool,
    pub filter: u32,
    pub bytes: Vec<u8>,
}

/// A CIDR of an address operator (SAddr, DAddr…): under `filter`, the first `bits` of
/// `address` (IPv4 mapped into IPv6, as the probes compare).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressEntry {
    pub filter: u32,
    pub address: [u8; 16],
    pub bits: u32,
}

#[derive(Clone, Debug, Default)]
pub struct CompiledPolicy {
    pub hooks: Vec<CompiledHook>,
    pub strings: Vec<StringEntry>,
    /// The values of InMap and NotInMap filters.
    pub map_values: Vec<MapValue>,
    /// The CIDRs of address operators.
    pub addresses: Vec<AddressEntry>,
    /// The policy follows fds (FollowFD family): duplicated fds are followed too.
    pub follows_fds: bool,
}

impl CompiledPolicy {
    /// Whether some selector fails syscalls (`Override`).
    pub fn overrides(&self) -> bool {
        self.hooks.iter().any(|hook| {
            hook.spec.selectors.iter().any(|selector| {
                selector
                    .actions
                    .iter()
                    .any(|act| act.kind == action::OVERRIDE)
            })
        })
    }
}

/// Where a hook's selectors put what does not fit their specs: strings, InMap values, CIDRs.
type FilterOutputs<'a> = (
    &'a mut Vec<StringEntry>,
    &'a mut Vec<MapValue>,
    &'a mut Vec<AddressEntry>,
);

/// Context shared by the hooks of one policy.
pub struct Compiler<'a> {
    /// Inode numbers of the host's namespaces, for `host_ns`.
    pub host_namespaces: &'a [u32; NS_RECORD_SLOTS],
    /// The next free string filter id (shared by all policies).
    pub next_filter: &'a mut u32,
}

impl Compiler<'_> {
    /// Compiles every hook; the errors name the field that cannot be evaluated here.
    pub fn compile(
        &mut self,
        policy: &TracingPolicy,
        resolved: &[ResolvedHook],
    ) -> Result<CompiledPolicy, Vec<String>> {
        let follows = uses_follow_fd(policy);
        let mut out = CompiledPolicy {
            follows_fds: follows,
            ..CompiledPolicy::default()
        };
        let mut errors = Vec::new();
        for hook in resolved {
            let mechanisms = match &hook.mechanisms {
                Ok(mechanisms) => mechanisms,
                Err(reason) => {
                    errors.push(format!("{}: {reason}", hook.field()));
                    continue;
                }
            };
            let outputs = (&mut out.strings, &mut out.map_values, &mut out.addresses);
            match self.hook(policy, hook, mechanisms, follows, outputs) {
                Ok(compiled) if compiled.mechanisms.iter().any(Mechanism::is_probe) => {
                    out.hooks.extend(per_probe(compiled));
                }
                Ok(compiled) => out.hooks.push(compiled),
                Err(error) => errors.push(format!("{}.{error}", hook.field())),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    fn hook(
        &mut self,
        policy: &TracingPolicy,
        hook: &ResolvedHook,
        mechanisms: &[Mechanism],
        follows: bool,
        (strings, map_values, addresses): FilterOutputs,
    ) -> Result<CompiledHook, String> {
        let parts = HookParts::of(policy, hook);
        let macros = &policy.spec.selectors_macros;
        let selectors: Vec<Selector> = parts.selectors.iter().map(|s| s.expanded(macros)).collect();
        let at_open = mechanisms.contains(&Mechanism::OpenExit);
        let is_return = mechanisms
            .iter()
            .any(|m| matches!(m, Mechanism::SyscallExit { .. }));
        // A return probe's returned value is one more argument, read from its own raw slot.
        let probe_return = mechanisms.iter().any(|m| {
            matches!(
                m,
                Mechanism::Uprobe { ret: true, .. } | Mechanism::Kprobe { ret: true, .. }
            )
        });
        let in_kernel = mechanisms.iter().any(Mechanism::reads_kernel_arguments);
        let mut args = parts.args.to_vec();
        let return_position = match (probe_return, parts.return_arg) {
            (true, Some(ret)) => {
                args.push(Arg {
                    label: ret.label.clone().or_else(|| Some("return".into())),
                    ..ret.clone()
                });
                Some(args.len() as u32 - 1)
            }
            (true, None) => return Err("returnArg: required with return: true".into()),
            _ => None,
        };
        // `policy` (the slot) is set when the policy is loaded.
        let mut spec = HookSpec::default();
        if args.len() > MAX_HOOK_ARGS {
            let with = if return_position.is_some() {
                " (the returnArg counts as one)"
            } else {
                ""
            };
            return Err(format!("args: at most {MAX_HOOK_ARGS} arguments{with}"));
        }
        spec.arg_count = args.len() as u32;
        let format = mechanisms.iter().find_map(|m| match m {
            Mechanism::Tracepoint { format, .. } => Some(format),
            _ => None,
        });
        let mut arg_types = Vec::new();
        let mut record_fields = Vec::new();
        for (position, arg) in args.iter().enumerate() {
            let ty = match format {
                Some(format) => {
                    let read = tracepoint_arg::read(arg, format)
                        .map_err(|reason| format!("args[{position}].{reason}"))?;
                    spec.arg_kind[position] = read.kind;
                    spec.arg_index[position] = position as u32;
                    record_fields.push(read.field);
                    read.ty
                }
                None => {
                    let field = match return_position {
                        Some(at) if at as usize == position => "returnArg".to_owned(),
                        _ => format!("args[{position}]"),
                    };
                    let kind = if in_kernel {
                        kernel_arg_kind(arg.ty)
                    } else {
                        arg_kind_at(arg.ty, at_open)
                    };
                    spec.arg_kind[position] =
                        kind.map_err(|reason| format!("{field}.type: {reason}"))?;
                    spec.arg_index[position] = match return_position {
                        Some(at) if at as usize == position => RETURN_SLOT,
                        _ => arg.index,
                    };
                    if spec.arg_kind[position] == arg_kind::CHAR_BUF {
                        spec.buf_size[position] = buffer_size(arg, is_return)
                            .map_err(|reason| format!("args[{position}].{reason}"))?;
                    }
                    arg.ty
                }
            };
            arg_types.push((ty, arg.label.clone()));
        }
        // The probes turn such a hook away early for processes that follow no fd at all.
        if follows && spec.arg_kind.contains(&arg_kind::FD) {
            spec.flags |= hook_flags::FD_VIA_FOLLOW;
        }
        if only_maintains_follows(&selectors) {
            spec.flags |= hook_flags::ONLY_WITH_FOLLOWS;
        }
        if selectors.len() > MAX_SELECTORS {
            return Err(format!("selectors: at most {MAX_SELECTORS}"));
        }
        spec.selector_count = selectors.len() as u32;
        let types: Vec<ArgType> = arg_types.iter().map(|(ty, _)| *ty).collect();
        let mut user_actions = Vec::new();
        for (index, selector) in selectors.iter().enumerate() {
            let mut compiler = SelectorCompiler {
                args: &args,
                return_position,
                types: &types,
                index_may_be_position: hook.kind == HookKind::Tracepoint,
                is_return,
                overridable: mechanisms.iter().all(Mechanism::is_cgroup_overridable),
                host_namespaces: self.host_namespaces,
                next_filter: self.next_filter,
                lists: &policy.spec.lists,
                strings,
                map_values,
                addresses,
                postfix: false,
                user_actions: Vec::new(),
            };
            spec.selectors[index] = compiler
                .compile(selector)
                .map_err(|error| format!("selectors[{index}].{error}"))?;
            if compiler.postfix {
                spec.flags |= hook_flags::POSTFIX;
            }
            user_actions.push(compiler.user_actions);
        }
        Ok(CompiledHook {
            spec,
            mechanisms: mechanisms.to_vec(),
            meta: HookMeta {
                policy_name: policy.name.clone(),
                event: match mechanisms.first() {
                    Some(
                        Mechanism::Tracepoint {
                            subsystem, event, ..
                        }
                        | Mechanism::RawTracepoint { subsystem, event },
                    ) => HookEvent::Tracepoint {
                        subsys: subsystem.clone(),
                        event: event.clone(),
                    },
                    _ if hook.kind == HookKind::LsmHook => HookEvent::Lsm,
                    _ => HookEvent::Kprobe,
                },
                function_name: hook.function_name.clone(),
                message: parts.message.unwrap_or_default().to_owned(),
                tags: parts.tags.to_vec(),
                args: arg_types,
                return_type: is_return
                    .then(|| parts.return_arg.map_or(ArgType::Long, |arg| arg.ty)),
                user_actions,
            },
            record_fields,
        })
    }
}

/// The user-space part of an action: GetUrl's URL, DnsLookup's name (validation made sure
/// they are there).
fn user_action(act: &super::model::ActionSelector) -> Option<UserAction> {
    match act.action {
        ActionKind::GetUrl => Some(UserAction::GetUrl(act.arg_url.clone()?)),
        ActionKind::DnsLookup => Some(UserAction::DnsLookup(act.arg_fqdn.clone()?)),
        _ => None,
    }
}

/// A kprobe or uprobe hook as one compiled hook per place it is attached, so that each hit
/// names its function (a kprobe on a `list:`), or its symbol and offset.
fn per_probe(hook: CompiledHook) -> Vec<CompiledHook> {
    hook.mechanisms
        .iter()
        .map(|mechanism| {
            let mut one = hook.clone();
            one.mechanisms = vec![mechanism.clone()];
            match mechanism {
                Mechanism::Uprobe {
                    path,
                    symbol,
                    offset,
                    ..
                } => {
                    one.meta.function_name =
                        symbol.clone().unwrap_or_else(|| format!("{offset:#x}"));
                    one.meta.event = HookEvent::Uprobe {
                        path: path.clone(),
                        symbol: symbol.clone().unwrap_or_default(),
                        offset: *offset,
                    };
                }
                // An LSM hook keeps its hook's name.
                Mechanism::Kprobe { function, .. } if one.meta.event == HookEvent::Kprobe => {
                    one.meta.function_name = function.clone();
                }
                // Syscalls of the same `list:` share the syscall sites.
                _ => {}
            }
            one
        })
        .collect()
}

/// The parts of a hook spec compilation reads.
struct HookParts<'a> {
    args: &'a [Arg],
    selectors: &'a [Selector],
    message: Option<&'a str>,
    tags: &'a [String],
    return_arg: Option<&'a Arg>,
}

impl<'a> HookParts<'a> {
    fn of(policy: &'a TracingPolicy, hook: &ResolvedHook) -> Self {
        let spec = &policy.spec;
        match hook.kind {
            HookKind::Tracepoint => {
                let tracepoint = &spec.tracepoints[hook.index];
                HookParts {
                    args: &tracepoint.args,
                    selectors: &tracepoint.selectors,
                    message: tracepoint.message.as_deref(),
                    tags: &tracepoint.tags,
                    return_arg: None,
                }
            }
            HookKind::Uprobe => {
                let uprobe = &spec.uprobes[hook.index];
                HookParts {
                    args: &uprobe.args,
                    selectors: &uprobe.selectors,
                    message: uprobe.message.as_deref(),
                    tags: &uprobe.tags,
                    return_arg: uprobe.return_arg.as_ref(),
                }
            }
            HookKind::LsmHook => {
                let lsm = &spec.lsmhooks[hook.index];
                HookParts {
                    args: &lsm.args,
                    selectors: &lsm.selectors,
                    message: lsm.message.as_deref(),
                    tags: &lsm.tags,
                    return_arg: None,
                }
            }
            _ => {
                let kprobe = &spec.kprobes[hook.index];
                HookParts {
                    args: &kprobe.args,
                    selectors: &kprobe.selectors,
                    message: kprobe.message.as_deref(),
                    tags: &kprobe.tags,
                    return_arg: kprobe.return_arg.as_ref(),
                }
            }
        }
    }
}

/// Whether the policy keeps fd → path itself (FollowFD family): its `fd` arguments then come
/// from that map, as in Tetragon up to v1.7.
fn uses_follow_fd(policy: &TracingPolicy) -> bool {
    policy
        .selectors()
        .flat_map(|s| s.match_actions.iter().chain(&s.match_return_actions))
        .any(|a| {
            matches!(
                a.action,
                ActionKind::FollowFd | ActionKind::UnfollowFd | ActionKind::CopyFd
            )
        })
}

/// Whether every selector only unfollows or copies followed fds (a `close` hook of a FollowFD
/// policy): such a hook has nothing to do in a process that follows no fd.
fn only_maintains_follows(selectors: &[Selector]) -> bool {
    !selectors.is_empty()
        && selectors.iter().all(|selector| {
            let actions = &selector.match_actions;
            actions
                .iter()
                .any(|a| matches!(a.action, ActionKind::UnfollowFd | ActionKind::CopyFd))
                && actions.iter().all(|a| {
                    matches!(
                        a.action,
                        ActionKind::UnfollowFd
                            | ActionKind::CopyFd
                            | ActionKind::Post
                            | ActionKind::NoPost
                    )
                })
        })
}

/// Where the probes find the length of a `char_buf` argument: the argument `sizeArgIndex` names
/// (1-based), or with `returnCopy` the return value at the syscall's exit (a hook with `return:
/// true`; elsewhere the buffer is not filled yet and, as without a size, nothing is read).
fn buffer_size(arg: &Arg, is_return: bool) -> Result<u32, String> {
    if arg.return_copy {
        return Ok(if is_return {
            buf_size::RETURN
        } else {
            buf_size::NONE
        });
    }
    match arg.size_arg_index {
        None => Ok(buf_size::NONE),
        Some(at @ 1..=6) => Ok(at),
        Some(at) => Err(format!(
            "sizeArgIndex: {at} is not an argument (1-based, 1..=6)"
        )),
    }
}

/// How a kprobe or raw tracepoint reads an argument of type `ty` (kernel values).
fn kernel_arg_kind(ty: ArgType) -> Result<u32, String> {
    use ArgType::*;
    Ok(match ty {
        String => arg_kind::KERNEL_STRING,
        File => arg_kind::FILE_OBJECT,
        Path => arg_kind::PATH_OBJECT,
        LinuxBinprm => arg_kind::BINPRM,
        Kiocb => arg_kind::KIOCB,
        Cred => arg_kind::CRED,
        Sock => arg_kind::SOCK,
        Socket => arg_kind::SOCKET,
        Sockaddr => arg_kind::SOCKADDR,
        Auto => {
            return Err(
                "auto: these arguments have no format file to tell their type; give it".into(),
            );
        }
        Fd | Nop | Int | Sint8 | Int8 | Sint16 | Int16 | Sint32 | Int32 | Uint8 | Uint16
        | Uint32 | Long | Sint64 | Int64 | Ulong | Uint64 | SizeT => arg_kind_at(ty, false)?,
        other => {
            return Err(format!(
                "{other:?} is not captured by tetrascope's kprobes yet (file, path, linux_binprm, kiocb, cred, sock, socket, sockaddr, string, fd and integers are)"
            ));
        }
    })
}

/// How the probe reads an argument of type `ty` at a syscall site or a uprobe (user values), or
/// at the open site (where every argument is the new fd: as a number, or as its file).
fn arg_kind_at(ty: ArgType, at_open: bool) -> Result<u32, String> {
    use ArgType::*;
    Ok(match ty {
        Int | Sint8 | Int8 | Sint16 | Int16 | Sint32 | Int32 => arg_kind::INT,
        Uint8 | Uint16 | Uint32 => arg_kind::UINT,
        Long | Sint64 | Int64 => arg_kind::LONG,
        Ulong | Uint64 | SizeT => arg_kind::ULONG,
        Nop => arg_kind::NONE,
        Fd | File | Path | Kiocb | Dentry if at_open => arg_kind::FILE,
        _ if at_open => {
            return Err(format!(
                "{ty:?} is not available where the open family returns"
            ));
        }
        String | Filename | DataLoc => arg_kind::STRING,
        Fd => arg_kind::FD,
        // connect, bind, sendto: the address the caller passes.
        Sockaddr => arg_kind::USER_SOCKADDR,
        // A socket fd (`security_socket_connect`'s socket served at connect's entry).
        Sock | Socket => arg_kind::SOCKET_FD,
        CharBuf | CharIovec => arg_kind::CHAR_BUF,
        File | Path | Dentry | Kiocb => {
            return Err(format!(
                "{ty:?} is a kernel object: a syscall's arguments are user values (use fd)"
            ));
        }
        other => {
            return Err(format!(
                "{other:?} is not captured from syscall arguments or registers"
            ));
        }
    })
}

struct SelectorCompiler<'a> {
    args: &'a [Arg],
    /// A return uprobe's returned value: its position in `args` (the last).
    return_position: Option<u32>,
    /// The type of each argument (a tracepoint's `auto` resolved from its field).
    types: &'a [ArgType],
    /// matchArgs `index` may be the position in `args` (tracepoints), not only an argument's
    /// `index`.
    index_may_be_position: bool,
    is_return: bool,
    /// Every place of the hook is a syscall entry a cgroup program can fail (`Override`).
    overridable: bool,
    host_namespaces: &'a [u32; NS_RECORD_SLOTS],
    next_filter: &'a mut u32,
    lists: &'a [ListSpec],
    strings: &'a mut Vec<StringEntry>,
    map_values: &'a mut Vec<MapValue>,
    addresses: &'a mut Vec<AddressEntry>,
    /// Some filter compares ends of strings.
    postfix: bool,
    /// The selector's user-space actions, done once its event arrives.
    user_actions: Vec<UserAction>,
}

impl SelectorCompiler<'_> {
    fn compile(&mut self, selector: &Selector) -> Result<SelectorSpec, String> {
        let unsupported = [
            ("matchData", selector.match_data.is_empty()),
            (
                "matchParentBinaries",
                selector.match_parent_binaries.is_empty(),
            ),
        ];
        if let Some((field, _)) = unsupported.iter().find(|(_, empty)| !empty) {
            return Err(format!("{field}: not evaluated by tetrascope's probes yet"));
        }
        let mut spec = SelectorSpec::default();
        if selector.match_pids.len() > 1 {
            return Err("matchPIDs: one entry per selector here".into());
        }
        if let Some(pids) = selector.match_pids.first() {
            if pids.values.len() > MAX_VALUES {
                return Err(format!("matchPIDs[0].values: at most {MAX_VALUES}"));
            }
            let mut filter = PidFilter {
                op: set_op(pids.operator),
                count: pids.values.len() as u32,
                ..PidFilter::default()
            };
            if pids.is_namespace_pid {
                filter.flags |= pid_flags::NAMESPACE_PID;
            }
            if pids.follow_forks {
                filter.flags |= pid_flags::FOLLOW_FORKS;
            }
            filter.values[..pids.values.len()].copy_from_slice(&pids.values);
            spec.pid = filter;
        }
        if let Some(binaries) = selector.match_binaries.first() {
            if binaries.follow_children {
                if !matches!(
                    binaries.operator,
                    BinaryOperator::In | BinaryOperator::NotIn
                ) {
                    return Err(
                        "matchBinaries[0].followChildren: with the operators In and NotIn only"
                            .into(),
                    );
                }
                // The load gives the selector its bit.
                spec.binary_follow = 1;
            }
            let operator = match binaries.operator {
                BinaryOperator::In => op::EQUAL,
                BinaryOperator::NotIn => op::NOT_EQUAL,
                BinaryOperator::Prefix => op::PREFIX,
                BinaryOperator::NotPrefix => op::NOT_PREFIX,
                BinaryOperator::Postfix => op::POSTFIX,
                BinaryOperator::NotPostfix => op::NOT_POSTFIX,
            };
            spec.binary_op = operator;
            spec.binary_strings = self
                .strings(operator, &binaries.values)
                .map_err(|e| format!("matchBinaries[0].values: {e}"))?;
        }
        if selector.match_args.len() > MAX_ARG_FILTERS {
            return Err(format!("matchArgs: at most {MAX_ARG_FILTERS}"));
        }
        for (index, filter) in selector.match_args.iter().enumerate() {
            spec.args[index] = self
                .arg_filter(filter)
                .map_err(|e| format!("matchArgs[{index}].{e}"))?;
        }
        if let Some(position) = self.return_position {
            // A return uprobe's value is an argument: its filters are argument filters.
            for (index, filter) in selector.match_return_args.iter().enumerate() {
                let at = selector.match_args.len() + index;
                if at >= MAX_ARG_FILTERS {
                    return Err(format!(
                        "matchReturnArgs: at most {MAX_ARG_FILTERS} filters with matchArgs"
                    ));
                }
                let on_return = ArgSelector {
                    args: vec![position],
                    ..filter.clone()
                };
                spec.args[at] = self
                    .arg_filter(&on_return)
                    .map_err(|e| format!("matchReturnArgs[{index}].{e}"))?;
            }
        } else if let Some(returns) = selector.match_return_args.first() {
            if !self.is_return || selector.match_return_args.len() > 1 {
                return Err("matchReturnArgs: one filter, on return probes only".into());
            }
            spec.returns[0] =
                integer_filter(returns, 0).map_err(|e| format!("matchReturnArgs[0].{e}"))?;
        }
        if selector.match_namespaces.len() > MAX_NS_FILTERS {
            return Err(format!("matchNamespaces: at most {MAX_NS_FILTERS} here"));
        }
        for (index, ns) in selector.match_namespaces.iter().enumerate() {
            spec.namespaces[index] = self
                .namespace_filter(ns.namespace, ns.operator, &ns.values)
                .map_err(|e| format!("matchNamespaces[{index}].values: {e}"))?;
        }
        if selector.match_capabilities.len() > MAX_CAP_FILTERS {
            return Err(format!("matchCapabilities: at most {MAX_CAP_FILTERS} here"));
        }
        for (index, caps) in selector.match_capabilities.iter().enumerate() {
            spec.capabilities[index] = self.capability_filter(caps);
        }
        // Tetragon takes one matchNamespaceChanges filter, and evaluates the first
        // matchCapabilityChanges one only: more are refused rather than ignored.
        match selector.match_namespace_changes.as_slice() {
            [] => {}
            [changes] => {
                spec.namespace_changes = NamespaceChangeFilter {
                    op: set_op(changes.operator),
                    mask: changes
                        .values
                        .iter()
                        .fold(0, |mask, kind| mask | 1 << namespace_slot(*kind)),
                };
            }
            _ => return Err("matchNamespaceChanges: one filter per selector".into()),
        }
        match selector.match_capability_changes.as_slice() {
            [] => {}
            [changes] => spec.capability_changes = self.capability_filter(changes),
            _ => return Err("matchCapabilityChanges: one filter per selector".into()),
        }
        // A return hook is evaluated once, at the return: its actions and then its return
        // actions (only return hooks have those) all run there.
        let actions: Vec<_> = (selector.match_actions.iter().enumerate())
            .map(|(index, act)| ("matchActions", index, act))
            .chain(
                (selector.match_return_actions.iter().enumerate())
                    .map(|(index, act)| ("matchReturnActions", index, act)),
            )
            .collect();
        if actions.len() > MAX_ACTIONS {
            return Err(format!(
                "matchActions: at most {MAX_ACTIONS} actions here, matchReturnActions included"
            ));
        }
        for (slot, (field, index, act)) in actions.into_iter().enumerate() {
            spec.actions[slot] = self
                .action(act)
                .map_err(|e| format!("{field}[{index}].{e}"))?;
            self.user_actions.extend(user_action(act));
        }
        Ok(spec)
    }

    /// A matchCapabilities (or matchCapabilityChanges) filter; with isNamespaceCapability it
    /// names the host's user namespace, where it does not apply.
    fn capability_filter(&self, caps: &super::model::CapabilitiesSelector) -> CapabilityFilter {
        CapabilityFilter {
            op: set_op(caps.operator),
            set: match caps.set {
                CapabilitySet::Effective => 0,
                CapabilitySet::Inheritable => 1,
                CapabilitySet::Permitted => 2,
            },
            mask: caps.values.iter().fold(0u64, |mask, cap| mask | 1 << cap),
            host_user_ns: match caps.is_namespace_capability {
                true => self.host_namespaces[NS_RECORD_SLOTS - 1],
                false => 0,
            },
            _pad: 0,
        }
    }

    /// Position in the hook's argument list of the argument with `index`.
    fn position(&self, index: u32) -> Result<u32, String> {
        self.args
            .iter()
            .position(|arg| arg.index == index)
            .map(|p| p as u32)
            .ok_or_else(|| format!("no argument with index {index} in the hook's args"))
    }

    fn arg_filter(&mut self, filter: &ArgSelector) -> Result<ArgFilter, String> {
        let position = match filter.args.first() {
            Some(position) => *position,
            // As validation reads it: the format field an arg reads, else the arg's position
            // (Tetragon's tracepoint examples use positions).
            None if self.index_may_be_position => {
                self.position(filter.index).unwrap_or(filter.index)
            }
            None => self
                .position(filter.index)
                .map_err(|e| format!("index: {e}"))?,
        };
        let ty = *self
            .types
            .get(position as usize)
            .ok_or_else(|| format!("args: position {position} is past the hook's args"))?;
        let is_string = matches!(
            ty,
            ArgType::String
                | ArgType::Filename
                | ArgType::DataLoc
                | ArgType::Fd
                | ArgType::File
                | ArgType::Path
                | ArgType::Dentry
                | ArgType::Kiocb
                | ArgType::LinuxBinprm
        );
        if matches!(ty, ArgType::Sock | ArgType::Socket | ArgType::Sockaddr) {
            return self.socket_filter(filter, position);
        }
        if ty == ArgType::Cred {
            return Err(format!(
                "operator: {:?} on a cred: tetrascope reports these arguments but does not filter on them yet",
                filter.operator
            ));
        }
        if matches!(ty, ArgType::CharBuf | ArgType::CharIovec) {
            return Err(format!(
                "operator: {:?} on a buffer: tetrascope's probes do not compare buffer contents",
                filter.operator
            ));
        }
        if !is_string {
            if matches!(filter.operator, ArgOperator::InMap | ArgOperator::NotInMap) {
                return self.in_map_filter(filter, position);
            }
            return integer_filter(filter, position);
        }
        if matches!(
            filter.operator,
            ArgOperator::FileType | ArgOperator::NotFileType
        ) {
            return file_type_filter(filter, position);
        }
        let operator = match filter.operator {
            ArgOperator::Equal => op::EQUAL,
            ArgOperator::NotEqual => op::NOT_EQUAL,
            ArgOperator::Prefix => op::PREFIX,
            ArgOperator::NotPrefix => op::NOT_PREFIX,
            ArgOperator::Postfix => op::POSTFIX,
            ArgOperator::NotPostfix => op::NOT_POSTFIX,
            other => {
                return Err(format!(
                    "operator: {other:?} on a string or path is not evaluated by tetrascope's probes yet"
                ));
            }
        };
        let strings = self
            .strings(operator, &filter.values)
            .map_err(|e| format!("values: {e}"))?;
        Ok(ArgFilter {
            op: operator,
            arg: position,
            count: filter.values.len() as u32,
            strings,
            values: [0; MAX_VALUES],
        })
    }

    /// An InMap or NotInMap filter: its values (integers, ranges, syscall lists) go into the
    /// probes' value map under a new filter id.
    fn in_map_filter(&mut self, filter: &ArgSelector, position: u32) -> Result<ArgFilter, String> {
        let mut values = std::collections::BTreeSet::new();
        for (i, value) in filter.values.iter().enumerate() {
            in_map_values(value, self.lists, &mut values)
                .map_err(|e| format!("values[{i}]: {e}"))?;
        }
        if values.len() > MAX_IN_MAP_VALUES as usize {
            return Err(format!(
                "values: {} values, at most {MAX_IN_MAP_VALUES}",
                values.len()
            ));
        }
        let id = *self.next_filter;
        *self.next_filter += 1;
        self.map_values.extend(values.iter().map(|&value| MapValue {
            filter: id,
            _pad: 0,
            value,
        }));
        Ok(ArgFilter {
            op: match filter.operator {
                ArgOperator::InMap => op::IN_MAP,
                _ => op::NOT_IN_MAP,
            },
            arg: position,
            count: values.len() as u32,
            strings: id,
            values: [0; MAX_VALUES],
        })
    }

    /// A socket operator: CIDRs go into `addresses` under a new filter id; ports, protocols,
    /// families and states into the filter's values as ranges (`low | high << 32`).
    fn socket_filter(&mut self, filter: &ArgSelector, position: u32) -> Result<ArgFilter, String> {
        use ArgOperator::*;
        let operator = match filter.operator {
            SAddr => op::SADDR,
            NotSAddr => op::NOT_SADDR,
            DAddr => op::DADDR,
            NotDAddr => op::NOT_DADDR,
            SPort => op::SPORT,
            NotSPort => op::NOT_SPORT,
            SPortPriv => op::SPORT_PRIV,
            NotSPortPriv => op::NOT_SPORT_PRIV,
            DPort => op::DPORT,
            NotDPort => op::NOT_DPORT,
            DPortPriv => op::DPORT_PRIV,
            NotDPortPriv => op::NOT_DPORT_PRIV,
            Protocol => op::PROTOCOL,
            Family => op::FAMILY,
            State => op::STATE,
            other => {
                return Err(format!(
                    "operator: {other:?} does not apply to sockets (socket operators do)"
                ));
            }
        };
        let mut spec = ArgFilter {
            op: operator,
            arg: position,
            count: 0,
            strings: 0,
            values: [0; MAX_VALUES],
        };
        if matches!(
            operator,
            op::SADDR | op::NOT_SADDR | op::DADDR | op::NOT_DADDR
        ) {
            let id = *self.next_filter;
            *self.next_filter += 1;
            for (i, value) in filter.values.iter().enumerate() {
                let (address, bits) = cidr(value).map_err(|e| format!("values[{i}]: {e}"))?;
                self.addresses.push(AddressEntry {
                    filter: id,
                    address,
                    bits,
                });
            }
            spec.strings = id;
            spec.count = filter.values.len() as u32;
            return Ok(spec);
        }
        if filter.values.len() > MAX_VALUES {
            return Err(format!(
                "values: at most {MAX_VALUES} values or ranges per filter here; split them over selectors"
            ));
        }
        let table = match operator {
            op::PROTOCOL => Some(&IP_PROTOCOLS),
            op::FAMILY => Some(&ADDRESS_FAMILIES),
            op::STATE => Some(&TCP_STATES),
            _ => None,
        };
        for (i, value) in filter.values.iter().enumerate() {
            let (low, high) =
                numeric_range(value, table).map_err(|e| format!("values[{i}]: {e}"))?;
            spec.values[i] = (low as u64 | (high as u64) << 32) as i64;
        }
        spec.count = filter.values.len() as u32;
        Ok(spec)
    }

    /// Allocates a filter id and adds `values` under it.
    fn strings(&mut self, operator: u32, values: &[String]) -> Result<u32, String> {
        let filter = *self.next_filter;
        *self.next_filter += 1;
        let postfix = matches!(operator, op::POSTFIX | op::NOT_POSTFIX);
        self.postfix |= postfix;
        let limit = if postfix { POSTFIX_LEN } else { MATCH_LEN };
        for value in values {
            if value.len() > limit {
                return Err(format!(
                    "{value:?} is {} bytes; at most {limit} are compared",
                    value.len()
                ));
            }
            let mut bytes = value.as_bytes().to_vec();
            if postfix {
                bytes.reverse();
            }
            self.strings.push(StringEntry {
                postfix,
                filter,
                bytes,
            });
        }
        Ok(filter)
    }

    fn namespace_filter(
        &self,
        kind: NamespaceKind,
        operator: SetOperator,
        values: &[String],
    ) -> Result<NamespaceFilter, String> {
        let slot = namespace_slot(kind);
        if values.len() > MAX_VALUES {
            return Err(format!("at most {MAX_VALUES}"));
        }
        let mut filter = NamespaceFilter {
            op: set_op(operator),
            slot: slot as u32,
            count: values.len() as u32,
            ..NamespaceFilter::default()
        };
        for (i, value) in values.iter().enumerate() {
            filter.values[i] = if value == "host_ns" {
                self.host_namespaces[slot]
            } else {
                value
                    .parse()
                    .map_err(|_| format!("{value:?} is neither an inode number nor host_ns"))?
            };
        }
        Ok(filter)
    }

    fn action(&self, act: &super::model::ActionSelector) -> Result<ActionSpec, String> {
        let position = |index: Option<u32>, field: &str| -> Result<u32, String> {
            let index = index.ok_or_else(|| format!("{field}: required"))?;
            self.position(index).map_err(|e| format!("{field}: {e}"))
        };
        let kind = match act.action {
            ActionKind::Post => action::POST,
            ActionKind::NoPost => action::NO_POST,
            ActionKind::Sigkill => action::SIGKILL,
            ActionKind::Signal => action::SIGNAL,
            ActionKind::FollowFd => action::FOLLOW_FD,
            ActionKind::UnfollowFd => action::UNFOLLOW_FD,
            ActionKind::CopyFd => action::COPY_FD,
            // Done in user space when the event arrives (`user_action`): nothing for the probes
            // but the post.
            ActionKind::GetUrl | ActionKind::DnsLookup => action::NONE,
            ActionKind::Override if self.overridable => action::OVERRIDE,
            ActionKind::Override => {
                return Err(format!(
                    "action: Override: this kernel has no bpf_override_return, fmod_ret or BPF LSM; tetrascope serves Override through cgroup programs at the entry of {} only",
                    CGROUP_OVERRIDES.join(", ")
                ));
            }
            // The enforcer would deny the syscall and send the signal; with SIGKILL the process
            // dies before it can see what the syscall returned, so a kill at the hit serves it.
            ActionKind::NotifyEnforcer if act.arg_sig == Some(9) => action::SIGKILL,
            ActionKind::NotifyEnforcer => {
                return Err(
                    "action: NotifyEnforcer makes the listed syscalls fail with argError, which needs fmod_ret or bpf_override_return, and tetrascope cannot use either on this kernel; only with argSig: 9 (SIGKILL: the process dies before it sees the result) is it served, as a kill at the hit"
                        .into(),
                );
            }
            other => {
                return Err(format!(
                    "action: {other:?} is not supported by tetrascope yet"
                ));
            }
        };
        let mut spec = ActionSpec {
            kind,
            error: act.arg_error.unwrap_or(0),
            ..ActionSpec::default()
        };
        if let Some(limit) = &act.rate_limit {
            spec.rate_limit_ns = rate_limit_ns(limit).map_err(|e| format!("rateLimit: {e}"))?;
            spec.rate_scope = match act.rate_limit_scope.as_deref() {
                None | Some("thread") => rate_scope::THREAD,
                Some("process") => rate_scope::PROCESS,
                Some("global") => rate_scope::GLOBAL,
                Some(other) => {
                    return Err(format!(
                        "rateLimitScope: {other:?} is not one of thread, process, global"
                    ));
                }
            };
        }
        match act.action {
            ActionKind::Signal => {
                spec.signal = act.arg_sig.ok_or("argSig: required for Signal")?;
            }
            ActionKind::FollowFd | ActionKind::CopyFd => {
                spec.arg_fd = position(act.arg_fd, "argFd")?;
                spec.arg_name = position(act.arg_name, "argName")?;
            }
            ActionKind::UnfollowFd => spec.arg_fd = position(act.arg_fd, "argFd")?,
            _ => {}
        }
        Ok(spec)
    }
}

fn set_op(operator: SetOperator) -> u32 {
    match operator {
        SetOperator::In => op::IN,
        SetOperator::NotIn => op::NOT_IN,
    }
}

/// The slot of `ExecRecord::ns` (and the probes' namespace reads) of a namespace kind.
fn namespace_slot(kind: NamespaceKind) -> usize {
    match kind {
        NamespaceKind::Uts => 0,
        NamespaceKind::Ipc => 1,
        NamespaceKind::Mnt => 2,
        NamespaceKind::PidForChildren => 3,
        NamespaceKind::Net => 4,
        NamespaceKind::Time => 5,
        NamespaceKind::TimeForChildren => 6,
        NamespaceKind::Cgroup => 7,
        NamespaceKind::Pid => 8,
        NamespaceKind::User => 9,
    }
}

/// An integer comparison of the argument at `position`.
fn integer_filter(filter: &ArgSelector, position: u32) -> Result<ArgFilter, String> {
    let operator = match filter.operator {
        ArgOperator::Equal => op::EQUAL,
        ArgOperator::NotEqual => op::NOT_EQUAL,
        ArgOperator::GreaterThan => op::GREATER,
        ArgOperator::LessThan => op::LESS,
        ArgOperator::Mask => op::MASK,
        ArgOperator::InRange => op::IN_RANGE,
        ArgOperator::NotInRange => op::NOT_IN_RANGE,
        other => {
            return Err(format!(
                "operator: {other:?} on an integer is not evaluated by tetrascope's probes yet"
            ));
        }
    };
    let mut values = Vec::new();
    for value in &filter.values {
        if matches!(operator, op::IN_RANGE | op::NOT_IN_RANGE) {
            let (low, high) = value
                .split_once(':')
                .ok_or_else(|| format!("values: {value:?} is not a range low:high"))?;
            values.push(parse_integer(low)?);
            values.push(parse_integer(high)?);
        } else {
            values.push(parse_integer(value)?);
        }
    }
    if values.len() > MAX_VALUES {
        return Err(format!("values: at most {MAX_VALUES} numbers (2 ranges)"));
    }
    let mut spec = ArgFilter {
        op: operator,
        arg: position,
        count: values.len() as u32,
        strings: 0,
        values: [0; MAX_VALUES],
    };
    spec.values[..values.len()].copy_from_slice(&values);
    Ok(spec)
}

/// FileType or NotFileType: the bits (`1 << (S_IFMT type >> 12)`) of the types named.
fn file_type_filter(filter: &ArgSelector, position: u32) -> Result<ArgFilter, String> {
    let mut mask = 0u64;
    for (i, value) in filter.values.iter().enumerate() {
        let s_ifmt: u64 = match value.as_str() {
            "fifo" | "pipe" => 0o010000,
            "chr" | "char" => 0o020000,
            "dir" => 0o040000,
            "blk" | "block" => 0o060000,
            "reg" | "regular" => 0o100000,
            "lnk" | "link" => 0o120000,
            "sock" | "socket" => 0o140000,
            other => return Err(format!("values[{i}]: unknown file type {other:?}")),
        };
        mask |= 1 << (s_ifmt >> 12);
    }
    let mut spec = ArgFilter {
        op: match filter.operator {
            ArgOperator::FileType => op::FILE_TYPE,
            _ => op::NOT_FILE_TYPE,
        },
        arg: position,
        count: 1,
        strings: 0,
        values: [0; MAX_VALUES],
    };
    spec.values[0] = mask as i64;
    Ok(spec)
}

/// An address or CIDR as the probes hold it: IPv4 mapped into IPv6, and the bits that count.
fn cidr(value: &str) -> Result<([u8; 16], u32), String> {
    let (address, bits) = match value.split_once('/') {
        Some((address, bits)) => (address, Some(bits)),
        None => (value, None),
    };
    let address: IpAddr = address
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not an IPv4 or IPv6 address or CIDR"))?;
    let (mapped, width, base) = match address {
        IpAddr::V4(v4) => (v4.to_ipv6_mapped().octets(), 32, 96),
        IpAddr::V6(v6) => (v6.octets(), 128, 0),
    };
    let bits = match bits {
        Some(bits) => bits
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|b| *b <= width)
            .ok_or_else(|| format!("{value:?}: a prefix length is 0 to {width}"))?,
        None => width,
    };
    Ok((mapped, base + bits))
}

/// A port, protocol, family or state (a name from `table`, a number) or a `low:high` range of
/// them.
fn numeric_range(value: &str, table: Option<&Names<u16>>) -> Result<(u32, u32), String> {
    let one = |text: &str| {
        let text = text.trim();
        table
            .and_then(|table| table.parse(text).map(u32::from))
            .or_else(|| names::parse_integer(text).and_then(|n| u32::try_from(n).ok()))
            .filter(|n| *n <= u16::MAX as u32)
            .ok_or_else(|| format!("{text:?} is not a number from 0 to 65535 or a known name"))
    };
    match value.split_once(':') {
        Some((low, high)) => Ok((one(low)?, one(high)?)),
        None => one(value).map(|n| (n, n)),
    }
}

/// Adds the values one InMap value stands for: an integer, each integer of `low:high`, or the
/// syscall ids of `list:NAME` (as the probes hold integers: 64-bit, negative ones sign-extended).
fn in_map_values(
    value: &str,
    lists: &[ListSpec],
    out: &mut std::collections::BTreeSet<u64>,
) -> Result<(), String> {
    if let Some(name) = value.strip_prefix("list:") {
        let list = lists
            .iter()
            .find(|list| list.name == name)
            .ok_or_else(|| format!("list {name:?} is not defined in spec.lists"))?;
        let abi = native_abi();
        match list.list_type.as_str() {
            "generated_syscalls" => {
                out.extend((0..4096).filter_map(|id| syscall_name(abi, id).map(|_| id as u64)));
            }
            "syscalls" => {
                for entry in &list.values {
                    let id = syscall_id(entry).map_err(|e| format!("list {name:?}: {e}"))?;
                    out.insert(id);
                }
            }
            other => {
                return Err(format!(
                    "list {name:?} has type {other:?}; InMap takes syscall lists (type syscalls or generated_syscalls)"
                ));
            }
        }
        return Ok(());
    }
    if let Some((low, high)) = value.split_once(':') {
        let (low, high) = (parse_integer(low)?, parse_integer(high)?);
        let (low, high) = (low.min(high), low.max(high));
        if high.abs_diff(low) >= u64::from(MAX_IN_MAP_VALUES) {
            return Err(format!(
                "{value:?} holds more than {MAX_IN_MAP_VALUES} values"
            ));
        }
        out.extend((low..=high).map(|v| v as u64));
        return Ok(());
    }
    out.insert(parse_integer(value)? as u64);
    Ok(())
}

/// The id of a syscall list entry as the probes see it: native ones (`sys_dup`,
/// `__x64_sys_dup`, `x64/sys_dup`) by their number; 32-bit ones (`i386/sys_dup`,
/// `__ia32_sys_dup`) by their i386 number with Tetragon's `Is32Bit` mark, as `syscall64` values
/// carry them for compat syscalls.
fn syscall_id(entry: &str) -> Result<u64, String> {
    let abi = native_abi();
    let compat = compat_abi();
    let foreign = || match compat {
        Some((compat, _)) => format!(
            "{entry:?}: neither a {abi} nor an {compat} syscall; tetrascope's probes tell only those apart"
        ),
        None => format!(
            "{entry:?}: not a {abi} syscall; tetrascope's probes do not tell other ABIs' syscalls apart from {abi} ones"
        ),
    };
    let (call, in_compat) = match (entry.split_once('/'), compat) {
        (Some((given, call)), _) if given == abi => (call, false),
        (Some((given, call)), Some((compat, _))) if given == compat => (call, true),
        (Some(_), _) => return Err(foreign()),
        (None, Some((_, prefix))) if entry.starts_with(prefix) => {
            (entry.strip_prefix(prefix).unwrap_or(entry), true)
        }
        (None, _) => (entry, false),
    };
    let name = syscall_of(call)
        .map_err(|_| foreign())?
        .unwrap_or_else(|| call.to_owned());
    let table = match (in_compat, compat) {
        (true, Some((compat, _))) => compat,
        _ => abi,
    };
    let id = syscall_number(table, &name)
        .ok_or_else(|| format!("{entry:?}: no syscall named {name:?} on {table}"))?;
    Ok(match in_compat {
        true => u64::from(id) | SYSCALL_32BIT,
        false => u64::from(id),
    })
}

/// A `rateLimit` in ns, as Tetragon reads it: seconds, or a number with an `s`, `m` or `h`
/// suffix (`30`, `30s`, `5m`, `1h`).
pub fn rate_limit_ns(text: &str) -> Result<u64, String> {
    let (number, unit) = match text.char_indices().last() {
        Some((at, 's' | 'S')) => (&text[..at], 1),
        Some((at, 'm' | 'M')) => (&text[..at], 60),
        Some((at, 'h' | 'H')) => (&text[..at], 3600),
        _ => (text, 1),
    };
    let invalid = || {
        format!(
            "invalid rate limit {text:?}; give seconds (30) or a number with s, m or h (30s, 5m, 1h)"
        )
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let seconds: u32 = number.parse().map_err(|_| invalid())?;
    Ok(u64::from(seconds) * unit * 1_000_000_000)
}

/// An integer value as Tetragon reads it; values up to `u64::MAX` keep their bits.
fn parse_integer(text: &str) -> Result<i64, String> {
    let value = names::parse_integer(text.trim())
        .ok_or_else(|| format!("values: {text:?} is not an integer"))?;
    if value < i128::from(i64::MIN) || value > i128::from(u64::MAX) {
        return Err(format!("values: {text:?} does not fit in 64 bits"));
    }
    Ok(value as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{parse_str, tracepoint_format};

    /// `raw_syscalls/sys_enter` with args [id, id as uint64] and one selector filtering `index`.
    fn sys_enter_filtering(index: u32) -> CompiledPolicy {
        let selector = format!(
            "    - matchArgs:\n      - index: {index}\n        operator: Equal\n        values: [\"231\"]\n"
        );
        sys_enter_with(&selector, &[0; NS_RECORD_SLOTS]).unwrap()
    }

    /// `raw_syscalls/sys_enter` with args [id, id as uint64] and `selectors` (YAML list items),
    /// compiled with `host` as the host's namespaces.
    fn sys_enter_with(
        selectors: &str,
        host: &[u32; NS_RECORD_SLOTS],
    ) -> Result<CompiledPolicy, Vec<String>> {
        let text = format!(
            "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: t\nspec:\n  tracepoints:\n  - subsystem: raw_syscalls\n    event: sys_enter\n    args:\n    - index: 4\n      type: syscall64\n    - index: 4\n      type: int64\n    selectors:\n{selectors}"
        );
        let policy = parse_str(&text, None).unwrap().remove(0);
        let format = tracepoint_format::parse(
            "ID: 443\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
             \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
             \tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
             \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\
             \tfield:long id;\toffset:8;\tsize:8;\tsigned:1;\n",
        )
        .unwrap();
        let hook = ResolvedHook {
            kind: HookKind::Tracepoint,
            index: 0,
            name: "raw_syscalls/sys_enter".into(),
            function_name: "raw_syscalls/sys_enter".into(),
            at: Default::default(),
            mechanisms: Ok(vec![Mechanism::Tracepoint {
                subsystem: "raw_syscalls".into(),
                event: "sys_enter".into(),
                format,
            }]),
        };
        let mut next_filter = 1;
        Compiler {
            host_namespaces: host,
            next_filter: &mut next_filter,
        }
        .compile(&policy, &[hook])
    }

    #[test]
    fn namespace_capabilities_name_the_host_user_namespace() {
        let mut host = [0; NS_RECORD_SLOTS];
        host[NS_RECORD_SLOTS - 1] = 4026531837;
        let compiled = sys_enter_with(
            "    - matchCapabilities:\n      - operator: In\n        isNamespaceCapability: true\n        values: [CAP_CHOWN, CAP_NET_RAW]\n      - type: Permitted\n        operator: NotIn\n        values: [CAP_SYS_ADMIN]\n",
            &host,
        )
        .unwrap();
        let caps = &compiled.hooks[0].spec.selectors[0].capabilities;
        assert_eq!((caps[0].op, caps[0].set), (op::IN, 0));
        assert_eq!(caps[0].mask, 1 << 0 | 1 << 13);
        assert_eq!(caps[0].host_user_ns, 4026531837);
        assert_eq!((caps[1].set, caps[1].host_user_ns), (2, 0), "anywhere");
        // Outside the host's user namespace only, whatever the operator.
        assert!(!caps[0].applies_in(4026531837) && caps[0].applies_in(4026532999));
        assert!(caps[1].applies_in(4026531837));
    }

    #[test]
    fn changes_compile_to_watched_namespaces_and_one_capability_filter() {
        let compiled = sys_enter_with(
            "    - matchNamespaceChanges:\n      - operator: In\n        values: [Mnt, User]\n      matchCapabilityChanges:\n      - operator: NotIn\n        values: [CAP_SYS_ADMIN]\n",
            &[0; NS_RECORD_SLOTS],
        )
        .unwrap();
        let selector = &compiled.hooks[0].spec.selectors[0];
        let ns = &selector.namespace_changes;
        assert_eq!((ns.op, ns.mask), (op::IN, 1 << 2 | 1 << 9));
        assert!(ns.watches(2) && ns.watches(9) && !ns.watches(4));
        assert!(ns.changed(2, 10, 11) && !ns.changed(2, 10, 10));
        assert!(!ns.changed(2, 0, 11), "unknown at exec: no change");
        assert!(!ns.changed(4, 10, 11), "not watched");
        let not_in = NamespaceChangeFilter {
            op: op::NOT_IN,
            mask: ns.mask,
        };
        assert!(not_in.changed(4, 10, 11) && !not_in.changed(2, 10, 11));
        let caps = &selector.capability_changes;
        let admin = 1 << 21;
        assert_eq!((caps.op, caps.mask), (op::NOT_IN, admin));
        // NotIn: others changed, not these; In: these changed.
        assert!(caps.change_matches(admin | 1, admin));
        assert!(!caps.change_matches(admin, 0));
        assert!(!caps.change_matches(admin, admin), "no change");
        let in_caps = CapabilityFilter {
            op: op::IN,
            ..*caps
        };
        assert!(in_caps.change_matches(admin, 0) && !in_caps.change_matches(admin | 1, admin));
        // Two matchCapabilityChanges filters: Tetragon would evaluate the first only.
        let errors = sys_enter_with(
            "    - matchCapabilityChanges:\n      - operator: In\n        values: [CAP_CHOWN]\n      - operator: In\n        values: [CAP_KILL]\n",
            &[0; NS_RECORD_SLOTS],
        )
        .unwrap_err();
        assert!(errors[0].contains("one filter per selector"), "{errors:?}");
    }

    #[test]
    fn notify_enforcer_is_a_kill_with_sigkill_only() {
        let action = |sig: &str| {
            sys_enter_with(
                &format!(
                    "    - matchActions:\n      - action: NotifyEnforcer\n        argError: -1\n{sig}"
                ),
                &[0; NS_RECORD_SLOTS],
            )
        };
        let compiled = action("        argSig: 9\n").unwrap();
        assert_eq!(
            compiled.hooks[0].spec.selectors[0].actions[0].kind,
            action::SIGKILL
        );
        for sig in ["", "        argSig: 15\n"] {
            let errors = action(sig).unwrap_err();
            assert!(
                errors[0].contains("NotifyEnforcer") && errors[0].contains("argSig: 9"),
                "{errors:?}"
            );
        }
    }

    #[test]
    fn tracepoint_filters_name_an_arg_by_field_index_or_position() {
        let compiled = sys_enter_filtering(1);
        let hook = &compiled.hooks[0];
        assert_eq!(hook.spec.selectors[0].args[0].arg, 1, "by position");
        assert_eq!(
            hook.spec.arg_kind[..2],
            [arg_kind::SYSCALL64, arg_kind::LONG]
        );
        assert_eq!(hook.record_fields.len(), 2);
        assert_eq!(hook.record_fields[0].offset, 8);
        assert_eq!(
            hook.meta.event,
            HookEvent::Tracepoint {
                subsys: "raw_syscalls".into(),
                event: "sys_enter".into()
            }
        );
        let by_field = sys_enter_filtering(4);
        assert_eq!(by_field.hooks[0].spec.selectors[0].args[0].arg, 0);
    }

    #[test]
    fn in_map_values_expand_ranges_and_syscall_lists() {
        let list = |name: &str, list_type: &str, values: &[&str]| ListSpec {
            name: name.into(),
            list_type: list_type.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
            ..ListSpec::default()
        };
        let lists = [
            list(
                "dups",
                "syscalls",
                &["sys_dup", "__x64_sys_dup2", "x64/sys_dup3"],
            ),
            list("compat", "syscalls", &["i386/sys_dup"]),
            list("prefixed", "syscalls", &["__ia32_sys_dup", "sys_dup"]),
            list("foreign", "syscalls", &["arm32/sys_dup"]),
            list("foreign_prefix", "syscalls", &["__arm64_sys_dup"]),
            list("all", "generated_syscalls", &[]),
            list("unknown", "syscalls", &["sys_no_such_call"]),
        ];
        let expand = |value: &str| {
            let mut out = std::collections::BTreeSet::new();
            in_map_values(value, &lists, &mut out).map(|()| out.into_iter().collect::<Vec<_>>())
        };
        assert_eq!(expand("list:dups"), Ok(vec![32, 33, 292]));
        // i386 dup is 41 (x64 socket): Tetragon's Is32Bit mark tells them apart.
        assert_eq!(expand("list:compat"), Ok(vec![0x8000_0000 | 41]));
        assert_eq!(expand("list:prefixed"), Ok(vec![32, 0x8000_0000 | 41]));
        assert_eq!(expand("3:5"), Ok(vec![3, 4, 5]));
        assert_eq!(
            expand("5:3"),
            Ok(vec![3, 4, 5]),
            "reversed bounds, as Tetragon"
        );
        assert_eq!(expand("-1"), Ok(vec![u64::MAX]), "sign-extended");
        assert_eq!(expand("0x10"), Ok(vec![16]));
        let all = expand("list:all").unwrap();
        assert!(
            all.len() > 300 && all.contains(&0) && all.contains(&59),
            "{all:?}"
        );
        for (value, part) in [
            ("list:foreign", "neither a x64 nor an i386 syscall"),
            ("list:foreign_prefix", "neither a x64 nor an i386 syscall"),
            ("list:unknown", "no syscall named \"no_such_call\""),
            ("0:100000", "more than 16384 values"),
            ("x", "is not an integer"),
        ] {
            let error = expand(value).unwrap_err();
            assert!(error.contains(part), "{value}: {error}");
        }
    }

    #[test]
    fn rate_limits_read_as_tetragon_reads_them() {
        let second = 1_000_000_000;
        assert_eq!(rate_limit_ns("30"), Ok(30 * second));
        assert_eq!(rate_limit_ns("2s"), Ok(2 * second));
        assert_eq!(rate_limit_ns("5m"), Ok(300 * second));
        assert_eq!(rate_limit_ns("1H"), Ok(3600 * second));
        for bad in ["", "m", "5 m", "-1", "1.5s", "1d", "99999999999"] {
            let error = rate_limit_ns(bad).unwrap_err();
            assert!(error.contains("invalid rate limit"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn buffers_read_their_length_from_the_size_arg_or_the_return_value() {
        let buffer = |size_arg_index, return_copy| Arg {
            ty: ArgType::CharBuf,
            size_arg_index,
            return_copy,
            ..Arg::default()
        };
        assert_eq!(buffer_size(&buffer(Some(3), false), false), Ok(3));
        assert_eq!(buffer_size(&buffer(None, false), false), Ok(buf_size::NONE));
        assert!(buffer_size(&buffer(Some(0), false), false).is_err());
        assert!(buffer_size(&buffer(Some(7), false), false).is_err());
        // returnCopy: the return value at the syscall's exit; at entry nothing is there yet.
        let read = buffer(None, true);
        assert_eq!(buffer_size(&read, true), Ok(buf_size::RETURN));
        assert_eq!(buffer_size(&read, false), Ok(buf_size::NONE));
    }

    #[test]
    fn integers_keep_their_64_bits() {
        assert_eq!(parse_integer("-1"), Ok(-1));
        assert_eq!(parse_integer("0xffffffffffffffff"), Ok(-1));
        assert_eq!(parse_integer(" 0x10 "), Ok(16));
        assert!(parse_integer("0x1ffffffffffffffff").is_err());
        assert!(parse_integer("x").is_err());
    }

    #[test]
    fn addresses_are_held_as_ipv6_with_ipv4_mapped() {
        let (address, bits) = cidr("10.1.0.0/16").unwrap();
        assert_eq!(
            std::net::Ipv6Addr::from(address).to_string(),
            "::ffff:10.1.0.0"
        );
        assert_eq!(bits, 96 + 16);
        assert_eq!(cidr("127.0.0.1").unwrap().1, 128);
        let (address, bits) = cidr("fd00::/8").unwrap();
        assert_eq!((address[0], bits), (0xfd, 8));
        assert!(cidr("10.0.0.0/33").is_err());
        assert!(cidr("localhost").is_err());
    }

    /// A socket filter as `socket_filter` packs it: each value a range `low | high << 32`.
    fn socket_filter_of(op: u32, ranges: &[(u32, u32)]) -> ArgFilter {
        let mut filter = ArgFilter {
            op,
            count: ranges.len() as u32,
            ..ArgFilter::default()
        };
        for (i, (low, high)) in ranges.iter().enumerate() {
            filter.values[i] = (*low as u64 | (*high as u64) << 32) as i64;
        }
        filter
    }

    #[test]
    fn socket_operators_read_the_fields_tetragon_reads() {
        use tetrascope_shared::policy::SockRecord;
        assert_eq!(numeric_range("8000:8080", None), Ok((8000, 8080)));
        assert_eq!(
            numeric_range("AF_INET6", Some(&ADDRESS_FAMILIES)),
            Ok((10, 10))
        );
        assert_eq!(numeric_range("TCP_SYN_SENT", Some(&TCP_STATES)), Ok((2, 2)));
        assert!(numeric_range("70000", None).is_err());

        // A sockaddr fills the source fields only: SPort is its port, DPort sees 0.
        let sockaddr = SockRecord {
            family: 2,
            sport: 8080,
            saddr: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ..SockRecord::default()
        };
        let ports = |op| socket_filter_of(op, &[(80, 80), (8000, 8080)]);
        assert!(ports(op::SPORT).matches_socket(&sockaddr, false));
        assert!(!ports(op::NOT_SPORT).matches_socket(&sockaddr, false));
        assert!(!ports(op::DPORT).matches_socket(&sockaddr, false));
        assert!(socket_filter_of(op::NOT_SPORT_PRIV, &[]).matches_socket(&sockaddr, false));
        assert!(socket_filter_of(op::DPORT_PRIV, &[]).matches_socket(&sockaddr, false));
        assert!(socket_filter_of(op::FAMILY, &[(2, 2)]).matches_socket(&sockaddr, false));

        let saddr = socket_filter_of(op::SADDR, &[]);
        let mapped = saddr.compared_address(&sockaddr).unwrap();
        assert_eq!(
            std::net::Ipv6Addr::from(mapped).to_string(),
            "::ffff:127.0.0.1"
        );
        assert!(saddr.matches_socket(&sockaddr, true));
        assert!(socket_filter_of(op::NOT_SADDR, &[]).matches_socket(&sockaddr, false));
        // No address in a Unix socket's record: neither SAddr nor NotSAddr matches.
        let unix = SockRecord {
            family: 1,
            ..SockRecord::default()
        };
        assert_eq!(saddr.compared_address(&unix), None);
        assert!(!socket_filter_of(op::NOT_SADDR, &[]).matches_socket(&unix, false));
    }

    #[test]
    fn file_types_compare_the_type_bits_of_the_mode() {
        let selector = |operator: &str| -> ArgSelector {
            let policy = crate::policy::parse_str(
                &format!("apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: t\nspec:\n  kprobes:\n  - call: fd_install\n    args:\n    - index: 1\n      type: file\n    selectors:\n    - matchArgs:\n      - index: 1\n        operator: {operator}\n        values: [dir, socket]\n"),
                None,
            )
            .unwrap()
            .remove(0);
            policy.spec.kprobes[0].selectors[0].match_args[0].clone()
        };
        let is = file_type_filter(&selector("FileType"), 1).unwrap();
        let is_not = file_type_filter(&selector("NotFileType"), 1).unwrap();
        let (dir, socket, regular) = (0o040755, 0o140777, 0o100644);
        assert!(is.matches_file_type(dir) && is.matches_file_type(socket));
        assert!(!is.matches_file_type(regular));
        assert!(is_not.matches_file_type(regular) && !is_not.matches_file_type(dir));
        // A mode nobody read matches neither.
        assert!(!is.matches_file_type(0) && !is_not.matches_file_type(0));
    }
}
