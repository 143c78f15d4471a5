//! Selectors: the filters of a hook and the actions they run.
use super::reader::{Reader, named, one_of};
use super::yaml::Node;
use crate::policy::model::{
    ActionSelector, ArgSelector, BinarySelector, CapabilitiesSelector, NamespaceChangesSelector,
    NamespaceSelector, PidSelector, Selector,
};
use crate::policy::names::{
    ACTIONS, ARG_OPERATORS, BINARY_OPERATORS, CAPABILITIES, CAPABILITY_SETS, NAMESPACES,
    SET_OPERATORS,
};

const SELECTOR_FIELDS: &[&str] = &[
    "matchPIDs",
    "matchArgs",
    "matchData",
    "matchReturnArgs",
    "matchBinaries",
    "matchParentBinaries",
    "matchNamespaces",
    "matchNamespaceChanges",
    "matchCapabilities",
    "matchCapabilityChanges",
    "matchActions",
    "matchReturnActions",
    "macros",
];

pub(super) fn selector(r: &mut Reader, node: &Node, path: &str) -> Option<Selector> {
    let object = r.object(node, path, SELECTOR_FIELDS)?;
    Some(Selector {
        match_pids: r.items(&object, "matchPIDs", pid_selector),
        match_args: r.items(&object, "matchArgs", arg_selector),
        match_data: r.items(&object, "matchData", arg_selector),
        match_return_args: r.items(&object, "matchReturnArgs", arg_selector),
        match_binaries: r.items(&object, "matchBinaries", binary_selector),
        match_parent_binaries: r.items(&object, "matchParentBinaries", binary_selector),
        match_namespaces: r.items(&object, "matchNamespaces", namespace_selector),
        match_namespace_changes: r.items(&object, "matchNamespaceChanges", namespace_changes),
        match_capabilities: r.items(&object, "matchCapabilities", capabilities_selector),
        match_capability_changes: r.items(&object, "matchCapabilityChanges", capabilities_selector),
        match_actions: r.items(&object, "matchActions", action),
        match_return_actions: r.items(&object, "matchReturnActions", action),
        macros: r.items(&object, "macros", Reader::text),
        at: object.at,
    })
}

fn arg_selector(r: &mut Reader, node: &Node, path: &str) -> Option<ArgSelector> {
    let object = r.object(node, path, &["index", "args", "operator", "values"])?;
    let operator = r.required(&object, "operator", named(&ARG_OPERATORS));
    Some(ArgSelector {
        // Optional: `args` may name the arguments instead.
        index: r
            .optional(&object, "index", Reader::integer::<u32>)
            .unwrap_or(0),
        args: r.items(&object, "args", Reader::integer::<u32>),
        values: r.items(&object, "values", Reader::text),
        at: object.at,
        operator: operator?,
    })
}

fn pid_selector(r: &mut Reader, node: &Node, path: &str) -> Option<PidSelector> {
    let fields = &["operator", "values", "isNamespacePID", "followForks"];
    let object = r.object(node, path, fields)?;
    let operator = r.required(&object, "operator", named(&SET_OPERATORS));
    Some(PidSelector {
        values: r.items(&object, "values", Reader::integer::<u32>),
        is_namespace_pid: r
            .optional(&object, "isNamespacePID", Reader::boolean)
            .unwrap_or(false),
        follow_forks: r
            .optional(&object, "followForks", Reader::boolean)
            .unwrap_or(false),
        at: object.at,
        operator: operator?,
    })
}

fn binary_selector(r: &mut Reader, node: &Node, path: &str) -> Option<BinarySelector> {
    let object = r.object(node, path, &["operator", "values", "followChildren"])?;
    let operator = r.required(&object, "operator", named(&BINARY_OPERATORS));
    Some(BinarySelector {
        values: r.items(&object, "values", Reader::text),
        follow_children: r
            .optional(&object, "followChildren", Reader::boolean)
            .unwrap_or(false),
        at: object.at,
        operator: operator?,
    })
}

fn namespace_selector(r: &mut Reader, node: &Node, path: &str) -> Option<NamespaceSelector> {
    let object = r.object(node, path, &["namespace", "operator", "values"])?;
    let namespace = r.required(&object, "namespace", named(&NAMESPACES));
    let operator = r.required(&object, "operator", named(&SET_OPERATORS));
    Some(NamespaceSelector {
        values: r.items(&object, "values", Reader::text),
        at: object.at,
        namespace: namespace?,
        operator: operator?,
    })
}

fn namespace_changes(r: &mut Reader, node: &Node, path: &str) -> Option<NamespaceChangesSelector> {
    let object = r.object(node, path, &["operator", "values"])?;
    let operator = r.required(&object, "operator", named(&SET_OPERATORS));
    Some(NamespaceChangesSelector {
        values: r.items(&object, "values", named(&NAMESPACES)),
        at: object.at,
        operator: operator?,
    })
}

fn capabilities_selector(r: &mut Reader, node: &Node, path: &str) -> Option<CapabilitiesSelector> {
    let fields = &["type", "operator", "isNamespaceCapability", "values"];
    let object = r.object(node, path, fields)?;
    let operator = r.required(&object, "operator", named(&SET_OPERATORS));
    Some(CapabilitiesSelector {
        set: r
            .optional(&object, "type", named(&CAPABILITY_SETS))
            .unwrap_or_default(),
        is_namespace_capability: r
            .optional(&object, "isNamespaceCapability", Reader::boolean)
            .unwrap_or(false),
        values: r.items(&object, "values", named(&CAPABILITIES)),
        at: object.at,
        operator: operator?,
    })
}

const ACTION_FIELDS: &[&str] = &[
    "action",
    "argError",
    "argSig",
    "argFd",
    "argName",
    "argSock",
    "argUrl",
    "argFqdn",
    "argIndex",
    "argValue",
    "argRegs",
    "rateLimit",
    "rateLimitScope",
    "kernelStackTrace",
    "userStackTrace",
    "imaHash",
];

fn action(r: &mut Reader, node: &Node, path: &str) -> Option<ActionSelector> {
    let object = r.object(node, path, ACTION_FIELDS)?;
    let kind = r.required(&object, "action", named(&ACTIONS));
    let flag = |r: &mut Reader, key| r.optional(&object, key, Reader::boolean).unwrap_or(false);
    let scopes = &["thread", "process", "global"];
    Some(ActionSelector {
        arg_error: r.optional(&object, "argError", Reader::integer::<i32>),
        arg_sig: r.optional(&object, "argSig", Reader::integer::<u32>),
        arg_fd: r.optional(&object, "argFd", Reader::integer::<u32>),
        arg_name: r.optional(&object, "argName", Reader::integer::<u32>),
        arg_sock: r.optional(&object, "argSock", Reader::integer::<u32>),
        arg_url: r.optional(&object, "argUrl", Reader::text),
        arg_fqdn: r.optional(&object, "argFqdn", Reader::text),
        arg_index: r.optional(&object, "argIndex", Reader::integer::<u32>),
        arg_value: r.optional(&object, "argValue", Reader::integer::<u32>),
        arg_regs: r.items(&object, "argRegs", Reader::text),
        rate_limit: r.optional(&object, "rateLimit", Reader::text),
        rate_limit_scope: r.optional(&object, "rateLimitScope", one_of("rateLimitScope", scopes)),
        kernel_stack_trace: flag(r, "kernelStackTrace"),
        user_stack_trace: flag(r, "userStackTrace"),
        ima_hash: flag(r, "imaHash"),
        at: object.at,
        action: kind?,
    })
}
