//! The rules and limits Tetragon applies when it loads a policy (tetragon.md §3.3-§3.8), beyond
//! the shape the CRD schema checks while the YAML is read.
mod selectors;
mod values;

use super::error::{PolicyError, Positions};
use super::model::{Arg, ArgType, Location, PolicyKind, Selector, Spec, TracingPolicy};
use super::names::{self, ARG_TYPES};
use super::parse::Parsed;

/// Hooks may read at most this many values (args and data together).
const MAX_ARGS: usize = 5;
/// Function arguments 0..=4 are reachable from the probes.
const MAX_ARG_INDEX: u32 = 4;
const MAX_SELECTORS: usize = 5;
const MAX_TAGS: usize = 16;
const MAX_MESSAGE_CHARS: usize = 256;

/// Checks a policy built in code; its errors point at the elements' own positions.
pub fn validate(policy: &TracingPolicy) -> Vec<PolicyError> {
    validate_at(policy, &Positions::default())
}

/// Checks a policy read from a file, locating each error at the field it is about.
pub(crate) fn validate_at(policy: &TracingPolicy, positions: &Positions) -> Vec<PolicyError> {
    let mut checker = Checker {
        policy,
        positions,
        errors: Vec::new(),
    };
    checker.policy();
    // A macro used by several selectors would report its problems once per use.
    let mut unique: Vec<PolicyError> = Vec::new();
    for error in checker.errors {
        if !unique.contains(&error) {
            unique.push(error);
        }
    }
    unique
}

/// Policy names must be unique among the policies loaded together: an error on each repeat.
pub(crate) fn duplicate_names(parsed: &[Parsed]) -> Vec<PolicyError> {
    let mut errors = Vec::new();
    for (i, later) in parsed.iter().enumerate() {
        let Some(first) = parsed[..i]
            .iter()
            .find(|p| p.policy.name == later.policy.name)
        else {
            continue;
        };
        let first_at = first.positions.locate("metadata.name", first.policy.at);
        let first_file = first
            .policy
            .file
            .as_deref()
            .map_or("<input>".into(), |f| f.display().to_string());
        errors.push(PolicyError {
            file: later.policy.file.clone(),
            at: later.positions.locate("metadata.name", later.policy.at),
            field: "metadata.name".to_string(),
            message: format!(
                "duplicate policy name \"{}\"; first defined at {first_file}:{}:{}",
                later.policy.name, first_at.line, first_at.column
            ),
        });
    }
    errors
}

struct Checker<'p> {
    policy: &'p TracingPolicy,
    positions: &'p Positions,
    errors: Vec<PolicyError>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HookKind {
    Kprobe,
    Fentry,
    Tracepoint,
    Uprobe,
    Lsm,
    Usdt,
}

/// What every kind of hook has, so one set of checks serves them all.
struct Hook<'a> {
    kind: HookKind,
    path: String,
    at: Location,
    args: &'a [Arg],
    data: &'a [Arg],
    return_arg: Option<&'a Arg>,
    is_return: bool,
    selectors: &'a [Selector],
    tags: &'a [String],
    message: Option<&'a str>,
    /// The names that identify the hook (`call`, `path`, ...), which must not be empty.
    names: Vec<(&'static str, &'a str)>,
}

impl Hook<'_> {
    fn field(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }
}

fn hooks(spec: &Spec) -> Vec<Hook<'_>> {
    let mut hooks = Vec::new();
    for (kind, key, kprobes) in [
        (HookKind::Kprobe, "kprobes", &spec.kprobes),
        (HookKind::Fentry, "fentries", &spec.fentries),
    ] {
        hooks.extend(kprobes.iter().enumerate().map(|(i, k)| Hook {
            kind,
            path: format!("spec.{key}[{i}]"),
            at: k.at,
            args: &k.args,
            data: &k.data,
            return_arg: k.return_arg.as_ref(),
            is_return: k.is_return,
            selectors: &k.selectors,
            tags: &k.tags,
            message: k.message.as_deref(),
            names: vec![("call", &k.call)],
        }));
    }
    hooks.extend(spec.tracepoints.iter().enumerate().map(|(i, t)| Hook {
        kind: HookKind::Tracepoint,
        path: format!("spec.tracepoints[{i}]"),
        at: t.at,
        args: &t.args,
        data: &[],
        return_arg: None,
        is_return: false,
        selectors: &t.selectors,
        tags: &t.tags,
        message: t.message.as_deref(),
        names: vec![("subsystem", &t.subsystem), ("event", &t.event)],
    }));
    hooks.extend(spec.uprobes.iter().enumerate().map(|(i, u)| Hook {
        kind: HookKind::Uprobe,
        path: format!("spec.uprobes[{i}]"),
        at: u.at,
        args: &u.args,
        data: &u.data,
        return_arg: u.return_arg.as_ref(),
        is_return: u.is_return,
        selectors: &u.selectors,
        tags: &u.tags,
        message: u.message.as_deref(),
        names: vec![("path", &u.path)],
    }));
    hooks.extend(spec.lsmhooks.iter().enumerate().map(|(i, l)| Hook {
        kind: HookKind::Lsm,
        path: format!("spec.lsmhooks[{i}]"),
        at: l.at,
        args: &l.args,
        data: &[],
        return_arg: None,
        is_return: false,
        selectors: &l.selectors,
        tags: &l.tags,
        message: l.message.as_deref(),
        names: vec![("hook", &l.hook)],
    }));
    hooks.extend(spec.usdts.iter().enumerate().map(|(i, u)| Hook {
        kind: HookKind::Usdt,
        path: format!("spec.usdts[{i}]"),
        at: u.at,
        args: &u.args,
        data: &[],
        return_arg: None,
        is_return: false,
        selectors: &u.selectors,
        tags: &u.tags,
        message: u.message.as_deref(),
        names: vec![
            ("path", &u.path),
            ("provider", &u.provider),
            ("name", &u.name),
        ],
    }));
    hooks
}

impl<'p> Checker<'p> {
    fn error(&mut self, path: &str, fallback: Location, message: impl Into<String>) {
        self.errors.push(PolicyError {
            file: self.policy.file.clone(),
            at: self.positions.locate(path, fallback),
            field: path.to_string(),
            message: message.into(),
        });
    }

    fn policy(&mut self) {
        let policy = self.policy;
        if let Err(why) = dns_subdomain(&policy.name) {
            let message = format!("invalid policy name \"{}\": {why}", policy.name);
            self.error("metadata.name", policy.at, message);
        }
        let spec = &policy.spec;
        if let Some(hosts) = &spec.host_selector {
            if policy.kind == PolicyKind::TracingPolicyNamespaced {
                let message = "a TracingPolicyNamespaced applies to its namespace's pods only and cannot have a hostSelector";
                self.error("spec.hostSelector", policy.at, message);
            } else if !hosts.match_labels.is_empty() || !hosts.match_expressions.is_empty() {
                let message = "hostSelector must be null (no host workloads) or {} (all of them)";
                self.error("spec.hostSelector", policy.at, message);
            }
        }
        self.lists_and_enforcers(spec);
        for (i, kprobe) in spec.kprobes.iter().enumerate() {
            self.list_reference(&format!("spec.kprobes[{i}].call"), kprobe.at, &kprobe.call);
        }
        for (i, uprobe) in spec.uprobes.iter().enumerate() {
            let targets = [
                ("symbols", uprobe.symbols.is_empty()),
                ("offsets", uprobe.offsets.is_empty()),
                ("addrs", uprobe.addrs.is_empty()),
            ];
            let given: Vec<&str> = targets
                .iter()
                .filter(|(_, empty)| !empty)
                .map(|&(n, _)| n)
                .collect();
            if given.len() != 1 {
                let found = names::listing(given);
                let message =
                    format!("exactly one of symbols, offsets or addrs is required; found: {found}");
                self.error(&format!("spec.uprobes[{i}]"), uprobe.at, message);
            }
        }
        for hook in hooks(spec) {
            self.hook(&hook);
        }
    }

    fn lists_and_enforcers(&mut self, spec: &Spec) {
        for (i, list) in spec.lists.iter().enumerate() {
            if spec.lists[..i]
                .iter()
                .any(|earlier| earlier.name == list.name)
            {
                let message = format!("list \"{}\" is defined twice", list.name);
                self.error(&format!("spec.lists[{i}].name"), list.at, message);
            }
        }
        if spec.enforcers.len() > 1 {
            let message = format!(
                "only one enforcer is allowed, found {}",
                spec.enforcers.len()
            );
            self.error("spec.enforcers", self.policy.at, message);
        }
        for (i, enforcer) in spec.enforcers.iter().enumerate() {
            for (j, call) in enforcer.calls.iter().enumerate() {
                self.list_reference(
                    &format!("spec.enforcers[{i}].calls[{j}]"),
                    enforcer.at,
                    call,
                );
            }
        }
    }

    /// A `list:NAME` call must name one of `spec.lists`.
    fn list_reference(&mut self, path: &str, at: Location, call: &str) {
        if let Some(name) = call.strip_prefix("list:")
            && let Err(message) = values::defined_list(name, &self.policy.spec.lists)
        {
            self.error(path, at, message);
        }
    }

    fn hook(&mut self, hook: &Hook<'p>) {
        for &(key, value) in &hook.names {
            if value.trim().is_empty() {
                self.error(
                    &hook.field(key),
                    hook.at,
                    format!("{key} must not be empty"),
                );
            }
        }
        if let Some(message) = hook.message {
            let chars = message.chars().count();
            if chars > MAX_MESSAGE_CHARS {
                let text = format!("message is {chars} characters long, max {MAX_MESSAGE_CHARS}");
                self.error(&hook.field("message"), hook.at, text);
            }
        }
        if hook.tags.len() > MAX_TAGS {
            let message = format!("too many tags: {}, max {MAX_TAGS}", hook.tags.len());
            self.error(&hook.field("tags"), hook.at, message);
        }
        let count = hook.args.len() + hook.data.len();
        if count > MAX_ARGS {
            let message =
                format!("too many arguments, max {MAX_ARGS} (found {count} in args and data)");
            self.error(&hook.field("args"), hook.at, message);
        }
        for (key, args) in [("args", hook.args), ("data", hook.data)] {
            for (i, arg) in args.iter().enumerate() {
                self.arg(
                    hook,
                    &format!("{}.{key}[{i}]", hook.path),
                    arg,
                    key == "args",
                );
            }
        }
        if let Some(arg) = hook.return_arg {
            self.arg(hook, &hook.field("returnArg"), arg, false);
        }
        if hook.is_return && hook.return_arg.is_none() {
            self.error(
                &hook.field("returnArg"),
                hook.at,
                "return: true needs a returnArg",
            );
        }
        if hook.selectors.len() > MAX_SELECTORS {
            let message = format!(
                "too many selectors: {}, max {MAX_SELECTORS}",
                hook.selectors.len()
            );
            self.error(&hook.field("selectors"), hook.at, message);
        }
        for (i, selector) in hook.selectors.iter().enumerate() {
            self.selector(hook, &format!("{}.selectors[{i}]", hook.path), selector);
        }
    }

    /// One of the hook's args (`is_call_arg`), data or return value.
    fn arg(&mut self, hook: &Hook, path: &str, arg: &Arg, is_call_arg: bool) {
        let field = |key: &str| format!("{path}.{key}");
        // Tracepoint and USDT indexes count format fields and probe arguments, not registers.
        let by_register = matches!(
            hook.kind,
            HookKind::Kprobe | HookKind::Fentry | HookKind::Lsm | HookKind::Uprobe
        );
        if is_call_arg && by_register && arg.index > MAX_ARG_INDEX {
            let message = format!(
                "argument index {} is out of range 0..{MAX_ARG_INDEX}",
                arg.index
            );
            self.error(&field("index"), arg.at, message);
        }
        if hook.kind == HookKind::Kprobe {
            let why = match arg.ty {
                ArgType::Auto => {
                    Some("kprobes need the argument's type (type auto is not supported)")
                }
                ArgType::Syscall64 => Some("type syscall64 is for tracepoints, not kprobes"),
                _ => None,
            };
            if let Some(why) = why {
                self.error(&field("type"), arg.at, why);
            }
        }
        let is_buffer = matches!(arg.ty, ArgType::CharBuf | ArgType::CharIovec);
        if arg.size_arg_index.is_some() && !is_buffer {
            let message = format!(
                "sizeArgIndex applies to char_buf and char_iovec arguments, not {}",
                ARG_TYPES.name(arg.ty)
            );
            self.error(&field("sizeArgIndex"), arg.at, message);
        }
        if arg.max_data && arg.return_copy {
            self.error(
                &field("maxData"),
                arg.at,
                "maxData cannot be combined with returnCopy",
            );
        }
    }
}

/// Kubernetes object names are DNS-1123 subdomains: at most 253 characters, dot-separated
/// labels of lowercase letters, digits and '-', each starting and ending with a letter or digit.
fn dns_subdomain(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it must not be empty");
    }
    if name.len() > 253 {
        return Err("it must be at most 253 characters long");
    }
    let valid_label = |label: &str| {
        let alphanumeric = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
        label.starts_with(alphanumeric)
            && label.ends_with(alphanumeric)
            && label.chars().all(|c| alphanumeric(c) || c == '-')
    };
    if name.split('.').all(valid_label) {
        Ok(())
    } else {
        Err(
            "use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
        )
    }
}

/// The indexes of `args`, for "declared: ..." messages.
fn declared_indexes(args: &[Arg]) -> String {
    names::listing(args.iter().map(|a| a.index))
}
