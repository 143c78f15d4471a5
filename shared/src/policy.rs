//! Compiled TracingPolicy hooks as the probes evaluate them, and the records of their hits.
//!
//! Userspace compiles each hook of a policy into a [`HookSpec`] in the `HOOKS` array and lists it
//! under the place it fires from (a syscall's entry or exit, or the open family's exit standing in
//! for `fd_install`). String values of selectors live in LPM tries keyed by a filter id.

/// Hooks the `HOOKS` array holds across all policies.
pub const MAX_HOOKS: u32 = 512;
/// Policies loaded at once (`POLICY_STATE` slots).
pub const MAX_POLICIES: u32 = 64;
/// (policy, cgroup) pairs the cgroup filters of all policies hold (`POLICY_CGROUPS`).
pub const MAX_POLICY_CGROUPS: u32 = 16384;
/// Syscall numbers the per-syscall hook lists cover.
pub const MAX_SYSCALLS: u32 = 1024;
/// Hooks listed under one syscall entry or exit.
pub const HOOKS_PER_SITE: usize = 32;
/// Tetragon's limits (tetragon.md §3.7).
pub const MAX_SELECTORS: usize = 5;
pub const MAX_ARG_FILTERS: usize = 5;
pub const MAX_ACTIONS: usize = 3;
pub const MAX_HOOK_ARGS: usize = 5;
pub const MAX_VALUES: usize = 4;
pub const MAX_NS_FILTERS: usize = 4;
pub const MAX_CAP_FILTERS: usize = 2;
/// String arguments a hook can carry (e.g. rename's two paths).
pub const MAX_STRING_ARGS: usize = 2;
/// Bytes of a string compared by prefix and equality: an LPM trie key holds at most 256 bytes,
/// four of which are the filter id.
pub const MATCH_LEN: usize = 252;
/// Bytes compared from the end of a string by postfix.
pub const POSTFIX_LEN: usize = 128;
/// A string argument's area: a path is built right to left in the first `STRING_AREA` bytes and a
/// component may spill into the slack after it.
pub const STRING_AREA: usize = 4096;
pub const STRING_SLOT: usize = STRING_AREA + 256;

pub const RECORD_HIT: u32 = 16;

/// Where a hook fires. `site_key` makes userspace's key of a site: the kind in the high half,
/// the syscall number in the low half.
pub mod site {
    pub const SYSCALL_ENTER: u32 = 1;
    pub const SYSCALL_EXIT: u32 = 2;
    /// The exit of the open family: a new fd and its file, as `fd_install` would see them.
    pub const FD_INSTALL: u32 = 3;
    /// Any tracepoint, by its `common_type` id (`TracepointSite`).
    pub const TRACEPOINT: u32 = 4;
    /// A kprobe or uprobe, by the attach cookie of its attachment (`PROBE_SITES` slot).
    pub const PROBE: u32 = 5;
}

pub const fn site_key(kind: u32, syscall: u32) -> u64 {
    ((kind as u64) << 32) | syscall as u64
}

/// How the probe reads a hook argument.
pub mod arg_kind {
    pub const NONE: u32 = 0;
    /// 32-bit signed (int, int32, sint8…: sign-extended).
    pub const INT: u32 = 1;
    pub const UINT: u32 = 2;
    pub const LONG: u32 = 3;
    pub const ULONG: u32 = 4;
    /// A NUL-terminated user string (`char *`).
    pub const STRING: u32 = 5;
    /// An fd, shown as the path of its file (from the fd table, or from the followed-fd map when
    /// the policy uses FollowFD; an fd that is not followed then fails the hook).
    pub const FD: u32 = 6;
    /// A user buffer (`char_buf`): its first `STRING_AREA` bytes go into a string slot (`len`
    /// of them, at `start` 0), as many as `HookSpec::buf_size` says it holds; `status` is the
    /// full length, so that userspace tells truncation. Without a size nothing is read.
    pub const CHAR_BUF: u32 = 7;
    /// `fd_install`'s file: the path of the fd just installed, from the fd table.
    pub const FILE: u32 = 8;
    /// A NUL-terminated kernel string at the raw value's address (a tracepoint record's
    /// `char[]` or `__data_loc char[]` field, a kernel function's `char *`).
    pub const KERNEL_STRING: u32 = 9;
    /// A kernel function's `struct file *`: the path of the file.
    pub const FILE_OBJECT: u32 = 10;
    /// A kernel function's `struct path *`: the path.
    pub const PATH_OBJECT: u32 = 11;
    /// A kernel function's `struct linux_binprm *`: the path of the file being executed.
    pub const BINPRM: u32 = 12;
    /// A kernel function's `struct kiocb *`: the path of the file it does I/O on.
    pub const KIOCB: u32 = 13;
    /// A kernel function's `struct cred *`: a [`super::CredRecord`] in the string slot.
    pub const CRED: u32 = 14;
    /// A syscall id (`syscall64`): the value, with [`super::SYSCALL_32BIT`] added when the
    /// current syscall is a compat (32-bit) one.
    pub const SYSCALL64: u32 = 15;
    /// A kernel function's `struct sock *`: a [`super::SockRecord`] in the string slot.
    pub const SOCK: u32 = 16;
    /// A kernel function's `struct sockaddr *`: a [`super::SockRecord`] holding its family, and
    /// its address and port as the source ones (how Tetragon's socket operators read it).
    pub const SOCKADDR: u32 = 17;
    /// A syscall's `struct sockaddr __user *` (connect, bind, sendto): as `SOCKADDR`.
    pub const USER_SOCKADDR: u32 = 18;
    /// A kernel function's `struct socket *`: its sock, as `SOCK`.
    pub const SOCKET: u32 = 19;
    /// A syscall's socket fd read as `SOCK` (a `socket` argument of `security_socket_connect`
    /// served at connect's entry); an fd that is no socket fails the hook.
    pub const SOCKET_FD: u32 = 20;

    /// Kinds read as a [`super::SockRecord`] (compared by the socket operators).
    pub const fn is_socket(kind: u32) -> bool {
        matches!(kind, SOCK | SOCKADDR | USER_SOCKADDR | SOCKET | SOCKET_FD)
    }

    /// Kinds read as a string or a path (compared by the string operators).
    pub const fn is_text(kind: u32) -> bool {
        matches!(
            kind,
            STRING | FD | FILE | KERNEL_STRING | FILE_OBJECT | PATH_OBJECT | BINPRM | KIOCB
        )
    }
}

/// A `cred` argument as the probes copy it into its string slot.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CredRecord {
    /// uid, gid, suid, sgid, euid, egid, fsuid, fsgid (the kernel's order).
    pub ids: [u32; 8],
    pub securebits: u32,
    pub _pad: u32,
    /// Effective, inheritable, permitted (the `cred_caps` order).
    pub caps: [u64; 3],
}

/// A `sock` argument as the probes copy it into its string slot (ports in host order). A
/// `sockaddr` fills `family`, `saddr` and `sport` only.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockRecord {
    pub family: u16,
    pub kind: u16,
    pub protocol: u16,
    pub state: u8,
    pub _pad: u8,
    pub sport: u16,
    pub dport: u16,
    pub _pad2: u32,
    /// IPv4 addresses in the first 4 bytes, IPv6 in all 16.
    pub saddr: [u8; 16],
    pub daddr: [u8; 16],
}

/// Tetragon's mark of a 32-bit ABI syscall (x86's ia32) in `syscall64` values and in the ids of
/// syscall lists (`Is32Bit`).
pub const SYSCALL_32BIT: u64 = 0x8000_0000;

/// The raw argument slot of a return probe's returned value (`returnArg`): a kretprobe or uretprobe.
pub const RETURN_SLOT: u32 = 7;

/// `HookSpec::buf_size`: where a `char_buf` argument's length is.
pub mod buf_size {
    /// No length: the buffer is reported empty (Tetragon without `sizeArgIndex`).
    pub const NONE: u32 = 0;
    /// The call's return value (`returnCopy`, at a syscall's exit); nothing when negative.
    pub const RETURN: u32 = u32::MAX;
    // Otherwise: 1 + the raw slot of the argument holding the length (`sizeArgIndex`).
}

/// A return probe's call in progress: the thread and the attachment's slot.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ProbeCall {
    pub pid_tgid: u64,
    pub slot: u32,
    pub _pad: u32,
}

/// Kprobe and uprobe attachments at once (`PROBE_SITES` slots).
pub const MAX_PROBES: u32 = 256;
/// Tracepoints with hooks at once.
pub const MAX_TRACEPOINTS: u32 = 256;
/// Record fields one tracepoint's hooks read, together.
pub const TRACEPOINT_FIELDS: usize = 8;

/// How the tracepoint site reads a record field into its call's raw slot.
pub mod field_kind {
    pub const NONE: u32 = 0;
    /// An integer of `size` bytes, sign-extended.
    pub const SIGNED: u32 = 1;
    pub const UNSIGNED: u32 = 2;
    /// The field's own address in the record (a `char[N]` array).
    pub const ADDRESS: u32 = 3;
    /// A `__data_loc` field: the address of the data it points to in the record.
    pub const DATA_LOC: u32 = 4;
}

/// One record field of a tracepoint, from its tracefs format.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TracepointField {
    pub offset: u16,
    pub size: u16,
    pub kind: u32,
}

/// A tracepoint's hooks and the fields they read: field `i` goes into the call's raw slot `i`,
/// which the hooks' `arg_index` names.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TracepointSite {
    pub hooks: HookList,
    pub field_count: u32,
    pub fields: [TracepointField; TRACEPOINT_FIELDS],
}

/// `HookSpec::flags`
pub mod hook_flags {
    /// `fd` arguments come from the followed-fd map (the policy has FollowFD actions and the
    /// hook has `fd` arguments).
    pub const FD_VIA_FOLLOW: u32 = 1;
    /// Some filter compares string ends: keep the reversed tail of string arguments.
    pub const POSTFIX: u32 = 2;
    /// Every selector only maintains followed fds (UnfollowFD, CopyFD): nothing to do for a
    /// process that follows none.
    pub const ONLY_WITH_FOLLOWS: u32 = 4;
}

/// Operators of `ArgFilter`, `PidFilter`, binary and namespace filters.
pub mod op {
    pub const NONE: u32 = 0;
    pub const EQUAL: u32 = 1;
    pub const NOT_EQUAL: u32 = 2;
    pub const PREFIX: u32 = 3;
    pub const NOT_PREFIX: u32 = 4;
    pub const POSTFIX: u32 = 5;
    pub const NOT_POSTFIX: u32 = 6;
    pub const GREATER: u32 = 7;
    pub const LESS: u32 = 8;
    pub const MASK: u32 = 9;
    pub const IN_RANGE: u32 = 10;
    pub const NOT_IN_RANGE: u32 = 11;
    /// Set membership (PIDs, namespaces, capabilities, binaries by exact path).
    pub const IN: u32 = 12;
    pub const NOT_IN: u32 = 13;
    /// Integer set membership through `IN_MAP_VALUES` (unbounded value count).
    pub const IN_MAP: u32 = 14;
    pub const NOT_IN_MAP: u32 = 15;
    /// Socket operators on a [`super::SockRecord`]. Addresses: whether the address is in one
    /// of the filter's CIDRs (`ADDRESSES`). Ports, protocol, family, state: `values` holds
    /// ranges, each `low | high << 32`. Priv: the port is below 1024.
    pub const SADDR: u32 = 16;
    pub const NOT_SADDR: u32 = 17;
    pub const DADDR: u32 = 18;
    pub const NOT_DADDR: u32 = 19;
    pub const SPORT: u32 = 20;
    pub const NOT_SPORT: u32 = 21;
    pub const SPORT_PRIV: u32 = 22;
    pub const NOT_SPORT_PRIV: u32 = 23;
    pub const DPORT: u32 = 24;
    pub const NOT_DPORT: u32 = 25;
    pub const DPORT_PRIV: u32 = 26;
    pub const NOT_DPORT_PRIV: u32 = 27;
    pub const PROTOCOL: u32 = 28;
    pub const FAMILY: u32 = 29;
    pub const STATE: u32 = 30;
    /// A path's file type (`StringArg::mode`) is one of those whose bits (`1 << (mode >> 12)`)
    /// `values[0]` holds.
    pub const FILE_TYPE: u32 = 31;
    pub const NOT_FILE_TYPE: u32 = 32;
}

/// Data of `ADDRESSES`' keys: a filter's CIDR, IPv4 ones mapped into IPv6 (`::ffff:a.b.c.d`)
/// so that one trie serves both; the key's prefix length covers `filter` and the CIDR's bits.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddressMatch {
    pub filter: u32,
    pub address: [u8; 16],
}

/// CIDRs `ADDRESSES` holds across all policies.
pub const MAX_ADDRESSES: u32 = 4096;

/// Values `IN_MAP_VALUES` holds across all policies.
pub const MAX_IN_MAP_VALUES: u32 = 16384;

/// Key of `IN_MAP_VALUES`: one value of an InMap/NotInMap filter (`ArgFilter::strings` names
/// the filter), as the probes hold the argument (integers sign- or zero-extended to 64 bits).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MapValue {
    pub filter: u32,
    pub _pad: u32,
    pub value: u64,
}

/// `PidFilter::flags`
pub mod pid_flags {
    pub const NAMESPACE_PID: u32 = 1;
    pub const FOLLOW_FORKS: u32 = 2;
}

pub mod action {
    pub const NONE: u32 = 0;
    pub const POST: u32 = 1;
    pub const NO_POST: u32 = 2;
    pub const SIGKILL: u32 = 3;
    pub const SIGNAL: u32 = 4;
    pub const FOLLOW_FD: u32 = 5;
    pub const UNFOLLOW_FD: u32 = 6;
    pub const COPY_FD: u32 = 7;
    /// Fail the syscall with `ActionSpec::error` (served by cgroup programs, see `Override`).
    pub const OVERRIDE: u32 = 8;
}

/// `ActionSpec::rate_scope`: whose posts a Post action's `rateLimit` counts together.
pub mod rate_scope {
    pub const THREAD: u32 = 0;
    pub const PROCESS: u32 = 1;
    pub const GLOBAL: u32 = 2;
}

/// Bytes of each argument that go into a rate limit's key (Tetragon's first 40 bytes).
pub const RATE_ARG_BYTES: usize = 40;

/// Key of the rate limits (`RATE_LIMITS`): what a Post within the window would repeat. The
/// value is the boot time (ns) of the last post.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateKey {
    pub hook: u32,
    /// 1-based index of the selector.
    pub selector: u32,
    /// The thread, the process or 0 (global), as the scope says.
    pub scope: u32,
    pub _pad: u32,
    /// Per argument: the first `RATE_ARG_BYTES` of its string, else its integer value.
    pub args: [[u8; RATE_ARG_BYTES]; MAX_HOOK_ARGS],
}

/// `HitRecord::outcome` bits.
pub mod outcome {
    /// The hit becomes an event.
    pub const POSTED: u32 = 1;
    /// A signal was sent (`HitRecord::signal`).
    pub const SIGNALED: u32 = 2;
    /// Monitor mode: the signal would have been sent.
    pub const WOULD_SIGNAL: u32 = 4;
    /// The target is protected (PID 1, tetrascope itself): no signal.
    pub const SPARED: u32 = 8;
    pub const FOLLOWED: u32 = 16;
    pub const UNFOLLOWED: u32 = 32;
    /// The Post was held back by its `rateLimit` (counted; the hit is sent only for its other
    /// outcomes).
    pub const RATE_LIMITED: u32 = 64;
    /// The syscall is to fail (`Override`).
    pub const OVERRIDDEN: u32 = 128;
    /// Monitor mode: the syscall would have failed.
    pub const WOULD_OVERRIDE: u32 = 256;
}

/// `PolicyState::mode`
pub mod mode {
    pub const ENFORCE: u32 = 0;
    pub const MONITOR: u32 = 1;
}

/// Per-policy counters (`POLICY_COUNTERS`, per CPU), indexes into the value array.
pub mod counter {
    pub const HITS: usize = 0;
    pub const POSTS: usize = 1;
    pub const SIGNALS: usize = 2;
    pub const WOULD_SIGNALS: usize = 3;
    pub const SPARED: usize = 4;
    /// Posts held back by a `rateLimit`.
    pub const RATE_LIMITED: usize = 5;
    pub const OVERRIDES: usize = 6;
    pub const WOULD_OVERRIDES: usize = 7;
    pub const COUNT: usize = 8;
}

/// Hooks serving one site, in the order they are evaluated.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct HookList {
    pub count: u32,
    pub ids: [u32; HOOKS_PER_SITE],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct PolicyState {
    pub enabled: u32,
    pub mode: u32,
    /// 1: the policy applies only to tasks whose cgroup is listed for it in `POLICY_CGROUPS`
    /// (a namespaced or pod-selecting policy); none listed means it applies to no task.
    pub cgroup_filtered: u32,
    pub _pad: u32,
}

/// Key of `POLICY_CGROUPS`: a cgroup (v2 id, the inode of its directory) a policy applies to.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PolicyCgroup {
    pub policy: u32,
    pub _pad: u32,
    pub cgroup: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ArgFilter {
    pub op: u32,
    /// Position of the filtered argument in the hook's argument list.
    pub arg: u32,
    pub count: u32,
    /// Key prefix of this filter's strings in the string tries, or of its values in
    /// `IN_MAP_VALUES` (InMap, NotInMap).
    pub strings: u32,
    pub values: [i64; MAX_VALUES],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct PidFilter {
    pub op: u32,
    pub flags: u32,
    pub count: u32,
    pub _pad: u32,
    pub values: [u32; MAX_VALUES],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NamespaceFilter {
    pub op: u32,
    /// Slot of `ExecRecord::ns` order (nsproxy namespaces, then pid, then user).
    pub slot: u32,
    pub count: u32,
    pub _pad: u32,
    pub values: [u32; MAX_VALUES],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct CapabilityFilter {
    pub op: u32,
    /// 0 effective, 1 inheritable, 2 permitted.
    pub set: u32,
    pub mask: u64,
    /// `isNamespaceCapability`: the inode number of the host's (initial) user namespace, where
    /// the filter never matches; 0: the filter applies in every user namespace.
    pub host_user_ns: u32,
    pub _pad: u32,
}

/// `matchNamespaceChanges`: whether namespaces differ from those recorded at exec.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NamespaceChangeFilter {
    pub op: u32,
    /// Bits by `ExecRecord::ns` slot: the namespaces named (In) or those not named (NotIn) are
    /// the ones watched.
    pub mask: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ActionSpec {
    pub kind: u32,
    /// FollowFD family: positions in the hook's argument list.
    pub arg_fd: u32,
    pub arg_name: u32,
    pub signal: u32,
    /// Post: at most one post of the same arguments per this many ns (0: no limit).
    pub rate_limit_ns: u64,
    /// Post with a rate limit: `rate_scope::*`.
    pub rate_scope: u32,
    /// Override: the value the syscall returns (`argError`, a negative errno).
    pub error: i32,
}

/// An `Override` a hook decided at a syscall's entry, by `pid_tgid`: the cgroup program that
/// runs inside that syscall (connect, bind, socket creation) fails it with `error`; the
/// syscall's exit removes what no cgroup program took.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Override {
    pub error: i32,
    pub syscall: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SelectorSpec {
    pub pid: PidFilter,
    /// Binary filter: an `op` over the string filter `binary_strings`.
    pub binary_op: u32,
    pub binary_strings: u32,
    /// followChildren: 1 + the bit of `ProcessInfo::follow` that marks processes forked by the
    /// binaries (or by such processes) since the policy was loaded; 0: none. Compilation sets 1,
    /// loading the bit.
    pub binary_follow: u32,
    pub _pad: u32,
    pub args: [ArgFilter; MAX_ARG_FILTERS],
    pub returns: [ArgFilter; 1],
    pub namespaces: [NamespaceFilter; MAX_NS_FILTERS],
    pub capabilities: [CapabilityFilter; MAX_CAP_FILTERS],
    pub namespace_changes: NamespaceChangeFilter,
    /// `matchCapabilityChanges` (one filter, as Tetragon evaluates).
    pub capability_changes: CapabilityFilter,
    pub actions: [ActionSpec; MAX_ACTIONS],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct HookSpec {
    pub policy: u32,
    pub flags: u32,
    pub arg_count: u32,
    pub selector_count: u32,
    pub arg_kind: [u32; MAX_HOOK_ARGS],
    /// Raw argument each hook argument reads (syscall argument number, tracepoint field slot,
    /// probe register).
    pub arg_index: [u32; MAX_HOOK_ARGS],
    /// Per `char_buf` argument, where its length is (`buf_size::*`).
    pub buf_size: [u32; MAX_HOOK_ARGS],
    pub _pad: u32,
    pub selectors: [SelectorSpec; MAX_SELECTORS],
}

/// Data of the string tries' keys (the trie key's prefix length covers `filter` and the first
/// bytes of `data`); the value is the length of the stored string.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct StringMatch {
    pub filter: u32,
    pub data: [u8; MATCH_LEN],
}

/// followChildren selectors loaded at once (bits of `ProcessInfo::follow`), as in Tetragon.
pub const MAX_FOLLOW_CHILDREN: u32 = 64;

/// Bytes of a followed fd's path kept (Tetragon kept 256).
pub const FOLLOWED_LEN: usize = 1024;

/// The path a FollowFD action stored for an fd.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FollowedPath {
    /// The `files_struct` the fd belongs to: a later process reusing the pid does not inherit it.
    pub owner: u64,
    pub len: u32,
    pub status: u32,
    pub bytes: [u8; FOLLOWED_LEN],
}

/// Key of the followed-fd map.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FdKey {
    pub tgid: u32,
    pub fd: u32,
}

/// What the probes know of a process for selectors: its binary and its pids at exec (inherited by
/// forks, for `followForks`), its namespaces and capabilities at exec or fork (the baseline of
/// `matchNamespaceChanges` and `matchCapabilityChanges`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ProcessInfo {
    pub exec_pid: u32,
    pub exec_ns_pid: u32,
    pub binary_len: u32,
    /// 1 when `caps` holds the baseline (0: unknown, e.g. a fork into a new user namespace).
    pub caps_known: u32,
    /// followChildren bits (`SelectorSpec::binary_follow`): forks inherit them, with the bits of
    /// their parent's binary (`FOLLOW_BINARIES`) added; an exec keeps them.
    pub follow: u64,
    /// Capability sets (effective, inheritable, permitted) at exec or fork.
    pub caps: [u64; 3],
    /// Namespace inode numbers in `ExecRecord::ns` order at exec or fork, 0 where unknown.
    pub ns: [u32; crate::NS_RECORD_SLOTS],
    /// The binary's path, zero after `binary_len` (the key of `FOLLOW_BINARIES`).
    pub binary: [u8; MATCH_LEN],
    /// The last `POSTFIX_LEN` bytes of `binary`, reversed.
    pub binary_tail: [u8; POSTFIX_LEN],
}

/// A string argument: `len` bytes starting at `start` in `bytes`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct StringArg {
    pub start: u32,
    pub len: u32,
    /// `path_status` for paths; 0 for plain strings; a buffer's full length (`CHAR_BUF`).
    pub status: u32,
    /// A path's file mode (`inode.i_mode`; its type for FileType), 0 when unknown.
    pub mode: u32,
    /// The last `POSTFIX_LEN` bytes reversed (postfix matching), when the hook needs them.
    pub tail: [u8; POSTFIX_LEN],
    pub bytes: [u8; STRING_SLOT],
}

/// Arguments saved at a syscall's entry for the hooks on its exit.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct PendingCall {
    pub syscall: u32,
    pub _pad: u32,
    pub raw: [u64; 6],
}

/// A hook whose selector matched.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct HitRecord {
    pub header: crate::RecordHeader,
    pub pid: u32,
    pub tid: u32,
    pub hook: u32,
    pub policy: u32,
    /// 1-based index of the selector that matched.
    pub selector: u32,
    pub outcome: u32,
    pub signal: u32,
    /// Syscall number of the site (the tracepoint id or probe slot at those sites).
    pub syscall: u32,
    pub ret: i64,
    /// Integer value of each argument (the fd for fd arguments, the address for buffers).
    pub values: [u64; MAX_HOOK_ARGS],
    /// Slot in `strings` of each argument, or `u32::MAX`.
    pub string_slot: [u32; MAX_HOOK_ARGS],
    pub _pad: u32,
    pub strings: [StringArg; MAX_STRING_ARGS],
}

#[cfg(feature = "user")]
mod pod {
    use super::*;
    unsafe impl aya::Pod for HookList {}
    unsafe impl aya::Pod for PolicyState {}
    unsafe impl aya::Pod for PolicyCgroup {}
    unsafe impl aya::Pod for HookSpec {}
    unsafe impl aya::Pod for StringMatch {}
    unsafe impl aya::Pod for AddressMatch {}
    unsafe impl aya::Pod for FollowedPath {}
    unsafe impl aya::Pod for FdKey {}
    unsafe impl aya::Pod for ProcessInfo {}
    unsafe impl aya::Pod for PendingCall {}
    unsafe impl aya::Pod for TracepointSite {}
    unsafe impl aya::Pod for RateKey {}
    unsafe impl aya::Pod for MapValue {}
    unsafe impl aya::Pod for ProbeCall {}
}
