//! Tetragon's rules and limits on hooks, filters, selectors and actions.
use super::*;

#[test]
fn hook_rules() {
    let three = |arg: &str| [arg; 3].join(", ");
    let (args, data) = (
        three("{index: 0, type: int}"),
        three("{index: 0, type: int, source: current_task}"),
    );
    assert_rejected(
        &kprobe(&format!("call: f, args: [{args}], data: [{data}]")),
        "spec.kprobes[0].args",
        "too many arguments, max 5 (found 6 in args and data)",
    );
    assert_rejected(
        &kprobe("call: f, return: true"),
        "spec.kprobes[0].returnArg",
        "return: true needs a returnArg",
    );
    assert_rejected(
        &kprobe("call: \"\""),
        "spec.kprobes[0].call",
        "call must not be empty",
    );
    assert_rejected(
        &kprobe("call: f, args: [{index: 5, type: int}]"),
        "spec.kprobes[0].args[0].index",
        "out of range 0..4",
    );
    assert_rejected(
        &kprobe("call: f, args: [{index: 0}]"),
        "spec.kprobes[0].args[0].type",
        "type auto is not supported",
    );
    assert_rejected(
        &kprobe("call: f, args: [{index: 0, type: syscall64}]"),
        "spec.kprobes[0].args[0].type",
        "syscall64 is for tracepoints",
    );
    assert_rejected(
        &kprobe("call: f, args: [{index: 0, type: int, sizeArgIndex: 2}]"),
        "spec.kprobes[0].args[0].sizeArgIndex",
        "not int",
    );
    assert_rejected(
        &kprobe("call: f, args: [{index: 0, type: char_buf, maxData: true, returnCopy: true}]"),
        "spec.kprobes[0].args[0].maxData",
        "returnCopy",
    );
    assert_rejected(
        &kprobe(&format!("call: f, message: {}", "m".repeat(257))),
        "spec.kprobes[0].message",
        "257 characters long, max 256",
    );
    assert_rejected(
        &kprobe(&format!("call: f, tags: [{}]", ["t"; 17].join(", "))),
        "spec.kprobes[0].tags",
        "too many tags: 17, max 16",
    );
    assert_rejected(
        &kprobe("call: \"list:missing\""),
        "spec.kprobes[0].call",
        "list \"missing\" is not defined in spec.lists; defined: none",
    );
    let uprobe = |targets: &str| document("u", &format!("  uprobes: [{{path: /bin/sh{targets}}}]"));
    assert_rejected(
        &uprobe(""),
        "spec.uprobes[0]",
        "exactly one of symbols, offsets or addrs is required; found: none",
    );
    assert_rejected(
        &uprobe(", symbols: [main], offsets: [16]"),
        "spec.uprobes[0]",
        "found: symbols, offsets",
    );
    parse_ok(&uprobe(", addrs: [0x401000]"));
}

/// A kprobe on `f(int, char *path, struct file *, struct sock *, struct sockaddr *)` with
/// `selectors` (a flow list).
fn with_selectors(selectors: &str) -> String {
    kprobe(&format!(
        "call: f, return: true, returnArg: {{index: 0, type: int}}, args: [{{index: 0, type: int}}, {{index: 1, type: string}}, {{index: 2, type: file}}, {{index: 3, type: sock}}, {{index: 4, type: sockaddr}}], selectors: {selectors}"
    ))
}

#[test]
fn filters_must_fit_their_argument() {
    let field = "spec.kprobes[0].selectors[0].matchArgs[0]";
    let filter = |f: &str| with_selectors(&format!("[{{matchArgs: [{f}]}}]"));
    assert_rejected(
        &filter("{index: 0, operator: Prefix, values: [a]}"),
        &format!("{field}.operator"),
        "operator Prefix cannot filter an argument of type int; it takes string, file and path types",
    );
    assert_rejected(
        &filter("{index: 4, operator: DAddr, values: [10.0.0.1]}"),
        &format!("{field}.operator"),
        "type sockaddr",
    );
    assert_rejected(
        &filter("{index: 1, operator: FileType, values: [dir]}"),
        &format!("{field}.operator"),
        "type string",
    );
    assert_rejected(
        &filter("{index: 0, operator: GT, values: [x]}"),
        &format!("{field}.values[0]"),
        "\"x\" is not an integer",
    );
    assert_rejected(
        &filter("{index: 0, operator: InRange, values: [\"5\"]}"),
        &format!("{field}.values[0]"),
        "write it as min:max",
    );
    assert_rejected(
        &filter("{index: 0, operator: InMap, values: [\"list:nope\"]}"),
        &format!("{field}.values[0]"),
        "list \"nope\" is not defined",
    );
    let ftrace_list = format!(
        "{}  lists: [{{name: funcs, type: generated_ftrace, pattern: \"^x\"}}]\n",
        filter("{index: 0, operator: NotInMap, values: [1, \"list:funcs\"]}")
    );
    assert_rejected(
        &ftrace_list,
        &format!("{field}.values[1]"),
        "list \"funcs\" is not a syscall list (type \"generated_ftrace\")",
    );
    assert_rejected(
        &filter("{index: 1, operator: Prefix, values: []}"),
        &format!("{field}.values"),
        "needs at least one value",
    );
    assert_rejected(
        &filter(&format!(
            "{{index: 1, operator: Prefix, values: [{}]}}",
            "p".repeat(257)
        )),
        &format!("{field}.values[0]"),
        "at most 256",
    );
    assert_rejected(
        &filter(&format!(
            "{{index: 1, operator: Postfix, values: [{}]}}",
            "p".repeat(129)
        )),
        &format!("{field}.values[0]"),
        "at most 128",
    );
    assert_rejected(
        &filter(&format!(
            "{{index: 2, operator: Equal, values: [{}]}}",
            ["/a"; 9].join(", ")
        )),
        &format!("{field}.values"),
        "9 values for operator Equal, max 8",
    );
    assert_rejected(
        &filter("{index: 2, operator: FileType, values: [folder]}"),
        &format!("{field}.values[0]"),
        "unknown file type \"folder\"",
    );
    assert_rejected(
        &filter("{index: 3, operator: SAddr, values: [10.0.0.300]}"),
        &format!("{field}.values[0]"),
        "not an IPv4 or IPv6 address or CIDR",
    );
    assert_rejected(
        &filter("{index: 3, operator: DPort, values: [\"80:70000\"]}"),
        &format!("{field}.values[0]"),
        "not a port",
    );
    assert_rejected(
        &filter("{index: 3, operator: Protocol, values: [IPPROTO_TCPP]}"),
        &format!("{field}.values[0]"),
        "known protocol name",
    );
    assert_rejected(
        &filter("{index: 3, operator: SPortPriv, values: [1]}"),
        &format!("{field}.values"),
        "takes no values",
    );
    assert_rejected(
        &filter("{args: [7], operator: Equal, values: [1]}"),
        &format!("{field}.args[0]"),
        "position 7 is out of range",
    );
    assert_rejected(
        &filter("{args: [0], operator: CapabilitiesGained}"),
        &format!("{field}.args"),
        "give args: [new, old]",
    );

    let accepted = "{index: 3, operator: SAddr, values: [10.0.0.0/8, \"::1\"]}, {index: 4, operator: Family, values: [AF_INET6, 2]}, \
                    {index: 0, operator: InMap, values: [1, \"3:5\"]}, {index: 2, operator: NotFileType, values: [dir, pipe]}, {index: 1, operator: SubString, values: [x]}";
    parse_ok(&filter(accepted));
    let two =
        "{index: 0, operator: Equal, values: [1]}, {index: 0, operator: NotEqual, values: [2]}";
    assert_rejected(
        &filter(two),
        "spec.kprobes[0].selectors[0].matchArgs[1].index",
        "already filtered by spec.kprobes[0].selectors[0].matchArgs[0]",
    );
}

#[test]
fn tracepoint_filters_name_fields_or_positions() {
    let tracepoint = |index: u32| {
        document(
            "tp",
            &format!(
                "  tracepoints: [{{subsystem: raw_syscalls, event: sys_enter, args: [{{index: 4, type: syscall64}}], selectors: [{{matchArgs: [{{index: {index}, operator: Equal, values: [59]}}]}}]}}]"
            ),
        )
    };
    parse_ok(&tracepoint(0));
    parse_ok(&tracepoint(4));
    assert_rejected(
        &tracepoint(2),
        "spec.tracepoints[0].selectors[0].matchArgs[0].index",
        "declared indexes: 4",
    );
}

#[test]
fn selector_rules() {
    let selector = |s: &str| with_selectors(&format!("[{{{s}}}]"));
    let path = |rest: &str| format!("spec.kprobes[0].selectors[0].{rest}");
    let five = "[1, 2, 3, 4, 5]";
    assert_rejected(
        &selector(&format!("matchPIDs: [{{operator: In, values: {five}}}]")),
        &path("matchPIDs[0].values"),
        "5 PID values, max 4",
    );
    let filters = (0..6)
        .map(|_| "{index: 0, operator: Equal, values: [1]}")
        .collect::<Vec<_>>()
        .join(", ");
    assert_rejected(
        &selector(&format!("matchArgs: [{filters}]")),
        &path("matchArgs"),
        "too many matchArgs and matchData filters: 6, max 5",
    );
    assert_rejected(
        &selector("matchBinaries: [{operator: In, values: [bash]}]"),
        &path("matchBinaries[0].values[0]"),
        "must be absolute",
    );
    assert_rejected(
        &selector("matchBinaries: [{operator: In, values: [/a]}, {operator: In, values: [/b]}]"),
        &path("matchBinaries"),
        "max 1",
    );
    assert_rejected(
        &selector("matchBinaries: [{operator: Prefix, values: [/usr], followChildren: true}]"),
        &path("matchBinaries[0].followChildren"),
        "In and NotIn only",
    );
    assert_rejected(
        &selector(&format!(
            "matchNamespaces: [{{namespace: Mnt, operator: In, values: {five}}}]"
        )),
        &path("matchNamespaces[0].values"),
        "max 4",
    );
    assert_rejected(
        &selector("matchNamespaces: [{namespace: Mnt, operator: In, values: [host]}]"),
        &path("matchNamespaces[0].values[0]"),
        "inode numbers or host_ns",
    );
    assert_rejected(
        &selector("matchNamespaces: [{namespace: Mount, operator: In, values: [1]}]"),
        &path("matchNamespaces[0].namespace"),
        "unknown namespace \"Mount\"",
    );
    assert_rejected(
        &selector("matchCapabilities: [{operator: In, values: [CAP_ROOT]}]"),
        &path("matchCapabilities[0].values[0]"),
        "unknown capability \"CAP_ROOT\"; allowed: CAP_CHOWN,",
    );
    assert_rejected(
        &selector("matchPIDs: [{operator: Equal, values: [1]}]"),
        &path("matchPIDs[0].operator"),
        "allowed: In, NotIn",
    );
    assert_rejected(
        &selector("macros: [missing]"),
        &path("macros[0]"),
        "macro \"missing\" is not defined in spec.selectorsMacros; defined: none",
    );
    let on_entry = kprobe(
        "call: f, args: [{index: 0, type: int}], selectors: [{matchReturnArgs: [{index: 0, operator: Equal, values: [0]}]}]",
    );
    assert_rejected(&on_entry, &path("matchReturnArgs"), "needs a return probe");
    parse_ok(&selector(
        "matchReturnArgs: [{index: 0, operator: LT, values: [0]}], matchNamespaceChanges: [{operator: In, values: [mnt, Net]}]",
    ));
}

/// A macro adds fields the selector does not set (Tetragon refuses a field from two places);
/// limits count the selector and its macros together; an error inside a macro points at it.
#[test]
fn macros_join_their_selectors() {
    let text = document(
        "macros",
        "  selectorsMacros:\n    sshd: {matchBinaries: [{operator: In, values: [/usr/sbin/sshd]}], matchActions: [{action: Post}, {action: NoPost}]}\n    \
         relative: {matchBinaries: [{operator: In, values: [sshd]}]}\n  \
         kprobes:\n  - {call: f, args: [{index: 0, type: int}], selectors: [{macros: [sshd], matchActions: [{action: Post}]}, {macros: [sshd], matchActions: [{action: Post}, {action: Sigkill}]}, {macros: [relative]}]}",
    );
    let errors = parse_err(&text);
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "spec.kprobes[0].selectors[0].macros[0]",
            "spec.kprobes[0].selectors[1].macros[0]",
            "spec.kprobes[0].selectors[1].matchActions",
            "spec.selectorsMacros.relative.matchBinaries[0].values[0]"
        ],
        "{errors:#?}"
    );
    assert!(
        errors[0]
            .message
            .starts_with("matchActions: given by macro \"sshd\" and by the selector"),
        "{errors:#?}"
    );
    assert_eq!(
        errors[3].at,
        Location {
            line: 8,
            column: 56
        }
    );
}

#[test]
fn action_rules() {
    let action = |a: &str| with_selectors(&format!("[{{matchActions: [{a}]}}]"));
    let path = |rest: &str| format!("spec.kprobes[0].selectors[0].matchActions[0].{rest}");
    assert_rejected(
        &action("{action: Signal, argSig: 65}"),
        &path("argSig"),
        "signal 65 is out of range 1..64",
    );
    assert_rejected(
        &action("{action: Override}"),
        &path("argError"),
        "action Override needs argError",
    );
    assert_rejected(
        &action("{action: FollowFD, argFd: 0}"),
        &path("argName"),
        "action FollowFD needs argName",
    );
    assert_rejected(
        &action("{action: CopyFD, argFd: 0, argName: 9}"),
        &path("argName"),
        "argName 9 does not refer to an argument declared in args",
    );
    assert_rejected(&action("{action: GetUrl}"), &path("argUrl"), "needs argUrl");
    assert_rejected(
        &action("{action: Sigkill, rateLimit: 1m}"),
        &path("rateLimit"),
        "applies to the Post action only, not to Sigkill",
    );
    assert_rejected(
        &action("{action: Post, rateLimit: 5 minutes}"),
        &path("rateLimit"),
        "invalid rate limit \"5 minutes\"",
    );
    assert_rejected(
        &action("{action: Post, rateLimitScope: cluster}"),
        &path("rateLimitScope"),
        "allowed: thread, process, global",
    );
    let four = "{action: Post}, {action: NoPost}, {action: Post}, {action: Post}";
    assert_rejected(
        &action(four),
        "spec.kprobes[0].selectors[0].matchActions",
        "too many actions: 4, max 3",
    );
    parse_ok(&action(
        "{action: Post, rateLimit: \"30\", rateLimitScope: process, kernelStackTrace: true}, {action: Signal, argSig: 9}",
    ));
    parse_ok(&action(
        "{action: Post, rateLimit: 1h}, {action: Override, argError: -1}",
    ));
    let fentry = document(
        "f",
        "  fentries: [{call: f, args: [{index: 0, type: int}], selectors: [{matchActions: [{action: Sigkill}]}]}]",
    );
    assert_rejected(
        &fentry,
        "spec.fentries[0].selectors[0].matchActions[0].action",
        "fentries cannot enforce",
    );
}

#[test]
fn validate_works_on_policies_built_in_code() {
    let mut policy = parse_ok(&kprobe("call: f, args: [{index: 0, type: int}]")).remove(0);
    assert!(validate(&policy).is_empty());
    policy.spec.kprobes[0].selectors.push(Selector {
        at: Location {
            line: 40,
            column: 2,
        },
        ..Selector::default()
    });
    policy.spec.kprobes[0].selectors[0]
        .match_actions
        .push(ActionSelector::new(
            ActionKind::Signal,
            Location {
                line: 41,
                column: 3,
            },
        ));
    let errors = validate(&policy);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(
        (errors[0].at.line, errors[0].field.as_str()),
        (41, "spec.kprobes[0].selectors[0].matchActions[0].argSig")
    );
}

#[test]
fn integers_are_read_as_tetragon_reads_them() {
    use super::names::parse_integer;
    assert_eq!(parse_integer("42"), Some(42));
    assert_eq!(parse_integer("-0x10"), Some(-16));
    assert_eq!(parse_integer("0o17"), Some(15));
    assert_eq!(parse_integer("0b101"), Some(5));
    for bad in ["", "-", "0x", "1.5", "0x-1", "ten"] {
        assert_eq!(parse_integer(bad), None, "{bad}");
    }
}

#[test]
fn selector_macros_add_their_fields_to_the_hooks_that_name_them() {
    let spec = r#"  selectorsMacros:
    cat-only:
      matchBinaries:
      - operator: In
        values: ["/usr/bin/cat"]
    kill:
      matchActions:
      - action: Sigkill
  kprobes:
  - call: sys_openat
    syscall: true
    args: [{index: 1, type: string}]
    selectors:
    - macros: [cat-only, kill]
      matchArgs: [{index: 1, operator: Prefix, values: ["/etc/"]}]"#;
    let policy = &parse_ok(&document("macros", spec))[0];
    let macros = &policy.spec.selectors_macros;
    let selector = policy.spec.kprobes[0].selectors[0].expanded(macros);
    assert!(selector.macros.is_empty());
    assert_eq!(selector.match_binaries[0].values, ["/usr/bin/cat"]);
    assert_eq!(selector.match_actions[0].action, ActionKind::Sigkill);
    assert_eq!(selector.match_args[0].values, ["/etc/"]);
    assert_eq!(policy.enforcement_actions(), [ActionKind::Sigkill]);
}
