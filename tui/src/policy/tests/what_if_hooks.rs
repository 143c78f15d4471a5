//! What-if on `process_uprobe` events: the hook is found by path and symbol, and the selectors
//! read the arguments the event carries (a return uprobe's returned value last); a hook that does
//! not resolve here says why.
use super::*;
use crate::{event::decode_json_line, policy::hit_event::Verdict};
use what_if::WhatIf;

/// A uprobe policy on this test binary's `main`, killing when its first argument is 3.
fn uprobe_policy(path: &str) -> TracingPolicy {
    let spec = format!(
        "  uprobes:\n  - path: \"{path}\"\n    symbols: [main]\n    args:\n    - index: 0\n      type: int\n    selectors:\n    - matchArgs:\n      - index: 0\n        operator: Equal\n        values: [\"3\"]\n      matchActions:\n      - action: Sigkill\n"
    );
    parse_ok(&document("uprobe-what-if", &spec)).remove(0)
}

fn uprobe_event(path: &str, first: i32) -> crate::event::Event {
    let line = format!(
        r#"{{"process_uprobe":{{"process":{{"pid":4242,"binary":"/usr/bin/x"}},"path":"{path}","symbol":"main","args":[{{"int_arg":{first}}}]}},"time":"2026-01-01T00:00:00Z"}}"#
    );
    decode_json_line(line.as_bytes()).unwrap()
}

#[test]
fn uprobe_events_are_evaluated_by_path_symbol_and_arguments() {
    let me = std::env::current_exe().unwrap().display().to_string();
    let mut what_if = WhatIf::new(&uprobe_policy(&me), Mode::Enforce).unwrap();
    let found = what_if.evaluate(&uprobe_event(&me, 3)).expect("a match");
    assert_eq!(found.verdict, Some(Verdict::Killed));
    assert_eq!(what_if.evaluate(&uprobe_event(&me, 4)), None);
    assert_eq!(what_if.evaluate(&uprobe_event("/elsewhere", 3)), None);
}

#[test]
fn a_uprobe_that_does_not_resolve_here_cannot_be_evaluated() {
    let problems = WhatIf::new(&uprobe_policy("/no/such/binary"), Mode::Enforce)
        .err()
        .expect("refused");
    assert!(
        problems[0].contains("/no/such/binary: no such file on this machine"),
        "{problems:?}"
    );
}

#[test]
fn a_return_uprobe_is_evaluated_on_the_returned_value_its_events_carry() {
    let me = std::env::current_exe().unwrap().display().to_string();
    let spec = format!(
        "  uprobes:\n  - path: \"{me}\"\n    symbols: [main]\n    return: true\n    args:\n    - index: 0\n      type: int\n    returnArg:\n      index: 0\n      type: int\n    selectors:\n    - matchArgs:\n      - index: 0\n        operator: Equal\n        values: [\"1\"]\n      matchReturnArgs:\n      - index: 0\n        operator: GT\n        values: [\"3\"]\n"
    );
    let policy = parse_ok(&document("uretprobe-what-if", &spec)).remove(0);
    let mut what_if = WhatIf::new(&policy, Mode::Enforce).unwrap();
    let returned = |first: i32, value: i32| {
        let line = format!(
            r#"{{"process_uprobe":{{"process":{{"pid":4242,"binary":"/usr/bin/x"}},"path":"{me}","symbol":"main","args":[{{"int_arg":{first}}},{{"int_arg":{value},"label":"return"}}]}},"time":"2026-01-01T00:00:00Z"}}"#
        );
        decode_json_line(line.as_bytes()).unwrap()
    };
    assert!(what_if.evaluate(&returned(1, 4)).is_some());
    assert_eq!(what_if.evaluate(&returned(1, 3)), None, "returned 3");
    assert_eq!(what_if.evaluate(&returned(2, 4)), None, "first argument 2");
}

#[test]
fn a_return_uprobe_counts_its_returned_value_among_the_five_arguments() {
    let me = std::env::current_exe().unwrap().display().to_string();
    let args: String = (0..5)
        .map(|i| format!("    - index: {i}\n      type: int\n"))
        .collect();
    let spec = format!(
        "  uprobes:\n  - path: \"{me}\"\n    symbols: [main]\n    return: true\n    args:\n{args}    returnArg:\n      index: 0\n      type: int\n"
    );
    let policy = parse_ok(&document("uretprobe-args", &spec)).remove(0);
    let problems = WhatIf::new(&policy, Mode::Enforce).err().expect("refused");
    assert_eq!(
        problems,
        ["spec.uprobes[0].args: at most 5 arguments (the returnArg counts as one)"]
    );
}
