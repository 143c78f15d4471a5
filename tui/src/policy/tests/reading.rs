//! Reading: documents, defaults, scalar types, aliases, options and error reporting.
use std::path::Path;

use super::*;

#[test]
fn documents_are_split_with_their_own_text_and_empty_ones_skipped() {
    let first = document("one", "  loader: true");
    let second = document("two", "  loader: true");
    let text = format!("# comment\n{first}---\n---\n{second}---\n");
    let policies = parse_ok(&text);
    assert_eq!(policies.len(), 2);
    assert_eq!(policies[0].yaml, format!("# comment\n{first}"));
    assert_eq!(policies[0].at, Location { line: 2, column: 1 });
    assert_eq!(policies[1].yaml, format!("---\n{second}"));
    assert_eq!(policies[1].at.line, first.lines().count() + 4);
    assert!(parse_ok("").is_empty());
    assert!(parse_ok("# only a comment\n---\n").is_empty());
}

#[test]
fn crd_defaults_apply() {
    let policy = &parse_ok(&document(
        "defaults",
        "  kprobes: [{call: sys_setuid, args: [{index: 0, type: int}]}]\n  lsmhooks: [{hook: file_open, args: [{index: 0}], selectors: [{matchCapabilities: [{operator: In, values: [CAP_BPF]}]}]}]",
    ))[0];
    assert!(policy.spec.kprobes[0].syscall);
    assert!(!policy.spec.kprobes[0].is_return);
    let lsm = &policy.spec.lsmhooks[0];
    assert_eq!(lsm.args[0].ty, ArgType::Auto);
    let caps = &lsm.selectors[0].match_capabilities[0];
    assert_eq!(
        (caps.set, caps.values.as_slice()),
        (CapabilitySet::Effective, &[39][..])
    );
}

#[test]
fn values_may_be_numbers_or_strings() {
    let numbers = kprobe(
        "call: sys_setuid, args: [{index: 0, type: int}], selectors: [{matchArgs: [{index: 0, operator: Equal, values: [1, 0x10]}]}]",
    );
    let strings = kprobe(
        "call: sys_setuid, args: [{index: 0, type: int}], selectors: [{matchArgs: [{index: 0, operator: Equal, values: [\"1\", \"0x10\"]}]}]",
    );
    for text in [numbers, strings] {
        assert_eq!(
            parse_ok(&text)[0].spec.kprobes[0].selectors[0].match_args[0].values,
            ["1", "0x10"]
        );
    }
}

#[test]
fn integer_and_boolean_fields_take_unquoted_values() {
    assert_rejected(
        &kprobe("call: sys_setuid, args: [{index: \"0\", type: int}]"),
        "spec.kprobes[0].args[0].index",
        "expected an integer from 0 to 4294967295",
    );
    assert_rejected(
        &kprobe("call: sys_setuid, args: [{index: -1, type: int}]"),
        "spec.kprobes[0].args[0].index",
        "found \"-1\"",
    );
    assert_rejected(
        &kprobe("call: sys_setuid, syscall: \"true\""),
        "spec.kprobes[0].syscall",
        "expected true or false",
    );
    assert_rejected(
        &kprobe("call: sys_setuid, selectors: [{matchPIDs: [{operator: In, values: [init]}]}]"),
        "spec.kprobes[0].selectors[0].matchPIDs[0].values[0]",
        "expected an integer",
    );
}

#[test]
fn tetragon_aliases_are_accepted() {
    let text = kprobe(
        "call: sys_openat, args: [{index: 0, type: int}, {index: 1, type: string}], selectors: [{\
         matchArgs: [{index: 0, operator: gt, values: [1]}, {index: 1, operator: prefix, values: [/etc]}], \
         matchNamespaces: [{namespace: pid, operator: In, values: [host_ns]}], \
         matchCapabilities: [{type: permitted, operator: NotIn, values: [cap_sys_admin]}], \
         matchActions: [{action: sigkill}, {action: NOPOST}]}]",
    );
    let selector = &parse_ok(&text)[0].spec.kprobes[0].selectors[0];
    let operators: Vec<ArgOperator> = selector.match_args.iter().map(|a| a.operator).collect();
    assert_eq!(operators, [ArgOperator::GreaterThan, ArgOperator::Prefix]);
    assert_eq!(selector.match_namespaces[0].namespace, NamespaceKind::Pid);
    assert_eq!(selector.match_capabilities[0].set, CapabilitySet::Permitted);
    assert_eq!(selector.match_capabilities[0].values, [21]);
    let actions: Vec<ActionKind> = selector.match_actions.iter().map(|a| a.action).collect();
    assert_eq!(actions, [ActionKind::Sigkill, ActionKind::NoPost]);
}

#[test]
fn options_set_the_mode_and_unknown_ones_are_rejected() {
    let with =
        |options: &str| document("options", &format!("  loader: true\n  options: {options}"));
    let policy = &parse_ok(&with(
        "[{name: policy-mode, value: monitor}, {name: disable-kprobe-multi, value: true}]",
    ))[0];
    assert_eq!(policy.spec.mode, Some(Mode::Monitor));
    assert_eq!(policy.spec.options[1].value, "true");
    assert_rejected(
        &with("[{name: policy-mod, value: monitor}]"),
        "spec.options[0].name",
        "unknown option \"policy-mod\"; allowed: policy-mode,",
    );
    assert_rejected(
        &with("[{name: policy-mode, value: audit}]"),
        "spec.options[0].value",
        "unknown value \"audit\"; allowed: enforce, monitor",
    );
    assert_rejected(
        &with("[{name: override-method, value: kprobe}]"),
        "spec.options[0].value",
        "allowed: override-return, fmod-ret",
    );
}

#[test]
fn every_error_is_reported() {
    let text = kprobe(
        "call: sys_setuid, sycall: true, args: [{index: 0, type: integer}], selectors: [{matchActions: [{action: Kill}]}]",
    );
    let fields: Vec<String> = parse_err(&text).into_iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        [
            "spec.kprobes[0].sycall",
            "spec.kprobes[0].args[0].type",
            "spec.kprobes[0].selectors[0].matchActions[0].action"
        ]
    );
}

#[test]
fn document_level_errors() {
    let good = document("fine", "  loader: true");
    assert_rejected(
        &good.replace("cilium.io/v1alpha1", "v1"),
        "apiVersion",
        "unknown apiVersion \"v1\"; allowed: cilium.io/v1alpha1",
    );
    assert_rejected(
        &good.replace("kind: TracingPolicy", "kind: Policy"),
        "kind",
        "allowed: TracingPolicy, TracingPolicyNamespaced",
    );
    assert_rejected(
        &good.replace("name: fine", "name: Not_Fine"),
        "metadata.name",
        "invalid policy name \"Not_Fine\"",
    );
    assert_rejected(
        &good.replace("  name: fine", "  labels: {app: x}"),
        "metadata.name",
        "missing required field \"name\"",
    );
    assert_rejected(
        &good.replace("  loader: true", "  loader: true\n  loader: false"),
        "spec.loader",
        "given twice",
    );
    assert_rejected(
        "- a list\n",
        "<document>",
        "expected a mapping, found a list",
    );
    let namespaced = good
        .replace("kind: TracingPolicy", "kind: TracingPolicyNamespaced")
        .replace("name: fine", "name: fine\n  namespace: team");
    assert_eq!(parse_ok(&namespaced)[0].namespace.as_deref(), Some("team"));
    assert_rejected(
        &namespaced.replace("loader: true", "hostSelector: {}"),
        "spec.hostSelector",
        "cannot have a hostSelector",
    );
    assert_rejected(
        &good.replace("loader: true", "hostSelector: {matchLabels: {a: b}}"),
        "spec.hostSelector",
        "null (no host workloads) or {}",
    );
}

#[test]
fn errors_display_file_line_column_field_and_message() {
    let error = parse_err(&kprobe("call: sys_setuid, returnn: true"))[0].clone();
    assert_eq!(
        error.to_string(),
        "<input>:6:32: spec.kprobes[0].returnn: unknown field \"returnn\"; allowed: call, syscall, return, message, args, data, returnArg, returnArgAction, selectors, tags, ignore"
    );
    let missing = Path::new("/nonexistent/policy.yaml");
    let errors = load_file(missing).unwrap_err();
    assert_eq!(errors[0].field, "<file>");
    assert!(
        errors[0]
            .to_string()
            .starts_with("/nonexistent/policy.yaml: <file>: "),
        "{}",
        errors[0]
    );
}
