//! TracingPolicy hooks: the maps userspace compiles policies into, and the programs that
//! evaluate them at syscall entries and exits (the kernels we test on have no kprobes), at any
//! tracepoint, at uprobes and at kprobes.
mod duplicates;
mod evaluate;
mod following;
mod overrides;
mod probes;
mod process;
mod raw_tracepoints;
mod sites;
mod sockets;
mod strings;
mod tracepoints;

use aya_ebpf::{
    macros::map,
    maps::{Array, HashMap, LpmTrie, LruHashMap, PerCpuArray, lpm_trie::Key},
};
use tetrascope_shared::policy::{
    FdKey, FollowedPath, HitRecord, HookList, HookSpec, MATCH_LEN, MAX_HOOKS, MAX_IN_MAP_VALUES,
    MAX_POLICIES, MAX_POLICY_CGROUPS, MAX_PROBES, MAX_SYSCALLS, MAX_TRACEPOINTS, MapValue,
    PendingCall, PolicyCgroup, PolicyState, ProcessInfo, RateKey, StringArg, StringMatch,
    TracepointSite, counter,
};

/// Compiled hooks, by hook id.
#[map]
pub static HOOKS: Array<HookSpec> = Array::with_max_entries(MAX_HOOKS, 0);

/// Hook ids at each syscall's entry and exit, by syscall number.
#[map]
pub static ENTER_HOOKS: Array<HookList> = Array::with_max_entries(MAX_SYSCALLS, 0);
#[map]
pub static EXIT_HOOKS: Array<HookList> = Array::with_max_entries(MAX_SYSCALLS, 0);

/// Hook ids at the open family's exit (`fd_install`), in slot 0.
#[map]
pub static OPEN_HOOKS: Array<HookList> = Array::with_max_entries(1, 0);

/// Hooks and record fields of each tracepoint with hooks, by its `common_type` id.
#[map]
pub static TRACEPOINT_SITES: HashMap<u32, TracepointSite> =
    HashMap::with_max_entries(MAX_TRACEPOINTS, 0);

/// Hook ids of each kprobe or uprobe attachment, by the attachment's cookie.
#[map]
pub static PROBE_SITES: Array<HookList> = Array::with_max_entries(MAX_PROBES, 0);

/// Enabled and mode, by policy slot: switching needs no reload.
#[map]
pub static POLICY_STATE: Array<PolicyState> = Array::with_max_entries(MAX_POLICIES, 0);

/// The cgroups each cgroup-filtered policy applies to (see `PolicyState::cgroup_filtered`).
#[map]
pub static POLICY_CGROUPS: HashMap<PolicyCgroup, u8> =
    HashMap::with_max_entries(MAX_POLICY_CGROUPS, 0);

#[map]
pub static POLICY_COUNTERS: PerCpuArray<[u64; counter::COUNT]> =
    PerCpuArray::with_max_entries(MAX_POLICIES, 0);

/// Selector strings for equality and prefix matching; the value is the string's length.
#[map]
pub static STRINGS: LpmTrie<StringMatch, u32> = LpmTrie::with_max_entries(16384, 0);

/// The values of InMap and NotInMap filters, by filter.
#[map]
pub static IN_MAP_VALUES: HashMap<MapValue, u8> = HashMap::with_max_entries(MAX_IN_MAP_VALUES, 0);

/// Selector strings reversed, for postfix matching.
#[map]
pub static POSTFIXES: LpmTrie<StringMatch, u32> = LpmTrie::with_max_entries(16384, 0);

/// Paths stored by FollowFD, by (tgid, fd).
#[map]
pub static FOLLOWED: LruHashMap<FdKey, FollowedPath> = LruHashMap::with_max_entries(8192, 0);

/// Binary and exec-time pids by tgid, kept from exec (and fork) to exit.
#[map]
pub static PROCS: LruHashMap<u32, ProcessInfo> = LruHashMap::with_max_entries(32768, 0);

/// The followChildren bits of each binary path (zero-padded): its forks get them.
#[map]
pub static FOLLOW_BINARIES: HashMap<[u8; MATCH_LEN], u64> = HashMap::with_max_entries(1024, 0);

/// The followChildren bits in use (slot 0): forks and execs pass on no other (a process keeps
/// a bit freed since, which no selector reads, until it execs or exits).
#[map]
pub static FOLLOW_LIVE: Array<u64> = Array::with_max_entries(1, 0);

/// Processes that are never signalled: PID 1 and tetrascope itself (filled by userspace).
#[map]
pub static PROTECTED: HashMap<u32, u32> = HashMap::with_max_entries(64, 0);

/// Arguments saved at entry for exit hooks, by pid_tgid.
#[map]
pub static PENDING: LruHashMap<u64, PendingCall> = LruHashMap::with_max_entries(8192, 0);

/// Boot time (ns) of the last post of each rate-limited Post, by what it posted.
#[map]
pub static RATE_LIMITS: LruHashMap<RateKey, u64> = LruHashMap::with_max_entries(16384, 0);

/// Per-CPU scratch: a rate limit's key (too big for the stack).
#[map]
static RATE_KEY: PerCpuArray<RateKey> = PerCpuArray::with_max_entries(1, 0);

/// Per-CPU scratch: the hit being built (too big for the 512-byte stack).
#[map]
static HIT: PerCpuArray<HitRecord> = PerCpuArray::with_max_entries(1, 0);

/// Per-CPU: the evaluation in progress.
#[map]
pub(super) static EVAL: PerCpuArray<evaluate::EvalState> = PerCpuArray::with_max_entries(1, 0);

/// Per-CPU scratch: a string trie lookup key.
#[map]
static MATCH_KEY: PerCpuArray<Key<StringMatch>> = PerCpuArray::with_max_entries(1, 0);

/// Per-CPU scratch: a followed path before it goes into `FOLLOWED`.
#[map]
static FOLLOW_SCRATCH: PerCpuArray<FollowedPath> = PerCpuArray::with_max_entries(1, 0);

/// Per-CPU scratch: a process's entry before it goes into `PROCS`.
#[map]
static PROC_SCRATCH: PerCpuArray<ProcessInfo> = PerCpuArray::with_max_entries(1, 0);

/// Per-CPU scratch: a path being resolved outside a hit (the binary at exec).
#[map]
static PATH_SCRATCH: PerCpuArray<StringArg> = PerCpuArray::with_max_entries(1, 0);
