//! A Tetragon `TracingPolicy` as tetrascope holds it after parsing and validation.
//!
//! Field names follow the CRD (`cilium.io/v1alpha1`, ../shared/tetragon.md §3); every element
//! remembers where it was written so later stages (hook resolution, compilation) can point at it.
use std::path::PathBuf;

/// 1-based line and column in the policy file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    TracingPolicy,
    TracingPolicyNamespaced,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Enforce,
    Monitor,
}

/// One policy document.
#[derive(Clone, Debug)]
pub struct TracingPolicy {
    pub kind: PolicyKind,
    pub name: String,
    /// `metadata.namespace`; only a `TracingPolicyNamespaced` has one.
    pub namespace: Option<String>,
    /// The file it came from (None for policies received over gRPC or from the cluster).
    pub file: Option<PathBuf>,
    /// The document's own YAML text, as written.
    pub yaml: String,
    /// Where the document starts in its file.
    pub at: Location,
    pub spec: Spec,
}

impl TracingPolicy {
    /// Whether it applies to some pods only (a namespaced policy, or a pod or container
    /// selector): never to host processes.
    pub fn selects_workloads(&self) -> bool {
        self.namespace.is_some()
            || self.spec.pod_selector.is_some()
            || self.spec.container_selector.is_some()
    }

    /// Every selector of every hook, and the selector macros they may use.
    pub fn selectors(&self) -> impl Iterator<Item = &Selector> {
        let spec = &self.spec;
        spec.kprobes
            .iter()
            .chain(&spec.fentries)
            .flat_map(|k| &k.selectors)
            .chain(spec.tracepoints.iter().flat_map(|t| &t.selectors))
            .chain(spec.uprobes.iter().flat_map(|u| &u.selectors))
            .chain(spec.lsmhooks.iter().flat_map(|l| &l.selectors))
            .chain(spec.usdts.iter().flat_map(|u| &u.selectors))
            .chain(spec.selectors_macros.iter().map(|(_, body)| body))
    }

    /// The enforcement actions it takes (Sigkill, Signal, Override…), each once, in order:
    /// empty for a monitor-only policy.
    pub fn enforcement_actions(&self) -> Vec<ActionKind> {
        let mut actions: Vec<ActionKind> = Vec::new();
        for action in self
            .selectors()
            .flat_map(|s| s.match_actions.iter().chain(&s.match_return_actions))
            .map(|a| a.action)
            .filter(|a| a.is_enforcement())
        {
            if !actions.contains(&action) {
                actions.push(action);
            }
        }
        actions
    }
}

#[derive(Clone, Debug, Default)]
pub struct Spec {
    pub kprobes: Vec<KprobeSpec>,
    pub tracepoints: Vec<TracepointSpec>,
    pub uprobes: Vec<UprobeSpec>,
    pub lsmhooks: Vec<LsmHookSpec>,
    pub usdts: Vec<UsdtSpec>,
    /// `fentries:` use the kprobe spec shape.
    pub fentries: Vec<KprobeSpec>,
    pub lists: Vec<ListSpec>,
    pub enforcers: Vec<EnforcerSpec>,
    pub options: Vec<PolicyOption>,
    /// From the `policy-mode` option; None when the option is absent.
    pub mode: Option<Mode>,
    pub loader: bool,
    pub pod_selector: Option<LabelSelector>,
    pub container_selector: Option<LabelSelector>,
    pub host_selector: Option<LabelSelector>,
    pub node_selector: Option<LabelSelector>,
    /// `selectorsMacros`: name → selector, referenced from selectors' `macros`.
    pub selectors_macros: Vec<(String, Selector)>,
}

#[derive(Clone, Debug, Default)]
pub struct PolicyOption {
    pub name: String,
    pub value: String,
    pub at: Location,
}

/// A Kubernetes label selector (`matchLabels` and `matchExpressions`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelSelector {
    pub match_labels: Vec<(String, String)>,
    pub match_expressions: Vec<LabelExpression>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelExpression {
    pub key: String,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`.
    pub operator: String,
    pub values: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct KprobeSpec {
    pub call: String,
    /// CRD default: true.
    pub syscall: bool,
    pub is_return: bool,
    pub message: Option<String>,
    pub args: Vec<Arg>,
    pub data: Vec<Arg>,
    pub return_arg: Option<Arg>,
    pub return_arg_action: Option<String>,
    pub selectors: Vec<Selector>,
    pub tags: Vec<String>,
    pub ignore_call_not_found: bool,
    pub at: Location,
}

#[derive(Clone, Debug, Default)]
pub struct TracepointSpec {
    pub subsystem: String,
    pub event: String,
    pub raw: bool,
    pub message: Option<String>,
    pub args: Vec<Arg>,
    pub selectors: Vec<Selector>,
    pub tags: Vec<String>,
    pub at: Location,
}

#[derive(Clone, Debug, Default)]
pub struct UprobeSpec {
    pub path: String,
    pub btf_path: Option<String>,
    pub symbols: Vec<String>,
    pub offsets: Vec<u64>,
    pub addrs: Vec<u64>,
    pub ref_ctr_offsets: Vec<u64>,
    pub is_return: bool,
    pub message: Option<String>,
    pub args: Vec<Arg>,
    pub data: Vec<Arg>,
    pub return_arg: Option<Arg>,
    pub selectors: Vec<Selector>,
    pub tags: Vec<String>,
    pub at: Location,
}

#[derive(Clone, Debug, Default)]
pub struct LsmHookSpec {
    /// Without the `bpf_lsm_` prefix, e.g. `file_open`.
    pub hook: String,
    pub message: Option<String>,
    pub args: Vec<Arg>,
    pub selectors: Vec<Selector>,
    pub tags: Vec<String>,
    pub at: Location,
}

#[derive(Clone, Debug, Default)]
pub struct UsdtSpec {
    pub path: String,
    pub provider: String,
    pub name: String,
    pub message: Option<String>,
    pub args: Vec<Arg>,
    pub selectors: Vec<Selector>,
    pub tags: Vec<String>,
    pub at: Location,
}

#[derive(Clone, Debug, Default)]
pub struct ListSpec {
    pub name: String,
    pub values: Vec<String>,
    /// `syscalls`, `generated_syscalls`, `generated_ftrace` (empty: plain list).
    pub list_type: String,
    pub pattern: Option<String>,
    pub at: Location,
}

#[derive(Clone, Debug, Default)]
pub struct EnforcerSpec {
    pub calls: Vec<String>,
    pub at: Location,
}

/// Every argument type of the CRD enum (tetragon.md §3.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ArgType {
    #[default]
    Auto,
    Int,
    Sint8,
    Int8,
    Uint8,
    Sint16,
    Int16,
    Uint16,
    Uint32,
    Sint32,
    Int32,
    Ulong,
    Uint64,
    SizeT,
    Long,
    Sint64,
    Int64,
    CharBuf,
    CharIovec,
    Skb,
    Sock,
    Sockaddr,
    Socket,
    SockaddrUn,
    String,
    Fd,
    File,
    Filename,
    Path,
    Nop,
    BpfAttr,
    PerfEvent,
    BpfMap,
    UserNamespace,
    Capability,
    Kiocb,
    IovIter,
    Cred,
    ConstBuf,
    LoadInfo,
    Module,
    Syscall64,
    KernelCapT,
    CapInheritable,
    CapPermitted,
    CapEffective,
    LinuxBinprm,
    DataLoc,
    NetDevice,
    BpfCmd,
    Dentry,
    BpfProg,
}

#[derive(Clone, Debug, Default)]
pub struct Arg {
    pub index: u32,
    pub ty: ArgType,
    pub resolve: Option<String>,
    /// 1-based, as in the CRD.
    pub size_arg_index: Option<u32>,
    pub return_copy: bool,
    pub max_data: bool,
    pub label: Option<String>,
    /// `current_task` / `pt_regs` (for `data:` entries).
    pub source: Option<String>,
    pub btf_type: Option<String>,
    pub at: Location,
}

#[derive(Clone, Debug, Default)]
pub struct Selector {
    pub match_pids: Vec<PidSelector>,
    pub match_args: Vec<ArgSelector>,
    pub match_data: Vec<ArgSelector>,
    pub match_return_args: Vec<ArgSelector>,
    pub match_binaries: Vec<BinarySelector>,
    pub match_parent_binaries: Vec<BinarySelector>,
    pub match_namespaces: Vec<NamespaceSelector>,
    pub match_namespace_changes: Vec<NamespaceChangesSelector>,
    pub match_capabilities: Vec<CapabilitiesSelector>,
    pub match_capability_changes: Vec<CapabilitiesSelector>,
    pub match_actions: Vec<ActionSelector>,
    pub match_return_actions: Vec<ActionSelector>,
    pub macros: Vec<String>,
    pub at: Location,
}

/// Lists the filter and action fields of a selector: `$apply!(field, "yamlName")` for each.
macro_rules! selector_fields {
    ($apply:ident) => {
        $apply!(match_pids, "matchPIDs");
        $apply!(match_args, "matchArgs");
        $apply!(match_data, "matchData");
        $apply!(match_return_args, "matchReturnArgs");
        $apply!(match_binaries, "matchBinaries");
        $apply!(match_parent_binaries, "matchParentBinaries");
        $apply!(match_namespaces, "matchNamespaces");
        $apply!(match_namespace_changes, "matchNamespaceChanges");
        $apply!(match_capabilities, "matchCapabilities");
        $apply!(match_capability_changes, "matchCapabilityChanges");
        $apply!(match_actions, "matchActions");
        $apply!(match_return_actions, "matchReturnActions");
    };
}

impl Selector {
    /// The selector with the fields of the macros it names (`selectorsMacros`), as Tetragon
    /// joins them; undefined macros are left out (validation reports them).
    pub fn expanded(&self, macros: &[(String, Selector)]) -> Selector {
        let mut out = self.clone();
        out.macros.clear();
        for name in &self.macros {
            let Some((_, body)) = macros.iter().find(|(defined, _)| defined == name) else {
                continue;
            };
            macro_rules! join {
                ($field:ident, $yaml:literal) => {
                    out.$field.extend(body.$field.iter().cloned());
                };
            }
            selector_fields!(join);
        }
        out
    }

    /// The YAML names of the fields that both this selector and `other` set.
    pub fn shared_fields(&self, other: &Selector) -> Vec<&'static str> {
        let mut shared = Vec::new();
        macro_rules! both {
            ($field:ident, $yaml:literal) => {
                if !self.$field.is_empty() && !other.$field.is_empty() {
                    shared.push($yaml);
                }
            };
        }
        selector_fields!(both);
        shared
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArgOperator {
    Equal,
    NotEqual,
    Prefix,
    NotPrefix,
    Postfix,
    NotPostfix,
    GreaterThan,
    LessThan,
    Mask,
    SPort,
    NotSPort,
    SPortPriv,
    NotSPortPriv,
    DPort,
    NotDPort,
    DPortPriv,
    NotDPortPriv,
    SAddr,
    NotSAddr,
    DAddr,
    NotDAddr,
    Protocol,
    Family,
    State,
    InMap,
    NotInMap,
    CapabilitiesGained,
    InRange,
    NotInRange,
    SubString,
    SubStringIgnCase,
    CelExpr,
    FileType,
    NotFileType,
}

#[derive(Clone, Debug)]
pub struct ArgSelector {
    pub index: u32,
    /// Positions in the hook's `args` list; takes precedence over `index` when non-empty.
    pub args: Vec<u32>,
    pub operator: ArgOperator,
    pub values: Vec<String>,
    pub at: Location,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetOperator {
    In,
    NotIn,
}

#[derive(Clone, Debug)]
pub struct PidSelector {
    pub operator: SetOperator,
    pub values: Vec<u32>,
    pub is_namespace_pid: bool,
    pub follow_forks: bool,
    pub at: Location,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOperator {
    In,
    NotIn,
    Prefix,
    NotPrefix,
    Postfix,
    NotPostfix,
}

#[derive(Clone, Debug)]
pub struct BinarySelector {
    pub operator: BinaryOperator,
    pub values: Vec<String>,
    pub follow_children: bool,
    pub at: Location,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NamespaceKind {
    Uts,
    Ipc,
    Mnt,
    Pid,
    PidForChildren,
    Net,
    Time,
    TimeForChildren,
    Cgroup,
    User,
}

#[derive(Clone, Debug)]
pub struct NamespaceSelector {
    pub namespace: NamespaceKind,
    pub operator: SetOperator,
    /// Inode numbers, or `host_ns`.
    pub values: Vec<String>,
    pub at: Location,
}

#[derive(Clone, Debug)]
pub struct NamespaceChangesSelector {
    pub operator: SetOperator,
    pub values: Vec<NamespaceKind>,
    pub at: Location,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CapabilitySet {
    #[default]
    Effective,
    Inheritable,
    Permitted,
}

#[derive(Clone, Debug)]
pub struct CapabilitiesSelector {
    pub set: CapabilitySet,
    pub operator: SetOperator,
    pub is_namespace_capability: bool,
    /// Capability numbers (CAP_CHOWN = 0 …), parsed from the `CAP_*` names.
    pub values: Vec<u8>,
    pub at: Location,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActionKind {
    Post,
    NoPost,
    Sigkill,
    Signal,
    Override,
    FollowFd,
    UnfollowFd,
    CopyFd,
    GetUrl,
    DnsLookup,
    TrackSock,
    UntrackSock,
    NotifyEnforcer,
    CleanupEnforcerNotification,
    Set,
}

impl ActionKind {
    /// Actions that change what a process can do; monitor mode elides them (tetragon.md §3.6).
    pub fn is_enforcement(self) -> bool {
        matches!(
            self,
            ActionKind::Sigkill
                | ActionKind::Signal
                | ActionKind::Override
                | ActionKind::NotifyEnforcer
                | ActionKind::Set
        )
    }
}

#[derive(Clone, Debug)]
pub struct ActionSelector {
    pub action: ActionKind,
    pub arg_error: Option<i32>,
    pub arg_sig: Option<u32>,
    pub arg_fd: Option<u32>,
    pub arg_name: Option<u32>,
    pub arg_sock: Option<u32>,
    pub arg_url: Option<String>,
    pub arg_fqdn: Option<String>,
    pub arg_index: Option<u32>,
    pub arg_value: Option<u32>,
    pub arg_regs: Vec<String>,
    pub rate_limit: Option<String>,
    pub rate_limit_scope: Option<String>,
    pub kernel_stack_trace: bool,
    pub user_stack_trace: bool,
    pub ima_hash: bool,
    pub at: Location,
}

impl ActionSelector {
    pub fn new(action: ActionKind, at: Location) -> Self {
        ActionSelector {
            action,
            arg_error: None,
            arg_sig: None,
            arg_fd: None,
            arg_name: None,
            arg_sock: None,
            arg_url: None,
            arg_fqdn: None,
            arg_index: None,
            arg_value: None,
            arg_regs: Vec::new(),
            rate_limit: None,
            rate_limit_scope: None,
            kernel_stack_trace: false,
            user_stack_trace: false,
            ima_hash: false,
            at,
        }
    }
}
