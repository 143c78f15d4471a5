//! Loading policies: the shared examples, the broken fixtures, and (in the submodules) reading
//! and the validation rules.
use std::path::{Path, PathBuf};

use super::model::*;
use super::*;

mod reading;
mod rules;
mod what_if_engine;
mod what_if_hooks;

// ---- helpers ----

/// A policy document named `name` whose spec is `spec` (YAML indented under `spec:`).
fn document(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: {name}\nspec:\n{spec}\n"
    )
}

/// A policy with one kprobe given as the fields of a flow mapping.
fn kprobe(fields: &str) -> String {
    document("test", &format!("  kprobes: [{{{fields}}}]"))
}

fn parse_ok(text: &str) -> Vec<TracingPolicy> {
    parse_str(text, None).unwrap_or_else(|errors| panic!("unexpected errors: {errors:#?}"))
}

fn parse_err(text: &str) -> Vec<PolicyError> {
    match parse_str(text, None) {
        Ok(_) => panic!("policy was accepted:\n{text}"),
        Err(errors) => errors,
    }
}

/// Asserts that `text` is rejected with an error on `field` whose message contains `part`.
#[track_caller]
fn assert_rejected(text: &str, field: &str, part: &str) {
    let errors = parse_err(text);
    assert!(
        errors
            .iter()
            .any(|e| e.field == field && e.message.contains(part)),
        "no error on {field} containing {part:?} in {errors:#?}"
    );
}

fn shared_policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/policies")
}

// ---- the policies every release must load ----

#[test]
fn every_tetragon_example_loads() {
    let dir = shared_policies().join("tetragon-examples");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let policies = load_file(&path).unwrap_or_else(|errors| {
            panic!(
                "{}: {}",
                path.display(),
                errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        assert_eq!(policies.len(), 1, "{}", path.display());
        assert_eq!(policies[0].file.as_deref(), Some(path.as_path()));
        count += 1;
    }
    assert!(
        count >= 35,
        "only {count} examples found in {}",
        dir.display()
    );
}

#[test]
fn iris_policy_loads_as_written() {
    let path = shared_policies().join("iris-read-file-sigkill.yaml");
    let policies = load_file(&path).unwrap();
    let [policy] = policies.as_slice() else {
        panic!("{policies:#?}")
    };
    assert_eq!(policy.name, "iris-read-file-sigkill");
    assert_eq!(policy.kind, PolicyKind::TracingPolicy);
    assert_eq!(policy.yaml, std::fs::read_to_string(&path).unwrap());
    assert_eq!(policy.at, Location { line: 1, column: 1 });
    assert_eq!(policy.spec.mode, None);

    let kprobes = &policy.spec.kprobes;
    let calls: Vec<&str> = kprobes.iter().map(|k| k.call.as_str()).collect();
    assert_eq!(calls, ["fd_install", "__x64_sys_close", "__x64_sys_read"]);
    assert_eq!(
        kprobes.iter().map(|k| k.syscall).collect::<Vec<_>>(),
        [false, true, true]
    );
    assert_eq!(
        kprobes[0]
            .args
            .iter()
            .map(|a| (a.index, a.ty))
            .collect::<Vec<_>>(),
        [(0, ArgType::Int), (1, ArgType::File)]
    );

    let selector = &kprobes[0].selectors[0];
    let pids = &selector.match_pids[0];
    assert_eq!(pids.operator, SetOperator::NotIn);
    assert_eq!(pids.values, [1]);
    assert!(pids.follow_forks && pids.is_namespace_pid);
    let args = &selector.match_args[0];
    assert_eq!((args.index, args.operator), (1, ArgOperator::Prefix));
    assert_eq!(
        args.values,
        ["/usr/irissys/secrets/", "/usr/irissys/mgr/iris.key"]
    );
    let follow = &selector.match_actions[0];
    assert_eq!(
        (follow.action, follow.arg_fd, follow.arg_name),
        (ActionKind::FollowFd, Some(0), Some(1))
    );
    assert_eq!(
        follow.at,
        Location {
            line: 29,
            column: 9
        }
    );

    let unfollow = &kprobes[1].selectors[0].match_actions[0];
    assert_eq!(
        (unfollow.action, unfollow.arg_fd, unfollow.arg_name),
        (ActionKind::UnfollowFd, Some(0), Some(0))
    );
    let read = &kprobes[2];
    assert!(read.args[1].return_copy);
    assert_eq!(read.args[1].ty, ArgType::CharBuf);
    assert_eq!(
        read.selectors[0].match_actions[0].action,
        ActionKind::Sigkill
    );
}

#[test]
fn loading_the_examples_directory_reports_their_repeated_names() {
    // Several examples share a name ("syscalls", "uprobe", ...); Tetragon would not run them together.
    let errors = load_path(&shared_policies().join("tetragon-examples")).unwrap_err();
    assert!(
        errors
            .iter()
            .all(|e| e.field == "metadata.name" && e.message.starts_with("duplicate policy name")),
        "{errors:#?}"
    );
    let repeated: Vec<&str> = errors
        .iter()
        .filter_map(|e| e.message.split('"').nth(1))
        .collect();
    assert!(
        repeated.contains(&"syscalls") && repeated.contains(&"uprobe"),
        "{repeated:?}"
    );
}

// ---- broken fixtures: one error each, at an exact place ----

/// The single error of the fixture `name`.
#[track_caller]
fn fixture_error(name: &str) -> PolicyError {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/policies/broken"
    ))
    .join(name);
    let errors = load_path(&path).expect_err("the fixture should be rejected");
    let [error] = errors.as_slice() else {
        panic!("expected one error: {errors:#?}")
    };
    assert_eq!(error.file.as_deref(), Some(path.as_path()));
    error.clone()
}

#[track_caller]
fn assert_fixture(name: &str, (line, column): (usize, usize), field: &str, part: &str) {
    let error = fixture_error(name);
    assert_eq!(
        (error.at.line, error.at.column, error.field.as_str()),
        (line, column, field),
        "{error}"
    );
    assert!(error.message.contains(part), "{error}");
}

#[test]
fn fixture_wrong_operator() {
    assert_fixture(
        "wrong-operator.yaml",
        (16, 19),
        "spec.kprobes[0].selectors[0].matchArgs[0].operator",
        "unknown operator \"Prefixx\"; allowed: Equal, NotEqual, Prefix,",
    );
}

#[test]
fn fixture_too_many_values() {
    let field = "spec.kprobes[0].selectors[0].matchArgs[0].values";
    assert_fixture(
        "too-many-values.yaml",
        (16, 9),
        field,
        "5 values for operator GreaterThan, max 4",
    );
}

#[test]
fn fixture_unknown_action() {
    let field = "spec.kprobes[0].selectors[0].matchActions[0].action";
    assert_fixture(
        "unknown-action.yaml",
        (14, 17),
        field,
        "unknown action \"Sigkil\"; allowed: Post,",
    );
}

#[test]
fn fixture_bad_index() {
    let field = "spec.kprobes[0].selectors[0].matchArgs[0].index";
    assert_fixture(
        "bad-index.yaml",
        (16, 16),
        field,
        "index 3 does not refer to an argument declared in args; declared indexes: 0, 1",
    );
}

#[test]
fn fixture_bad_arg_type() {
    assert_fixture(
        "bad-arg-type.yaml",
        (13, 13),
        "spec.kprobes[0].args[1].type",
        "unknown type \"strng\"; allowed: auto, int,",
    );
}

#[test]
fn fixture_missing_call() {
    assert_fixture(
        "missing-call.yaml",
        (8, 5),
        "spec.kprobes[0].call",
        "missing required field \"call\"",
    );
}

#[test]
fn fixture_yaml_syntax() {
    assert_fixture("yaml-syntax.yaml", (10, 5), "<yaml>", "flow");
}

#[test]
fn fixture_duplicate_names() {
    assert_fixture(
        "duplicate-names.yaml",
        (16, 9),
        "metadata.name",
        "duplicate policy name \"twice\"; first defined at ",
    );
    assert!(
        fixture_error("duplicate-names.yaml")
            .message
            .ends_with("duplicate-names.yaml:5:9")
    );
}

#[test]
fn fixture_unknown_field() {
    assert_fixture(
        "unknown-field.yaml",
        (13, 7),
        "spec.kprobes[0].selectors[0].matchArg",
        "unknown field \"matchArg\"; allowed: matchPIDs, matchArgs,",
    );
}

#[test]
fn fixture_too_many_selectors() {
    assert_fixture(
        "too-many-selectors.yaml",
        (12, 5),
        "spec.kprobes[0].selectors",
        "too many selectors: 6, max 5",
    );
}

#[test]
fn fixture_signal_without_argsig() {
    let field = "spec.kprobes[0].selectors[0].matchActions[0].argSig";
    assert_fixture(
        "signal-without-argsig.yaml",
        (14, 9),
        field,
        "action Signal needs argSig",
    );
}

#[test]
fn a_directory_with_one_broken_file_fails_with_its_errors() {
    let dir = std::env::temp_dir().join(format!("tetrascope-policy-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.yaml"), document("a", "  loader: true")).unwrap();
    std::fs::write(dir.join("b.yml"), document("b", "  loader: maybe")).unwrap();
    std::fs::write(dir.join("notes.txt"), "not a policy").unwrap();
    let result = load_path(&dir);
    std::fs::write(dir.join("b.yml"), document("b", "  loader: false")).unwrap();
    let names: Vec<String> = load_path(&dir)
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    std::fs::remove_dir_all(&dir).unwrap();

    let errors = result.unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].file.as_deref(), Some(dir.join("b.yml").as_path()));
    assert_eq!(errors[0].field, "spec.loader");
    assert_eq!(names, ["a", "b"]);
}
