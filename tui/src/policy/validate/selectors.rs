//! Selector checks: filters against the hook's arguments, the probes' limits, and what each
//! action needs.
use super::{Checker, Hook, HookKind, declared_indexes, values};
use crate::policy::compile::rate_limit_ns;
use crate::policy::model::{
    ActionKind, ActionSelector, Arg, ArgOperator, ArgSelector, BinaryOperator, BinarySelector,
    NamespaceSelector, Selector,
};
use crate::policy::names::{self, ACTIONS};

const MAX_ARG_FILTERS: usize = 5;
const MAX_ACTIONS: usize = 3;
const MAX_PID_VALUES: usize = 4;
const MAX_NAMESPACE_FILTERS: usize = 10;
const MAX_NAMESPACE_VALUES: usize = 4;
/// Binary paths live in 256-byte buffers, NUL included.
const MAX_BINARY_PATH: usize = 255;
const MAX_SIGNAL: u32 = 64;

/// Which of the hook's values a filter refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Args,
    Data,
    Return,
}

/// How many of something a selector holds.
type Count = fn(&Selector) -> usize;

/// What a selector (with its macros) may hold: (field, what it counts, max, the count).
const LIMITS: &[(&str, &str, usize, Count)] = &[
    (
        "matchArgs",
        "matchArgs and matchData filters",
        MAX_ARG_FILTERS,
        |s| s.match_args.len() + s.match_data.len(),
    ),
    ("matchActions", "actions", MAX_ACTIONS, |s| {
        s.match_actions.len()
    }),
    ("matchReturnActions", "return actions", MAX_ACTIONS, |s| {
        s.match_return_actions.len()
    }),
    ("matchBinaries", "matchBinaries entries", 1, |s| {
        s.match_binaries.len()
    }),
    (
        "matchParentBinaries",
        "matchParentBinaries entries",
        1,
        |s| s.match_parent_binaries.len(),
    ),
    (
        "matchNamespaces",
        "matchNamespaces entries",
        MAX_NAMESPACE_FILTERS,
        |s| s.match_namespaces.len(),
    ),
    (
        "matchNamespaceChanges",
        "matchNamespaceChanges entries",
        1,
        |s| s.match_namespace_changes.len(),
    ),
];

/// The parts of a selector that only a return probe runs.
const ON_RETURN: &[(&str, Count)] = &[
    ("matchReturnArgs", |s| s.match_return_args.len()),
    ("matchReturnActions", |s| s.match_return_actions.len()),
];

/// The filters of one selector already seen: (source, position in it, the filter's path).
type Filtered = Vec<(Source, usize, String)>;

impl<'p> Checker<'p> {
    pub(super) fn selector(&mut self, hook: &Hook<'p>, path: &str, selector: &'p Selector) {
        let parts = self.parts(path, selector);
        let field = |key: &str| format!("{path}.{key}");
        let total = |count: &Count| parts.iter().map(|(_, s)| count(s)).sum();
        for (key, what, max, count) in LIMITS {
            let count: usize = total(count);
            if count > *max {
                let message = format!("too many {what}: {count}, max {max}");
                self.error(&field(key), selector.at, message);
            }
        }
        if !hook.is_return {
            for (key, count) in ON_RETURN {
                if total(count) > 0 {
                    let message =
                        format!("{key} needs a return probe (return: true with a returnArg)");
                    self.error(&field(key), selector.at, message);
                }
            }
        }

        let mut filtered = Filtered::new();
        for (part, selector) in &parts {
            let item = |key: &str, i: usize| format!("{part}.{key}[{i}]");
            let filters = [
                ("matchArgs", Source::Args, &selector.match_args),
                ("matchData", Source::Data, &selector.match_data),
                (
                    "matchReturnArgs",
                    Source::Return,
                    &selector.match_return_args,
                ),
            ];
            for (key, source, filters) in filters {
                for (i, filter) in filters.iter().enumerate() {
                    self.arg_filter(hook, source, &item(key, i), filter, &mut filtered);
                }
            }
            for (i, pids) in selector.match_pids.iter().enumerate() {
                if pids.values.len() > MAX_PID_VALUES {
                    let message = format!("{} PID values, max {MAX_PID_VALUES}", pids.values.len());
                    self.error(
                        &format!("{}.values", item("matchPIDs", i)),
                        pids.at,
                        message,
                    );
                }
            }
            let binaries = [
                ("matchBinaries", &selector.match_binaries),
                ("matchParentBinaries", &selector.match_parent_binaries),
            ];
            for (key, binaries) in binaries {
                for (i, binary) in binaries.iter().enumerate() {
                    self.binaries(&item(key, i), binary);
                }
            }
            for (i, namespaces) in selector.match_namespaces.iter().enumerate() {
                self.namespaces(&item("matchNamespaces", i), namespaces);
            }
            let actions = [
                ("matchActions", &selector.match_actions),
                ("matchReturnActions", &selector.match_return_actions),
            ];
            for (key, actions) in actions {
                for (i, action) in actions.iter().enumerate() {
                    self.action(hook, &item(key, i), action);
                }
            }
        }
    }

    /// The selector and the macros it uses, each with its own path: limits count them together,
    /// and an error inside a macro points at the macro. As in Tetragon, a field comes from the
    /// selector or from one macro, and a macro names no macros.
    fn parts(&mut self, path: &str, selector: &'p Selector) -> Vec<(String, &'p Selector)> {
        let macros = &self.policy.spec.selectors_macros;
        let mut parts = vec![(path.to_string(), selector)];
        for (i, name) in selector.macros.iter().enumerate() {
            match macros.iter().find(|(defined, _)| defined == name) {
                Some((_, body)) => {
                    let at = format!("{path}.macros[{i}]");
                    if !body.macros.is_empty() {
                        let message = format!("macro \"{name}\" names macros; a macro cannot");
                        self.error(&at, selector.at, message);
                    }
                    for (_, earlier) in &parts {
                        for field in earlier.shared_fields(body) {
                            let message = format!(
                                "{field}: given by macro \"{name}\" and by the selector or another of its macros"
                            );
                            self.error(&at, selector.at, message);
                        }
                    }
                    parts.push((format!("spec.selectorsMacros.{name}"), body));
                }
                None => {
                    let defined = names::listing(macros.iter().map(|(n, _)| n));
                    let message = format!(
                        "macro \"{name}\" is not defined in spec.selectorsMacros; defined: {defined}"
                    );
                    self.error(&format!("{path}.macros[{i}]"), selector.at, message);
                }
            }
        }
        parts
    }

    fn arg_filter(
        &mut self,
        hook: &Hook,
        source: Source,
        path: &str,
        filter: &ArgSelector,
        filtered: &mut Filtered,
    ) {
        let declared: &[Arg] = match source {
            Source::Args => hook.args,
            Source::Data => hook.data,
            Source::Return => hook
                .return_arg
                .map(std::slice::from_ref)
                .unwrap_or_default(),
        };
        let Some(position) = self.filtered_position(hook, source, path, filter, declared) else {
            return;
        };
        let field = |key: &str| format!("{path}.{key}");
        let reference = if filter.args.is_empty() {
            field("index")
        } else {
            field("args")
        };
        match filtered
            .iter()
            .find(|(s, p, _)| *s == source && *p == position)
        {
            Some((_, _, first)) => {
                let message = format!(
                    "this argument is already filtered by {first}; give one filter per argument"
                );
                self.error(&reference, filter.at, message);
            }
            None => filtered.push((source, position, path.to_string())),
        }

        // CapabilitiesGained compares two arguments; the others one.
        let compared = filter
            .args
            .iter()
            .skip(1)
            .map(|&p| p as usize)
            .chain([position]);
        for compared in compared {
            if let Some(message) = values::misfit(filter.operator, declared[compared].ty) {
                self.error(&field("operator"), filter.at, message);
                return;
            }
        }
        let lists = &self.policy.spec.lists;
        for problem in values::check(
            filter.operator,
            declared[position].ty,
            &filter.values,
            lists,
        ) {
            let at = match problem.value {
                Some(i) => format!("{path}.values[{i}]"),
                None => field("values"),
            };
            self.error(&at, filter.at, problem.message);
        }
    }

    /// The position in `declared` of the value a filter refers to; None (reported) when it
    /// refers to nothing.
    fn filtered_position(
        &mut self,
        hook: &Hook,
        source: Source,
        path: &str,
        filter: &ArgSelector,
        declared: &[Arg],
    ) -> Option<usize> {
        if !filter.args.is_empty() {
            // `args` lists positions in the hook's args, and takes precedence over `index`.
            let mut valid = true;
            for (k, &position) in filter.args.iter().enumerate() {
                if position as usize >= declared.len() {
                    let message = format!(
                        "position {position} is out of range: the hook declares {} args",
                        declared.len()
                    );
                    self.error(&format!("{path}.args[{k}]"), filter.at, message);
                    valid = false;
                }
            }
            if filter.operator == ArgOperator::CapabilitiesGained && filter.args.len() != 2 {
                let message = "CapabilitiesGained compares two arguments: give args: [new, old]";
                self.error(&format!("{path}.args"), filter.at, message);
                valid = false;
            }
            return valid.then_some(filter.args[0] as usize);
        }
        let index = filter.index;
        let by_position = ((index as usize) < declared.len()).then_some(index as usize);
        let by_index = declared.iter().position(|a| a.index == index);
        let position = match (source, hook.kind) {
            // matchData counts positions in the data list.
            (Source::Data, _) => by_position,
            // A tracepoint filter names the format field (the arg's index) or the arg's position.
            (Source::Args, HookKind::Tracepoint) => by_index.or(by_position),
            _ => by_index,
        };
        if position.is_none() {
            let message = match source {
                Source::Data => format!(
                    "index {index} is out of range: the hook declares {} data values",
                    declared.len()
                ),
                Source::Args => format!(
                    "index {index} does not refer to an argument declared in args; declared indexes: {}",
                    declared_indexes(declared)
                ),
                Source::Return => format!(
                    "index {index} does not refer to the returnArg; its index: {}",
                    declared_indexes(declared)
                ),
            };
            self.error(&format!("{path}.index"), filter.at, message);
        }
        position
    }

    fn binaries(&mut self, path: &str, binaries: &BinarySelector) {
        use BinaryOperator::*;
        let is_path = matches!(binaries.operator, In | NotIn | Prefix | NotPrefix);
        for (i, value) in binaries.values.iter().enumerate() {
            let problem = if value.len() > MAX_BINARY_PATH {
                Some(format!(
                    "binary path is {} bytes long, max {MAX_BINARY_PATH}",
                    value.len()
                ))
            } else if is_path && !value.starts_with('/') {
                Some(format!("binary paths must be absolute, found \"{value}\""))
            } else {
                None
            };
            if let Some(message) = problem {
                self.error(&format!("{path}.values[{i}]"), binaries.at, message);
            }
        }
        if binaries.follow_children && !matches!(binaries.operator, In | NotIn) {
            let message = "followChildren works with the operators In and NotIn only";
            self.error(&format!("{path}.followChildren"), binaries.at, message);
        }
    }

    fn namespaces(&mut self, path: &str, namespaces: &NamespaceSelector) {
        if namespaces.values.len() > MAX_NAMESPACE_VALUES {
            let message = format!(
                "{} namespace values, max {MAX_NAMESPACE_VALUES}",
                namespaces.values.len()
            );
            self.error(&format!("{path}.values"), namespaces.at, message);
        }
        for (i, value) in namespaces.values.iter().enumerate() {
            if value != "host_ns" && value.parse::<u32>().is_err() {
                let message =
                    format!("namespace values are inode numbers or host_ns, found \"{value}\"");
                self.error(&format!("{path}.values[{i}]"), namespaces.at, message);
            }
        }
    }

    fn action(&mut self, hook: &Hook, path: &str, action: &ActionSelector) {
        use ActionKind::*;
        let name = ACTIONS.name(action.action);
        let field = |key: &str| format!("{path}.{key}");
        let mut missing = Vec::new();
        match action.action {
            Signal => match action.arg_sig {
                None => missing.push("argSig"),
                Some(signal) if !(1..=MAX_SIGNAL).contains(&signal) => {
                    let message = format!("signal {signal} is out of range 1..{MAX_SIGNAL}");
                    self.error(&field("argSig"), action.at, message);
                }
                Some(_) => {}
            },
            FollowFd | UnfollowFd | CopyFd => {
                for (key, index) in [("argFd", action.arg_fd), ("argName", action.arg_name)] {
                    match index {
                        None => missing.push(key),
                        Some(index) if !hook.args.iter().any(|a| a.index == index) => {
                            let message = format!(
                                "{key} {index} does not refer to an argument declared in args; declared indexes: {}",
                                declared_indexes(hook.args)
                            );
                            self.error(&field(key), action.at, message);
                        }
                        Some(_) => {}
                    }
                }
            }
            // A uprobe may override registers instead of the return value.
            Override if action.arg_error.is_none() && action.arg_regs.is_empty() => {
                missing.push("argError")
            }
            GetUrl if action.arg_url.is_none() => missing.push("argUrl"),
            DnsLookup if action.arg_fqdn.is_none() => missing.push("argFqdn"),
            Set => {
                missing.extend(action.arg_index.is_none().then_some("argIndex"));
                missing.extend(action.arg_value.is_none().then_some("argValue"));
            }
            _ => {}
        }
        for key in missing {
            self.error(&field(key), action.at, format!("action {name} needs {key}"));
        }

        if action.action != Post {
            let post_only = [
                ("rateLimit", action.rate_limit.is_some()),
                ("rateLimitScope", action.rate_limit_scope.is_some()),
                ("kernelStackTrace", action.kernel_stack_trace),
                ("userStackTrace", action.user_stack_trace),
                ("imaHash", action.ima_hash),
            ];
            for (key, _) in post_only.into_iter().filter(|&(_, given)| given) {
                let message = format!("{key} applies to the Post action only, not to {name}");
                self.error(&field(key), action.at, message);
            }
        }
        if let Some(limit) = &action.rate_limit
            && let Err(message) = rate_limit_ns(limit)
        {
            self.error(&field("rateLimit"), action.at, message);
        }
        if hook.kind == HookKind::Fentry && action.action.is_enforcement() {
            let message = format!("fentries cannot enforce: action {name} is not supported there");
            self.error(&field("action"), action.at, message);
        }
    }
}
