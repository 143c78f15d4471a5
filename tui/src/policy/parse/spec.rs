//! `spec`: its hook lists, workload selectors, lists, enforcers, options and selector macros.
use super::reader::{Reader, one_of};
use super::yaml::Node;
use super::{hooks, selectors};
use crate::policy::model::{
    EnforcerSpec, LabelExpression, LabelSelector, ListSpec, PolicyOption, Spec,
};
use crate::policy::names::{self, MODES};

const SPEC_FIELDS: &[&str] = &[
    "kprobes",
    "tracepoints",
    "loader",
    "uprobes",
    "lsmhooks",
    "usdts",
    "fentries",
    "podSelector",
    "containerSelector",
    "hostSelector",
    "nodeSelector",
    "lists",
    "enforcers",
    "options",
    "selectorsMacros",
];

pub(super) fn spec(r: &mut Reader, node: &Node, path: &str) -> Option<Spec> {
    let object = r.object(node, path, SPEC_FIELDS)?;
    let options = r.items(&object, "options", option);
    // The last policy-mode option wins, as each one overrides the ones before.
    let mode = options
        .iter()
        .rev()
        .find(|o| o.name == POLICY_MODE)
        .and_then(|o| MODES.parse(&o.value));
    Some(Spec {
        kprobes: r.items(&object, "kprobes", hooks::kprobe),
        tracepoints: r.items(&object, "tracepoints", hooks::tracepoint),
        uprobes: r.items(&object, "uprobes", hooks::uprobe),
        lsmhooks: r.items(&object, "lsmhooks", hooks::lsm_hook),
        usdts: r.items(&object, "usdts", hooks::usdt),
        fentries: r.items(&object, "fentries", hooks::kprobe),
        lists: r.items(&object, "lists", list),
        enforcers: r.items(&object, "enforcers", enforcer),
        options,
        mode,
        loader: r
            .optional(&object, "loader", Reader::boolean)
            .unwrap_or(false),
        pod_selector: r.optional(&object, "podSelector", label_selector),
        container_selector: r.optional(&object, "containerSelector", label_selector),
        host_selector: r.optional(&object, "hostSelector", label_selector),
        node_selector: r.optional(&object, "nodeSelector", label_selector),
        selectors_macros: r
            .optional(&object, "selectorsMacros", |r, node, path| {
                Some(r.map(node, path, selectors::selector))
            })
            .unwrap_or_default(),
    })
}

fn label_selector(r: &mut Reader, node: &Node, path: &str) -> Option<LabelSelector> {
    let object = r.object(node, path, &["matchLabels", "matchExpressions"])?;
    Some(LabelSelector {
        match_labels: r
            .optional(&object, "matchLabels", |r, node, path| {
                Some(r.map(node, path, Reader::text))
            })
            .unwrap_or_default(),
        match_expressions: r.items(&object, "matchExpressions", label_expression),
    })
}

fn label_expression(r: &mut Reader, node: &Node, path: &str) -> Option<LabelExpression> {
    let object = r.object(node, path, &["key", "operator", "values"])?;
    let operators = &["In", "NotIn", "Exists", "DoesNotExist"];
    let key = r.required(&object, "key", Reader::text);
    let operator = r.required(&object, "operator", one_of("operator", operators));
    Some(LabelExpression {
        values: r.items(&object, "values", Reader::text),
        key: key?,
        operator: operator?,
    })
}

fn list(r: &mut Reader, node: &Node, path: &str) -> Option<ListSpec> {
    let object = r.object(node, path, &["name", "values", "type", "pattern"])?;
    let types = &["syscalls", "generated_syscalls", "generated_ftrace"];
    let name = r.required(&object, "name", Reader::text);
    Some(ListSpec {
        values: r.items(&object, "values", Reader::text),
        list_type: r
            .optional(&object, "type", one_of("list type", types))
            .unwrap_or_default(),
        pattern: r.optional(&object, "pattern", Reader::text),
        at: object.at,
        name: name?,
    })
}

fn enforcer(r: &mut Reader, node: &Node, path: &str) -> Option<EnforcerSpec> {
    let object = r.object(node, path, &["calls"])?;
    Some(EnforcerSpec {
        calls: r.items(&object, "calls", Reader::text),
        at: object.at,
    })
}

const POLICY_MODE: &str = "policy-mode";

/// The spec options Tetragon knows (tetragon.md §3.8), each with what its value may be.
const OPTIONS: &[(&str, OptionValue)] = &[
    (POLICY_MODE, OptionValue::OneOf(&["enforce", "monitor"])),
    ("disable-kprobe-multi", OptionValue::OneOf(BOOLEANS)),
    ("disable-uprobe-multi", OptionValue::OneOf(BOOLEANS)),
    (
        "override-method",
        OptionValue::OneOf(&["override-return", "fmod-ret"]),
    ),
    ("sleepable-preload-size", OptionValue::Count),
];

/// What Go's strconv.ParseBool accepts.
const BOOLEANS: &[&str] = &[
    "true", "false", "1", "0", "t", "f", "T", "F", "TRUE", "FALSE", "True", "False",
];

#[derive(Clone, Copy)]
enum OptionValue {
    OneOf(&'static [&'static str]),
    Count,
}

impl OptionValue {
    fn check(self, value: &str) -> Result<(), String> {
        match self {
            OptionValue::OneOf(allowed) if allowed.contains(&value) => Ok(()),
            OptionValue::OneOf(allowed) => {
                Err(names::unknown("value", value, &names::listing(allowed)))
            }
            OptionValue::Count if value.parse::<u32>().is_ok() => Ok(()),
            OptionValue::Count => Err(format!(
                "expected a non-negative integer, found \"{value}\""
            )),
        }
    }
}

fn option(r: &mut Reader, node: &Node, path: &str) -> Option<PolicyOption> {
    let object = r.object(node, path, &["name", "value"])?;
    let names = OPTIONS.iter().map(|&(name, _)| name).collect::<Vec<_>>();
    let name = r.required(&object, "name", |r, node, path| {
        r.one_of(node, path, "option", &names)
    })?;
    let kind = OPTIONS
        .iter()
        .find(|&&(known, _)| known == name)
        .map(|&(_, kind)| kind)?;
    let value = r.required(&object, "value", |r, node, path| {
        let value = r.text(node, path)?;
        if let Err(message) = kind.check(&value) {
            r.error(node.at, path, message);
        }
        Some(value)
    })?;
    Some(PolicyOption {
        name,
        value,
        at: object.at,
    })
}
