//! Evaluating one compiled hook: read its arguments, find the first matching selector, run its
//! actions, count and report the hit.
use core::ffi::c_void;

use aya_ebpf::helpers::{
    bpf_get_current_cgroup_id, bpf_get_current_pid_tgid, bpf_get_current_task,
    bpf_get_smp_processor_id, bpf_ktime_get_boot_ns, bpf_probe_read_kernel_str_bytes,
    bpf_probe_read_user_str_bytes,
    generated::{bpf_loop, bpf_probe_read_kernel, bpf_probe_read_user, bpf_send_signal},
};
use tetrascope_shared::{
    NS_RECORD_SLOTS, RecordHeader,
    policy::{
        ActionSpec, ArgFilter, CredRecord, FOLLOWED_LEN, FdKey, HitRecord, HookSpec, MAX_ACTIONS,
        MAX_ARG_FILTERS, MAX_CAP_FILTERS, MAX_HOOK_ARGS, MAX_NS_FILTERS, MAX_SELECTORS,
        MAX_STRING_ARGS, MapValue, NamespaceChangeFilter, PolicyCgroup, ProcessInfo,
        RATE_ARG_BYTES, RECORD_HIT, STRING_AREA, SYSCALL_32BIT, SelectorSpec, StringArg, action,
        arg_kind, buf_size, counter, hook_flags, mode, op, outcome, pid_flags, rate_scope,
    },
    policy_semantics::rate_limited,
};

use super::{
    EVAL, FOLLOW_SCRATCH, FOLLOWED, HIT, HOOKS, IN_MAP_VALUES, POLICY_CGROUPS, POLICY_COUNTERS,
    POLICY_STATE, PROCS, PROTECTED, RATE_KEY, RATE_LIMITS, following, overrides, process, sockets,
    strings,
};
use crate::{emit, kernel, path};

/// A syscall as a site saw it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Call {
    /// Syscall arguments (six; eight slots so that a masked index stays inside).
    pub raw: [u64; 8],
    pub ret: i64,
    pub syscall: u32,
    pub _pad: u32,
}

/// One evaluation in progress, in per-CPU memory: the `bpf_loop` callbacks that read arguments
/// and try selectors share it, and the stack (512 bytes for the whole call chain) stays small.
#[repr(C)]
pub struct EvalState {
    pub call: Call,
    /// The site being evaluated (`site::*`) and its syscall number.
    pub site: u32,
    pub site_index: u32,
    hook: u32,
    tgid: u32,
    task: u64,
    strings_used: u32,
    /// An argument the hook cannot do without was not there (an `fd` nobody follows).
    skip: u32,
    /// 1-based index of the first matching selector.
    chosen: u32,
    /// What the chosen selector's change filters saw change (`rebase::*`): the process's new
    /// baseline, recorded once the selectors are done.
    rebase: u32,
}

/// `EvalState::rebase`
mod rebase {
    pub const NAMESPACES: u32 = 1;
    pub const CAPABILITIES: u32 = 2;
}

/// Evaluates hook `hook_id` for the current task, on the call in `EVAL`.
#[inline(always)]
pub fn evaluate(hook_id: u32) {
    let (Some(spec), Some(eval), Some(hit)) =
        (HOOKS.get(hook_id), EVAL.get_ptr_mut(0), HIT.get_ptr_mut(0))
    else {
        return;
    };
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    let needs_follows = hook_flags::FD_VIA_FOLLOW | hook_flags::ONLY_WITH_FOLLOWS;
    if spec.flags & needs_follows != 0 && !following::any(tgid) {
        return;
    }
    let Some(state) = POLICY_STATE.get(spec.policy) else {
        return;
    };
    if state.enabled == 0 || filtered_out(spec.policy, state.cgroup_filtered) {
        return;
    }
    let (eval, hit) = unsafe { (&mut *eval, &mut *hit) };
    if spec.flags & hook_flags::FD_VIA_FOLLOW != 0 && !fds_followed(spec, eval, tgid) {
        return;
    }
    eval.hook = hook_id;
    hit.hook = hook_id;
    eval.tgid = tgid;
    eval.task = unsafe { bpf_get_current_task() } as u64;
    eval.strings_used = 0;
    eval.skip = 0;
    eval.chosen = 0;
    eval.rebase = 0;
    unsafe {
        bpf_loop(
            MAX_HOOK_ARGS as u32,
            read_arg_nth as *mut c_void,
            core::ptr::null_mut(),
            0,
        );
    }
    if eval.skip != 0 {
        return;
    }
    let selectors = spec.selector_count.min(MAX_SELECTORS as u32);
    if selectors > 0 {
        unsafe {
            bpf_loop(
                selectors,
                selector_nth as *mut c_void,
                core::ptr::null_mut(),
                0,
            )
        };
        if eval.chosen == 0 {
            return;
        }
        // Here, not in the selector's own call chain: that chain has no stack to spare on
        // kernels that round every frame up to 32 bytes (6.1).
        if eval.rebase != 0 {
            process::record_baseline(
                tgid,
                eval.task as usize,
                eval.rebase & rebase::NAMESPACES != 0,
                eval.rebase & rebase::CAPABILITIES != 0,
            );
        }
    }
    hit.outcome = 0;
    hit.signal = 0;
    let mut post = true;
    // Masked first: the verifier loses the bounds of a plain range check here.
    let chosen = (eval.chosen.wrapping_sub(1) & 7) as usize;
    if eval.chosen != 0 && chosen < MAX_SELECTORS {
        let selector = &spec.selectors[chosen];
        post = run_actions(selector, hit, tgid, state.mode);
        // Only the post is limited: the other actions ran.
        if post && held_back(spec, selector, hit, eval.chosen, pid_tgid) {
            post = false;
            hit.outcome |= outcome::RATE_LIMITED;
        }
    }
    if post {
        hit.outcome |= outcome::POSTED;
    }
    if hit.outcome == 0 {
        return;
    }
    count(spec.policy, hit.outcome);
    if hit.outcome == outcome::RATE_LIMITED {
        return;
    }
    hit.header = RecordHeader {
        kind: RECORD_HIT,
        cpu: unsafe { bpf_get_smp_processor_id() },
        ktime: unsafe { bpf_ktime_get_boot_ns() },
    };
    hit.pid = tgid;
    hit.tid = pid_tgid as u32;
    hit.policy = spec.policy;
    hit.selector = eval.chosen;
    hit.syscall = eval.call.syscall;
    hit.ret = eval.call.ret;
    emit::output(hit);
}

/// Whether the selector's Post has a `rateLimit` and already posted the same arguments (in its
/// scope) within the window: the post is then held back. Otherwise this post starts a window.
#[inline(never)]
fn held_back(
    spec: &HookSpec,
    selector: &SelectorSpec,
    hit: &HitRecord,
    chosen: u32,
    pid_tgid: u64,
) -> bool {
    let (mut window, mut scope) = (0, rate_scope::THREAD);
    for i in 0..MAX_ACTIONS {
        let act = &selector.actions[i];
        if act.kind == action::POST && act.rate_limit_ns != 0 {
            window = act.rate_limit_ns;
            scope = act.rate_scope;
        }
    }
    if window == 0 {
        return false;
    }
    let Some(key) = RATE_KEY.get_ptr_mut(0) else {
        return false;
    };
    let key = unsafe { &mut *key };
    key.hook = hit.hook;
    key.selector = chosen;
    key.scope = match scope {
        rate_scope::THREAD => pid_tgid as u32,
        rate_scope::PROCESS => (pid_tgid >> 32) as u32,
        _ => 0,
    };
    key._pad = 0;
    for i in 0..MAX_HOOK_ARGS {
        rate_arg(hit, i, spec.arg_kind[i], &mut key.args[i]);
    }
    let now = unsafe { bpf_ktime_get_boot_ns() };
    if let Some(last) = unsafe { RATE_LIMITS.get(&*key) }
        && rate_limited(*last, now, window)
    {
        return true;
    }
    let _ = RATE_LIMITS.insert(&*key, &now, 0);
    false
}

/// Argument `i` as a rate limit's key holds it: the first bytes of its string, else its value;
/// nothing of a buffer (its address says nothing, and its bytes are left out, as in what-if).
#[inline(always)]
fn rate_arg(hit: &HitRecord, i: usize, kind: u32, out: &mut [u8; RATE_ARG_BYTES]) {
    *out = [0; RATE_ARG_BYTES];
    if matches!(kind, arg_kind::CHAR_BUF | arg_kind::NONE) {
        return;
    }
    let Some(string) = filled_slot(hit, i) else {
        out[..8].copy_from_slice(&hit.values[i].to_ne_bytes());
        return;
    };
    let len = (unsafe { (*string).len } as usize).min(RATE_ARG_BYTES);
    unsafe {
        bpf_probe_read_kernel(
            out.as_mut_ptr() as *mut c_void,
            len as u32,
            strings::forward(string) as *const c_void,
        );
    }
}

/// Whether the policy is restricted to some cgroups and the current task's is not one of them.
/// A function of its own: the verifier then goes on from one state after it, not two.
#[inline(never)]
fn filtered_out(policy: u32, cgroup_filtered: u32) -> bool {
    if cgroup_filtered == 0 {
        return false;
    }
    let key = PolicyCgroup {
        policy,
        _pad: 0,
        cgroup: unsafe { bpf_get_current_cgroup_id() },
    };
    unsafe { POLICY_CGROUPS.get(&key) }.is_none()
}

/// Whether every `fd` argument of the hook is followed: the cheap test that turns away almost
/// every call (a policy reading one file is not interested in all the other reads).
#[inline(always)]
fn fds_followed(spec: &HookSpec, eval: &EvalState, tgid: u32) -> bool {
    for i in 0..MAX_HOOK_ARGS {
        if (i as u32) < spec.arg_count && spec.arg_kind[i] == arg_kind::FD {
            let fd = eval.call.raw[(spec.arg_index[i] as usize) & 7];
            let key = FdKey {
                tgid,
                fd: fd as u32,
            };
            if unsafe { FOLLOWED.get(&key) }.is_none() {
                return false;
            }
        }
    }
    true
}

/// `bpf_loop` round: reads argument `index` of the hook being evaluated.
#[inline(never)]
extern "C" fn read_arg_nth(index: u64, _: *mut c_void) -> i64 {
    let (Some(eval), Some(hit)) = (EVAL.get_ptr_mut(0), HIT.get_ptr_mut(0)) else {
        return 1;
    };
    let (eval, hit) = unsafe { (&mut *eval, &mut *hit) };
    let Some(spec) = HOOKS.get(eval.hook) else {
        return 1;
    };
    let i = index as usize;
    if i >= MAX_HOOK_ARGS {
        return 1;
    }
    if !read_arg(spec, i, eval, hit) {
        eval.skip = 1;
        return 1;
    }
    0
}

/// `bpf_loop` round: tries selector `index`; stops at the first that matches.
#[inline(never)]
extern "C" fn selector_nth(index: u64, _: *mut c_void) -> i64 {
    let (Some(eval), Some(hit)) = (EVAL.get_ptr_mut(0), HIT.get_ptr(0)) else {
        return 1;
    };
    let (eval, hit) = unsafe { (&mut *eval, &*hit) };
    let Some(spec) = HOOKS.get(eval.hook) else {
        return 1;
    };
    if index as usize >= MAX_SELECTORS {
        return 1;
    }
    // LLVM spills the index before that check and reloads it after; 6.1's verifier keeps a
    // spilled scalar's bounds only if it had them when spilled. This copy is written after the
    // check, so its reloads stay bounded.
    let mut copy = 0;
    unsafe { core::ptr::write_volatile(&raw mut copy, index as usize) };
    let i = unsafe { core::ptr::read_volatile(&raw const copy) };
    let process = unsafe { PROCS.get(eval.tgid) };
    let Some(selector) = spec.selectors.get(i) else {
        return 1;
    };
    if selector_matches(spec, selector, hit, eval, process) {
        eval.chosen = index as u32 + 1;
        return 1;
    }
    0
}

/// Fills argument `i`'s value and string. False when the hook cannot apply (an `fd` argument
/// that is not followed).
#[inline(always)]
fn read_arg(spec: &HookSpec, i: usize, eval: &mut EvalState, hit: &mut HitRecord) -> bool {
    hit.string_slot[i] = u32::MAX;
    hit.values[i] = 0;
    if i as u32 >= spec.arg_count {
        return true;
    }
    let raw = eval.call.raw[(spec.arg_index[i] as usize) & 7];
    let kind = spec.arg_kind[i];
    hit.values[i] = match kind {
        arg_kind::INT => raw as i32 as i64 as u64,
        arg_kind::UINT => raw as u32 as u64,
        arg_kind::SYSCALL64 if kernel::in_compat_syscall(eval.task as usize) => raw | SYSCALL_32BIT,
        _ => raw,
    };
    let used = eval.strings_used as usize;
    if !takes_slot(kind) || used >= MAX_STRING_ARGS {
        return true;
    }
    let slot = unsafe { (&raw mut hit.strings as *mut StringArg).add(used & 1) };
    // Only a path walk knows the file's mode.
    unsafe { (*slot).mode = 0 };
    let via_follow = kind == arg_kind::FD && spec.flags & hook_flags::FD_VIA_FOLLOW != 0;
    let task = eval.task as usize;
    let read = match kind {
        arg_kind::STRING => read_user_string(raw, slot),
        arg_kind::CHAR_BUF => {
            let size = match spec.buf_size[i] {
                buf_size::NONE => 0,
                buf_size::RETURN => eval.call.ret.max(0) as u64,
                at => eval.call.raw[((at - 1) as usize) & 7],
            };
            read_user_buffer(raw, size, slot)
        }
        arg_kind::KERNEL_STRING => read_kernel_string(raw, slot),
        arg_kind::CRED => read_cred(raw as usize, slot),
        arg_kind::SOCK => sockets::read_sock(raw as usize, slot),
        arg_kind::SOCKET => sockets::read_socket(raw as usize, slot),
        arg_kind::SOCKET_FD => sockets::read_socket_fd(task, raw, slot),
        arg_kind::SOCKADDR => sockets::read_sockaddr(raw, false, slot),
        arg_kind::USER_SOCKADDR => sockets::read_sockaddr(raw, true, slot),
        _ if via_follow => read_followed(eval.tgid, raw, slot),
        // One path walk for every kind that names a file: the walk is the biggest code here.
        _ => read_path(path_of(kind, raw as usize, task), task, slot),
    };
    // Without its file, or its socket, the hook does not apply.
    if !read && (via_follow || kind == arg_kind::SOCKET_FD) {
        return false;
    }
    if spec.flags & hook_flags::POSTFIX != 0 {
        unsafe {
            strings::reverse_tail(
                (&raw const (*slot).bytes) as *const u8,
                (*slot).start as usize,
                (*slot).len as usize,
                (&raw mut (*slot).tail) as *mut u8,
            );
        }
    }
    hit.string_slot[i] = used as u32;
    eval.strings_used = used as u32 + 1;
    true
}

/// Kinds that take one of the hit's string slots: strings, paths, buffers, credentials and
/// sockets.
#[inline(always)]
fn takes_slot(kind: u32) -> bool {
    arg_kind::is_text(kind)
        || arg_kind::is_socket(kind)
        || matches!(kind, arg_kind::CHAR_BUF | arg_kind::CRED)
}

/// The ids, securebits and capability sets of the `struct cred` at `cred`, as a `CredRecord`
/// at the start of the slot.
#[inline(always)]
fn read_cred(cred: usize, slot: *mut StringArg) -> bool {
    let slot = unsafe { &mut *slot };
    slot.start = 0;
    slot.status = 0;
    slot.len = 0;
    let out = (&raw mut slot.bytes) as *mut CredRecord;
    let ids = unsafe {
        bpf_probe_read_kernel(
            (&raw mut (*out).ids) as *mut c_void,
            size_of::<[u32; 8]>() as u32,
            (cred + kernel::off!(cred_uid)) as *const c_void,
        )
    };
    unsafe {
        (*out).securebits = kernel::kread(cred, kernel::off!(cred_securebits)).unwrap_or(0);
        (*out)._pad = 0;
        for set in 0..3 {
            (*out).caps[set] = kernel::kread(cred, kernel::off!(cred_caps[set])).unwrap_or(0);
        }
    }
    if ids == 0 {
        slot.len = size_of::<CredRecord>() as u32;
    }
    ids == 0
}

/// The first `STRING_AREA` bytes of the user buffer at `address` holding `size` bytes; the slot's
/// `status` keeps `size` (saturated), so that userspace tells a truncated copy.
#[inline(always)]
fn read_user_buffer(address: u64, size: u64, slot: *mut StringArg) -> bool {
    let slot = unsafe { &mut *slot };
    slot.start = 0;
    slot.status = size.min(u32::MAX as u64) as u32;
    slot.len = 0;
    // A mask the verifier can bound, then the real limit.
    let count = (size.min(STRING_AREA as u64) as usize) & (2 * STRING_AREA - 1);
    if count == 0 || count > STRING_AREA {
        return true;
    }
    let read = unsafe {
        bpf_probe_read_user(
            (&raw mut slot.bytes) as *mut c_void,
            count as u32,
            address as *const c_void,
        )
    };
    if read == 0 {
        slot.len = count as u32;
    }
    read == 0
}

#[inline(always)]
fn read_kernel_string(address: u64, slot: *mut StringArg) -> bool {
    let slot = unsafe { &mut *slot };
    slot.start = 0;
    slot.status = 0;
    let read = unsafe {
        bpf_probe_read_kernel_str_bytes(address as *const u8, &mut slot.bytes[..STRING_AREA])
    };
    slot.len = read.map_or(0, |s| s.len() as u32);
    read.is_ok()
}

#[inline(always)]
fn read_user_string(address: u64, slot: *mut StringArg) -> bool {
    let slot = unsafe { &mut *slot };
    slot.start = 0;
    slot.status = 0;
    let read = unsafe {
        bpf_probe_read_user_str_bytes(address as *const u8, &mut slot.bytes[..STRING_AREA])
    };
    slot.len = read.map_or(0, |s| s.len() as u32);
    read.is_ok()
}

#[inline(always)]
fn read_followed(tgid: u32, fd: u64, slot: *mut StringArg) -> bool {
    let key = FdKey {
        tgid,
        fd: fd as u32,
    };
    let Some(followed) = (unsafe { FOLLOWED.get(&key) }) else {
        return false;
    };
    if followed.owner != files_of_current() {
        return false;
    }
    let len = (followed.len as usize) & (FOLLOWED_LEN - 1);
    unsafe {
        (*slot).start = 0;
        (*slot).len = len as u32;
        (*slot).status = followed.status;
        bpf_probe_read_kernel(
            (&raw mut (*slot).bytes) as *mut c_void,
            len as u32,
            (&raw const followed.bytes) as *const c_void,
        );
    }
    true
}

/// The address of the `struct path` an argument of `kind` names (0 when none): an fd's file's
/// (FD, FILE), a file's, a path itself, a binprm's or kiocb's file's.
#[inline(always)]
fn path_of(kind: u32, raw: usize, task: usize) -> usize {
    let file = match kind {
        arg_kind::PATH_OBJECT => return raw,
        arg_kind::FILE_OBJECT => raw,
        arg_kind::BINPRM => kernel::kread(raw, kernel::off!(binprm_file)).unwrap_or(0),
        arg_kind::KIOCB => kernel::kread(raw, kernel::off!(kiocb_filp)).unwrap_or(0),
        _ => kernel::fd_file(task, raw as u64).unwrap_or(0),
    };
    if file == 0 {
        return 0;
    }
    file + kernel::off!(file_f_path)
}

/// The `struct path` at `path` as the task sees it (from its root).
#[inline(always)]
fn read_path(path: usize, task: usize, slot: *mut StringArg) -> bool {
    let Ok(root) = kernel::fs_root(task) else {
        return empty_path(slot);
    };
    if path == 0 {
        return empty_path(slot);
    }
    path::resolve_forwards(path, root, slot);
    let mode = kernel::kread::<usize>(path, kernel::off!(path_dentry))
        .and_then(|dentry| kernel::kread::<usize>(dentry, kernel::off!(dentry_d_inode)))
        .and_then(|inode| kernel::kread::<u16>(inode, kernel::off!(inode_i_mode)));
    unsafe { (*slot).mode = mode.map_or(0, u32::from) };
    true
}

#[inline(always)]
fn empty_path(slot: *mut StringArg) -> bool {
    unsafe {
        (*slot).start = 0;
        (*slot).len = 0;
    }
    false
}

#[inline(always)]
fn selector_matches(
    spec: &HookSpec,
    selector: &SelectorSpec,
    hit: &HitRecord,
    eval: &EvalState,
    process: Option<&ProcessInfo>,
) -> bool {
    let (task, tgid) = (eval.task as usize, eval.tgid);
    if selector.pid.op != op::NONE && !pid_matches(selector, task, tgid, process) {
        return false;
    }
    if selector.binary_op != op::NONE {
        let passed = match process {
            Some(p) => binary_matches(selector, p),
            // Unknown binary: only negative filters pass.
            None => matches!(
                selector.binary_op,
                op::NOT_EQUAL | op::NOT_PREFIX | op::NOT_POSTFIX
            ),
        };
        if !passed {
            return false;
        }
    }
    for i in 0..MAX_ARG_FILTERS {
        let filter = &selector.args[i];
        if filter.op != op::NONE && !arg_matches(spec, filter, hit) {
            return false;
        }
    }
    let returns = &selector.returns[0];
    if returns.op != op::NONE && !returns.matches_integer(eval.call.ret) {
        return false;
    }
    for i in 0..MAX_NS_FILTERS {
        let filter = &selector.namespaces[i];
        if filter.op == op::NONE {
            continue;
        }
        let inum = kernel::namespace_inum(task, filter.slot as usize).unwrap_or(0);
        if !filter.matches(inum) {
            return false;
        }
    }
    for i in 0..MAX_CAP_FILTERS {
        let filter = &selector.capabilities[i];
        if filter.op == op::NONE {
            continue;
        }
        // With isNamespaceCapability, only outside the host's user namespace.
        if filter.host_user_ns != 0
            && !filter.applies_in(kernel::namespace_inum(task, NS_RECORD_SLOTS - 1).unwrap_or(0))
        {
            return false;
        }
        let caps = kernel::capabilities(task, filter.set as usize).unwrap_or(0);
        if !filter.matches(caps) {
            return false;
        }
    }
    if selector.namespace_changes.op != op::NONE || selector.capability_changes.op != op::NONE {
        return match process {
            Some(p) => changes_match(selector, task, tgid, p),
            // Nothing recorded at exec: no change to tell.
            None => false,
        };
    }
    true
}

/// matchNamespaceChanges and matchCapabilityChanges: the task's namespaces and capabilities
/// against those the process had at exec (or fork). A separate function (see `binary_matches`).
#[inline(never)]
fn changes_match(selector: &SelectorSpec, task: usize, tgid: u32, process: &ProcessInfo) -> bool {
    let namespaces = &selector.namespace_changes;
    if namespaces.op != op::NONE {
        let mut walk = NamespaceWalk {
            task: task as u64,
            tgid,
            op: namespaces.op,
            mask: namespaces.mask,
            changed: 0,
        };
        // One round verified for all the namespaces (a plain loop multiplies the states).
        unsafe {
            bpf_loop(
                NS_RECORD_SLOTS as u32,
                namespace_changed_nth as *mut c_void,
                &raw mut walk as *mut c_void,
                0,
            )
        };
        if walk.changed == 0 {
            return false;
        }
    }
    let caps = &selector.capability_changes;
    if caps.op != op::NONE {
        if process.caps_known == 0 {
            return false;
        }
        if caps.host_user_ns != 0 {
            let user_ns = kernel::namespace_inum(task, NS_RECORD_SLOTS - 1).unwrap_or(0);
            if !caps.applies_in(user_ns) {
                return false;
            }
        }
        let set = (caps.set as usize).min(2);
        let now = kernel::capabilities(task, set).unwrap_or(0);
        if !caps.change_matches(process.caps[set], now) {
            return false;
        }
    }
    // The last filter of the selector passed: it matches. A change is told once: what the
    // process has now becomes the new baseline (recorded by `evaluate`).
    if let Some(eval) = EVAL.get_ptr_mut(0) {
        let mut rebase = 0;
        if namespaces.op != op::NONE {
            rebase |= rebase::NAMESPACES;
        }
        if caps.op != op::NONE {
            rebase |= rebase::CAPABILITIES;
        }
        unsafe { (*eval).rebase = rebase };
    }
    true
}

/// A walk over the namespaces for matchNamespaceChanges.
#[repr(C)]
struct NamespaceWalk {
    task: u64,
    tgid: u32,
    op: u32,
    mask: u32,
    changed: u32,
}

/// `bpf_loop` round: whether namespace `index` is watched and differs from the one at exec;
/// stops at the first such.
#[inline(never)]
extern "C" fn namespace_changed_nth(index: u64, walk: *mut c_void) -> i64 {
    let walk = unsafe { &mut *(walk as *mut NamespaceWalk) };
    let slot = (index as usize) & 15;
    if slot >= NS_RECORD_SLOTS {
        return 1;
    }
    let filter = NamespaceChangeFilter {
        op: walk.op,
        mask: walk.mask,
    };
    if !filter.watches(slot) {
        return 0;
    }
    let Some(process) = (unsafe { PROCS.get(walk.tgid) }) else {
        return 1;
    };
    let recorded = process.ns[slot];
    if recorded == 0 {
        return 0;
    }
    let now = kernel::namespace_inum(walk.task as usize, slot).unwrap_or(0);
    if filter.changed(slot, recorded, now) {
        walk.changed = 1;
        return 1;
    }
    0
}

/// Whether the process passes the selector's binary filter: a process forked by one of the
/// binaries (followChildren) counts as one of them. A separate function so that the compiler
/// cannot compute field addresses of the process entry before its null check (the verifier
/// rejects arithmetic on a maybe-null map value).
#[inline(never)]
fn binary_matches(selector: &SelectorSpec, process: &ProcessInfo) -> bool {
    let follow = selector.binary_follow;
    if follow != 0 && (process.follow >> ((follow - 1) & 63)) & 1 != 0 {
        return selector.binary_op == op::EQUAL;
    }
    strings::matches(
        selector.binary_op,
        selector.binary_strings,
        process.binary.as_ptr(),
        process.binary_tail.as_ptr(),
        process.binary_len,
    )
}

#[inline(always)]
fn pid_matches(
    selector: &SelectorSpec,
    task: usize,
    tgid: u32,
    process: Option<&ProcessInfo>,
) -> bool {
    let filter = &selector.pid;
    let namespace = filter.flags & pid_flags::NAMESPACE_PID != 0;
    // followForks: a process forked without exec counts as the process that exec'd.
    let pid = match (filter.flags & pid_flags::FOLLOW_FORKS != 0, process) {
        (true, Some(p)) if namespace => p.exec_ns_pid,
        (true, Some(p)) => p.exec_pid,
        _ if namespace => kernel::namespace_pid(task).unwrap_or(tgid),
        _ => tgid,
    };
    filter.matches(pid)
}

/// The string slot argument `arg` filled (its string, path, buffer or record), if it took one.
#[inline(always)]
fn filled_slot(hit: &HitRecord, arg: usize) -> Option<*const StringArg> {
    let slot = hit.string_slot[arg];
    if slot == u32::MAX {
        return None;
    }
    Some(unsafe { (&raw const hit.strings as *const StringArg).add((slot & 1) as usize) })
}

#[inline(always)]
fn arg_matches(spec: &HookSpec, filter: &ArgFilter, hit: &HitRecord) -> bool {
    let arg = filter.arg as usize;
    if arg >= MAX_HOOK_ARGS {
        return false;
    }
    match spec.arg_kind[arg] {
        kind if arg_kind::is_text(kind) => filled_slot(hit, arg).is_some_and(|string| {
            if filter.is_file_type() {
                return filter.matches_file_type(unsafe { (*string).mode });
            }
            strings::matches(
                filter.op,
                filter.strings,
                strings::forward(string),
                unsafe { (&raw const (*string).tail) as *const u8 },
                unsafe { (*string).len },
            )
        }),
        kind if arg_kind::is_socket(kind) => {
            filled_slot(hit, arg).is_some_and(|record| sockets::matches(filter, record))
        }
        _ if matches!(filter.op, op::IN_MAP | op::NOT_IN_MAP) => {
            let key = MapValue {
                filter: filter.strings,
                _pad: 0,
                value: hit.values[arg],
            };
            filter.in_map_verdict(unsafe { IN_MAP_VALUES.get(&key) }.is_some())
        }
        _ => filter.matches_integer(hit.values[arg] as i64),
    }
}

/// Runs the selector's actions; returns whether the hit is posted. Written out action by
/// action, not as a loop: LLVM closes that loop with a fall-through, which verifiers before
/// Linux 6.4 or so reject as a back-edge (Debian 12's 6.1 did).
#[inline(always)]
fn run_actions(selector: &SelectorSpec, hit: &mut HitRecord, tgid: u32, policy_mode: u32) -> bool {
    const _: () = assert!(MAX_ACTIONS == 3);
    let mut post = true;
    run_action(&selector.actions[0], hit, tgid, policy_mode, &mut post);
    run_action(&selector.actions[1], hit, tgid, policy_mode, &mut post);
    run_action(&selector.actions[2], hit, tgid, policy_mode, &mut post);
    post
}

/// Runs one action; clears `post` when the hit is not to be posted. Inlined: a subprogram with
/// pointer arguments is refused by older verifiers too.
#[inline(always)]
fn run_action(act: &ActionSpec, hit: &mut HitRecord, tgid: u32, policy_mode: u32, post: &mut bool) {
    match act.kind {
        action::NO_POST => *post = false,
        action::SIGKILL | action::SIGNAL => {
            let signal = if act.kind == action::SIGKILL {
                9
            } else {
                act.signal
            };
            hit.signal = signal;
            if tgid <= 1 || unsafe { PROTECTED.get(tgid) }.is_some() {
                hit.outcome |= outcome::SPARED;
            } else if policy_mode == mode::MONITOR {
                hit.outcome |= outcome::WOULD_SIGNAL;
            } else {
                unsafe { bpf_send_signal(signal) };
                hit.outcome |= outcome::SIGNALED;
            }
        }
        action::FOLLOW_FD => {
            if follow(hit, tgid, act.arg_fd, act.arg_name) {
                hit.outcome |= outcome::FOLLOWED;
            }
        }
        action::UNFOLLOW_FD => {
            let key = fd_key(hit, tgid, act.arg_fd);
            if FOLLOWED.remove(&key).is_ok() {
                hit.outcome |= outcome::UNFOLLOWED;
            } else {
                // Closing an fd nobody followed is not worth an event.
                *post = false;
            }
        }
        action::COPY_FD => {
            let from = fd_key(hit, tgid, act.arg_fd);
            let to = fd_key(hit, tgid, act.arg_name);
            if let Some(path) = unsafe { FOLLOWED.get(&from) } {
                let _ = FOLLOWED.insert(&to, path, 0);
            }
        }
        action::OVERRIDE => {
            if tgid <= 1 || unsafe { PROTECTED.get(tgid) }.is_some() {
                hit.outcome |= outcome::SPARED;
            } else if policy_mode == mode::MONITOR {
                hit.outcome |= outcome::WOULD_OVERRIDE;
            } else {
                overrides::request(act.error);
                hit.outcome |= outcome::OVERRIDDEN;
            }
        }
        _ => {}
    }
}

#[inline(always)]
fn fd_key(hit: &HitRecord, tgid: u32, arg: u32) -> FdKey {
    let arg = arg as usize;
    let fd = if arg < MAX_HOOK_ARGS {
        hit.values[arg]
    } else {
        u64::MAX
    };
    FdKey {
        tgid,
        fd: fd as u32,
    }
}

/// Stores the path of argument `arg_name` under the fd in argument `arg_fd`.
#[inline(always)]
fn follow(hit: &mut HitRecord, tgid: u32, arg_fd: u32, arg_name: u32) -> bool {
    let arg_name = arg_name as usize;
    if arg_name >= MAX_HOOK_ARGS {
        return false;
    }
    let slot = hit.string_slot[arg_name];
    if slot == u32::MAX {
        return false;
    }
    let string = unsafe { (&raw const hit.strings as *const StringArg).add((slot & 1) as usize) };
    // The value is built in per-CPU scratch: too big for the stack.
    let Some(value) = FOLLOW_SCRATCH.get_ptr_mut(0) else {
        return false;
    };
    let len = unsafe { (*string).len } as usize & (FOLLOWED_LEN - 1);
    unsafe {
        (*value).owner = files_of_current();
        (*value).len = len as u32;
        (*value).status = (*string).status;
        bpf_probe_read_kernel(
            (&raw mut (*value).bytes) as *mut c_void,
            len as u32,
            strings::forward(string) as *const c_void,
        );
    }
    let stored = FOLLOWED
        .insert(&fd_key(hit, tgid, arg_fd), unsafe { &*value }, 0)
        .is_ok();
    if stored {
        following::mark(tgid, true);
    }
    stored
}

/// The current task's `files_struct`, which owns its fds.
#[inline(always)]
fn files_of_current() -> u64 {
    let task = unsafe { bpf_get_current_task() } as usize;
    kernel::kread::<u64>(task, kernel::off!(task_files)).unwrap_or(0)
}

/// Adds a hit to its policy's per-CPU counters.
#[inline(always)]
fn count(policy: u32, result: u32) {
    let Some(counters) = POLICY_COUNTERS.get_ptr_mut(policy) else {
        return;
    };
    let counters = unsafe { &mut *counters };
    counters[counter::HITS] += 1;
    if result & outcome::POSTED != 0 {
        counters[counter::POSTS] += 1;
    }
    if result & outcome::SIGNALED != 0 {
        counters[counter::SIGNALS] += 1;
    }
    if result & outcome::WOULD_SIGNAL != 0 {
        counters[counter::WOULD_SIGNALS] += 1;
    }
    if result & outcome::SPARED != 0 {
        counters[counter::SPARED] += 1;
    }
    if result & outcome::RATE_LIMITED != 0 {
        counters[counter::RATE_LIMITED] += 1;
    }
    if result & outcome::OVERRIDDEN != 0 {
        counters[counter::OVERRIDES] += 1;
    }
    if result & outcome::WOULD_OVERRIDE != 0 {
        counters[counter::WOULD_OVERRIDES] += 1;
    }
}
