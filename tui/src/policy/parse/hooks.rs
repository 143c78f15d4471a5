//! The hook specs (kprobes and fentries, tracepoints, uprobes, LSM hooks, USDTs) and their args.
use super::reader::{Reader, named, one_of};
use super::selectors::selector;
use super::yaml::Node;
use crate::policy::model::{Arg, KprobeSpec, LsmHookSpec, TracepointSpec, UprobeSpec, UsdtSpec};
use crate::policy::names::ARG_TYPES;

const KPROBE_FIELDS: &[&str] = &[
    "call",
    "syscall",
    "return",
    "message",
    "args",
    "data",
    "returnArg",
    "returnArgAction",
    "selectors",
    "tags",
    "ignore",
];

pub(super) fn kprobe(r: &mut Reader, node: &Node, path: &str) -> Option<KprobeSpec> {
    let object = r.object(node, path, KPROBE_FIELDS)?;
    let call = r.required(&object, "call", Reader::text);
    let return_arg_actions = &["TrackSock", "UntrackSock"];
    Some(KprobeSpec {
        // The CRD defaults `syscall` to true (its docs say false).
        syscall: r
            .optional(&object, "syscall", Reader::boolean)
            .unwrap_or(true),
        is_return: r
            .optional(&object, "return", Reader::boolean)
            .unwrap_or(false),
        message: r.optional(&object, "message", Reader::text),
        args: r.items(&object, "args", arg),
        data: r.items(&object, "data", arg),
        return_arg: r.optional(&object, "returnArg", arg),
        return_arg_action: r.optional(
            &object,
            "returnArgAction",
            one_of("returnArgAction", return_arg_actions),
        ),
        selectors: r.items(&object, "selectors", selector),
        tags: r.items(&object, "tags", Reader::text),
        ignore_call_not_found: r
            .optional(&object, "ignore", |r, node, path| {
                let ignore = r.object(node, path, &["callNotFound"])?;
                r.optional(&ignore, "callNotFound", Reader::boolean)
            })
            .unwrap_or(false),
        at: object.at,
        call: call?,
    })
}

const TRACEPOINT_FIELDS: &[&str] = &[
    "subsystem",
    "event",
    "raw",
    "message",
    "args",
    "selectors",
    "tags",
];

pub(super) fn tracepoint(r: &mut Reader, node: &Node, path: &str) -> Option<TracepointSpec> {
    let object = r.object(node, path, TRACEPOINT_FIELDS)?;
    let subsystem = r.required(&object, "subsystem", Reader::text);
    let event = r.required(&object, "event", Reader::text);
    Some(TracepointSpec {
        raw: r.optional(&object, "raw", Reader::boolean).unwrap_or(false),
        message: r.optional(&object, "message", Reader::text),
        args: r.items(&object, "args", arg),
        selectors: r.items(&object, "selectors", selector),
        tags: r.items(&object, "tags", Reader::text),
        at: object.at,
        subsystem: subsystem?,
        event: event?,
    })
}

const UPROBE_FIELDS: &[&str] = &[
    "path",
    "btfPath",
    "symbols",
    "offsets",
    "addrs",
    "refCtrOffsets",
    "return",
    "message",
    "args",
    "data",
    "returnArg",
    "selectors",
    "tags",
];

pub(super) fn uprobe(r: &mut Reader, node: &Node, path: &str) -> Option<UprobeSpec> {
    let object = r.object(node, path, UPROBE_FIELDS)?;
    let binary = r.required(&object, "path", Reader::text);
    Some(UprobeSpec {
        btf_path: r.optional(&object, "btfPath", Reader::text),
        symbols: r.items(&object, "symbols", Reader::text),
        offsets: r.items(&object, "offsets", Reader::integer::<u64>),
        addrs: r.items(&object, "addrs", Reader::integer::<u64>),
        ref_ctr_offsets: r.items(&object, "refCtrOffsets", Reader::integer::<u64>),
        is_return: r
            .optional(&object, "return", Reader::boolean)
            .unwrap_or(false),
        message: r.optional(&object, "message", Reader::text),
        args: r.items(&object, "args", arg),
        data: r.items(&object, "data", arg),
        return_arg: r.optional(&object, "returnArg", arg),
        selectors: r.items(&object, "selectors", selector),
        tags: r.items(&object, "tags", Reader::text),
        at: object.at,
        path: binary?,
    })
}

pub(super) fn lsm_hook(r: &mut Reader, node: &Node, path: &str) -> Option<LsmHookSpec> {
    let object = r.object(
        node,
        path,
        &["hook", "message", "args", "selectors", "tags"],
    )?;
    let hook = r.required(&object, "hook", Reader::text);
    Some(LsmHookSpec {
        message: r.optional(&object, "message", Reader::text),
        args: r.items(&object, "args", arg),
        selectors: r.items(&object, "selectors", selector),
        tags: r.items(&object, "tags", Reader::text),
        at: object.at,
        hook: hook?,
    })
}

const USDT_FIELDS: &[&str] = &[
    "path",
    "provider",
    "name",
    "message",
    "args",
    "selectors",
    "tags",
];

pub(super) fn usdt(r: &mut Reader, node: &Node, path: &str) -> Option<UsdtSpec> {
    let object = r.object(node, path, USDT_FIELDS)?;
    let binary = r.required(&object, "path", Reader::text);
    let provider = r.required(&object, "provider", Reader::text);
    let name = r.required(&object, "name", Reader::text);
    Some(UsdtSpec {
        message: r.optional(&object, "message", Reader::text),
        args: r.items(&object, "args", arg),
        selectors: r.items(&object, "selectors", selector),
        tags: r.items(&object, "tags", Reader::text),
        at: object.at,
        path: binary?,
        provider: provider?,
        name: name?,
    })
}

const ARG_FIELDS: &[&str] = &[
    "index",
    "type",
    "resolve",
    "sizeArgIndex",
    "returnCopy",
    "maxData",
    "label",
    "source",
    "btfType",
];

fn arg(r: &mut Reader, node: &Node, path: &str) -> Option<Arg> {
    let object = r.object(node, path, ARG_FIELDS)?;
    let index = r.required(&object, "index", Reader::integer::<u32>);
    let ty = r.optional(&object, "type", named(&ARG_TYPES));
    Some(Arg {
        // The CRD's default type.
        ty: ty.unwrap_or_default(),
        resolve: r.optional(&object, "resolve", Reader::text),
        size_arg_index: r.optional(&object, "sizeArgIndex", Reader::integer::<u32>),
        return_copy: r
            .optional(&object, "returnCopy", Reader::boolean)
            .unwrap_or(false),
        max_data: r
            .optional(&object, "maxData", Reader::boolean)
            .unwrap_or(false),
        label: r.optional(&object, "label", Reader::text),
        source: r.optional(
            &object,
            "source",
            one_of("source", &["current_task", "pt_regs"]),
        ),
        btf_type: r.optional(&object, "btfType", Reader::text),
        at: object.at,
        index: index?,
    })
}
