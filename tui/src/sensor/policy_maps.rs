//! The probes' policy maps and the on-demand attachment of the policy programs: what loading,
//! switching and unloading a compiled policy does in the kernel.
use std::{
    collections::{BTreeMap, HashMap as StdHashMap, VecDeque},
    os::fd::AsFd,
};

use anyhow::{Context, Result, anyhow, bail};
use aya::{
    Ebpf,
    maps::{Array, HashMap, LpmTrie, MapData, PerCpuArray, PerCpuValues, lpm_trie::Key},
    programs::{
        RawTracePoint, TracePoint, UProbe,
        trace_point::TracePointLinkId,
        uprobe::{UProbeAttachLocation, UProbeAttachPoint, UProbeLinkId, UProbeScope},
    },
};
use tetrascope_shared::{
    NS_RECORD_SLOTS,
    policy::{
        AddressMatch, HOOKS_PER_SITE, HookList, HookSpec, MATCH_LEN, MAX_FOLLOW_CHILDREN,
        MAX_HOOKS, MAX_POLICIES, MAX_PROBES, MapValue, PolicyState, ProcessInfo, RateKey,
        StringMatch, TRACEPOINT_FIELDS, TracepointField, TracepointSite, counter, mode, site,
    },
};

use super::{
    cgroup_overrides::CgroupOverrides,
    cookie_link::{self, CookieLink},
    policy_cgroups::PolicyCgroups,
    tracefs,
};
use crate::policy::{
    compile::{AddressEntry, CompiledHook, CompiledPolicy, StringEntry},
    model::Mode,
    resolve::{CGROUP_OVERRIDES, DUPLICATE_TRACKING, Mechanism, TracepointLink},
};

/// The program at every kprobe and uprobe attachment.
const PROBE_PROGRAM: &str = "policy_probe";
/// The programs of a return probe: at the function's entry, and at its return.
const RETPROBE_PROGRAMS: [&str; 2] = ["policy_probe_entry", "policy_retprobe"];
/// The program at every raw tracepoint, loaded at its first use (it needs kernel 6.10).
const RAW_TRACEPOINT_PROGRAM: &str = "policy_raw_tracepoint";

/// Verifies the kprobe and uprobe programs at start, as the tracepoint programs are. They are
/// loaded as uprobes: kprobes are the same program type, attached by `cookie_link`.
pub(super) fn load_probe_programs(ebpf: &mut Ebpf) -> Result<()> {
    for name in [PROBE_PROGRAM].iter().chain(&RETPROBE_PROGRAMS) {
        probe_program(ebpf, name)?
            .load()
            .with_context(|| format!("verifying {name}"))?;
    }
    Ok(())
}

fn probe_program<'a>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut UProbe> {
    Ok(ebpf
        .program_mut(name)
        .ok_or_else(|| anyhow!("program {name} missing from the probes object"))?
        .try_into()?)
}

/// Attaches one probe program at a uprobe's file offset, a kprobe's function (its entry, or
/// its return with `at_return`) or a raw tracepoint, with the slot as cookie.
fn attach_probe_program(
    ebpf: &mut Ebpf,
    name: &'static str,
    mechanism: &Mechanism,
    at_return: bool,
    slot: u32,
) -> Result<ProbeLink> {
    let cookie = u64::from(slot);
    if let Mechanism::RawTracepoint { event, .. } = mechanism {
        let program: &mut RawTracePoint = ebpf
            .program_mut(name)
            .ok_or_else(|| anyhow!("program {name} missing from the probes object"))?
            .try_into()?;
        if program.fd().is_err() {
            program
                .load()
                .with_context(|| format!("verifying {name}"))?;
        }
        let fd = program.fd()?.as_fd();
        return Ok(ProbeLink::Kernel {
            _link: cookie_link::attach_raw_tracepoint(fd, event, cookie)?,
        });
    }
    let program = probe_program(ebpf, name)?;
    Ok(match mechanism {
        Mechanism::Uprobe { path, offset, .. } => {
            let point = UProbeAttachPoint {
                location: UProbeAttachLocation::AbsoluteOffset(*offset),
                cookie: Some(cookie),
            };
            ProbeLink::Uprobe(
                name,
                program.attach(point, path, UProbeScope::AllProcesses)?,
            )
        }
        Mechanism::Kprobe { function, .. } => {
            let fd = program.fd()?.as_fd();
            ProbeLink::Kernel {
                _link: cookie_link::attach_kprobe(fd, function, at_return, cookie)?,
            }
        }
        _ => bail!("{mechanism}: not a kprobe or uprobe"),
    })
}

/// `bpf_map_update_elem` flag: only add, never replace.
const BPF_NOEXIST: u64 = 1;

/// What a loaded policy holds in the kernel, to undo it.
#[derive(Clone, Debug, Default)]
pub struct LoadedPolicy {
    pub slot: u32,
    pub hook_ids: Vec<u32>,
    strings: Vec<StringEntry>,
    map_values: Vec<MapValue>,
    addresses: Vec<AddressEntry>,
    /// followChildren bits and the binaries that give them.
    follow_children: Vec<(u32, Vec<BinaryKey>)>,
    attachments: Vec<TracepointLink>,
    sites: Vec<u64>,
    probe_slots: Vec<u32>,
}

/// A kprobe, uprobe or raw tracepoint attachment.
#[derive(Debug)]
enum ProbeLink {
    Uprobe(&'static str, UProbeLinkId),
    /// A kprobe or raw tracepoint, detached by dropping it.
    Kernel {
        _link: CookieLink,
    },
}

/// A tracepoint attachment: aya's, or ours when it carries a cookie.
#[derive(Debug)]
enum Attached {
    Aya(TracePointLinkId),
    /// Detached by dropping it.
    Cookie {
        _link: CookieLink,
    },
}

pub(super) struct PolicyMaps {
    hooks: Array<MapData, HookSpec>,
    enter_hooks: Array<MapData, HookList>,
    exit_hooks: Array<MapData, HookList>,
    open_hooks: Array<MapData, HookList>,
    tracepoint_sites: HashMap<MapData, u32, TracepointSite>,
    probe_sites: Array<MapData, HookList>,
    strings: LpmTrie<MapData, StringMatch, u32>,
    postfixes: LpmTrie<MapData, StringMatch, u32>,
    map_values: HashMap<MapData, MapValue, u8>,
    addresses: LpmTrie<MapData, AddressMatch, u8>,
    state: Array<MapData, PolicyState>,
    counters: PerCpuArray<MapData, [u64; counter::COUNT]>,
    cgroups: PolicyCgroups,
    protected: HashMap<MapData, u32, u32>,
    procs: HashMap<MapData, u32, ProcessInfo>,
    follow_binaries: HashMap<MapData, BinaryKey, u64>,
    follow_live: Array<MapData, u64>,
    rate_limits: HashMap<MapData, RateKey, u64>,
    /// Hook ids listed under each site, mirrored from `SITES`.
    site_hooks: BTreeMap<u64, Vec<u32>>,
    /// Record fields each tracepoint's hooks read, by tracepoint id: a field keeps its slot
    /// while the tracepoint has hooks.
    tracepoint_fields: BTreeMap<u32, Vec<TracepointField>>,
    /// Attached programs and how many hooks use each.
    links: StdHashMap<TracepointLink, (Attached, usize)>,
    /// Each probe slot's attachments.
    probe_links: StdHashMap<u32, Vec<ProbeLink>>,
    free_hooks: Vec<u32>,
    free_slots: Vec<u32>,
    free_probes: Vec<u32>,
    cgroup_overrides: CgroupOverrides,
    /// followChildren bits, the longest free first.
    free_follow_children: VecDeque<u32>,
}

/// A binary path as `ProcessInfo::binary` holds it: zero-padded.
type BinaryKey = [u8; MATCH_LEN];

impl PolicyMaps {
    pub(super) fn take(ebpf: &mut Ebpf) -> Result<Self> {
        let mut map = |name: &str| {
            ebpf.take_map(name)
                .ok_or_else(|| anyhow!("map {name} missing from the probes object"))
        };
        Ok(PolicyMaps {
            hooks: Array::try_from(map("HOOKS")?)?,
            enter_hooks: Array::try_from(map("ENTER_HOOKS")?)?,
            exit_hooks: Array::try_from(map("EXIT_HOOKS")?)?,
            open_hooks: Array::try_from(map("OPEN_HOOKS")?)?,
            tracepoint_sites: HashMap::try_from(map("TRACEPOINT_SITES")?)?,
            probe_sites: Array::try_from(map("PROBE_SITES")?)?,
            strings: LpmTrie::try_from(map("STRINGS")?)?,
            postfixes: LpmTrie::try_from(map("POSTFIXES")?)?,
            map_values: HashMap::try_from(map("IN_MAP_VALUES")?)?,
            addresses: LpmTrie::try_from(map("ADDRESSES")?)?,
            state: Array::try_from(map("POLICY_STATE")?)?,
            counters: PerCpuArray::try_from(map("POLICY_COUNTERS")?)?,
            cgroups: PolicyCgroups::new(HashMap::try_from(map("POLICY_CGROUPS")?)?),
            protected: HashMap::try_from(map("PROTECTED")?)?,
            procs: HashMap::try_from(map("PROCS")?)?,
            follow_binaries: HashMap::try_from(map("FOLLOW_BINARIES")?)?,
            follow_live: Array::try_from(map("FOLLOW_LIVE")?)?,
            rate_limits: HashMap::try_from(map("RATE_LIMITS")?)?,
            site_hooks: BTreeMap::new(),
            tracepoint_fields: BTreeMap::new(),
            links: StdHashMap::new(),
            probe_links: StdHashMap::new(),
            free_hooks: (0..MAX_HOOKS).rev().collect(),
            free_slots: (0..MAX_POLICIES).rev().collect(),
            free_probes: (0..MAX_PROBES).rev().collect(),
            cgroup_overrides: CgroupOverrides::default(),
            free_follow_children: (0..MAX_FOLLOW_CHILDREN).collect(),
        })
    }

    /// Never signalled by any policy.
    pub(super) fn protect(&mut self, tgid: u32) -> Result<()> {
        self.protected.insert(tgid, 1, 0)?;
        Ok(())
    }

    /// Seeds the binary of a process that exec'd before the probes were attached, and its
    /// namespaces and capabilities now as the baseline of changes (`None`: unknown).
    pub(super) fn seed_process(
        &mut self,
        tgid: u32,
        ns_pid: u32,
        binary: &str,
        ns: &[u32; NS_RECORD_SLOTS],
        caps: Option<[u64; 3]>,
    ) {
        let mut info = ProcessInfo {
            exec_pid: tgid,
            exec_ns_pid: ns_pid,
            binary_len: binary.len() as u32,
            caps_known: u32::from(caps.is_some()),
            follow: 0,
            caps: caps.unwrap_or_default(),
            ns: *ns,
            binary: [0; MATCH_LEN],
            binary_tail: [0; tetrascope_shared::policy::POSTFIX_LEN],
        };
        let bytes = binary.as_bytes();
        let head = bytes.len().min(MATCH_LEN);
        info.binary[..head].copy_from_slice(&bytes[..head]);
        for (slot, byte) in info.binary_tail.iter_mut().zip(bytes.iter().rev()) {
            *slot = *byte;
        }
        // Best effort: a process that exec'd meanwhile has a fresher entry from the probes.
        let _ = self.procs.insert(tgid, info, BPF_NOEXIST);
    }

    pub(super) fn load(
        &mut self,
        ebpf: &mut Ebpf,
        compiled: &CompiledPolicy,
        enabled: bool,
        policy_mode: Mode,
        cgroups: Option<&[u64]>,
    ) -> Result<LoadedPolicy> {
        let slot = self
            .free_slots
            .pop()
            .ok_or_else(|| anyhow!("{MAX_POLICIES} policies are loaded already"))?;
        let mut loaded = LoadedPolicy {
            slot,
            ..LoadedPolicy::default()
        };
        let filled = match cgroups {
            // The filter is in place before the policy's state first says "enabled".
            Some(cgroups) => self.cgroups.set(slot, cgroups),
            None => Ok(()),
        }
        .and_then(|()| self.fill(ebpf, compiled, enabled, policy_mode, &mut loaded));
        match filled {
            Ok(()) => Ok(loaded),
            Err(error) => {
                self.unload(ebpf, loaded);
                Err(error)
            }
        }
    }

    fn fill(
        &mut self,
        ebpf: &mut Ebpf,
        compiled: &CompiledPolicy,
        enabled: bool,
        policy_mode: Mode,
        loaded: &mut LoadedPolicy,
    ) -> Result<()> {
        self.set_state(loaded.slot, enabled, policy_mode)?;
        let cpus = aya::util::nr_cpus().map_err(|(_, error)| error)?;
        let zeroes = PerCpuValues::try_from(vec![[0u64; counter::COUNT]; cpus])?;
        self.counters.set(loaded.slot, zeroes, 0)?;
        for entry in &compiled.strings {
            let trie = if entry.postfix {
                &mut self.postfixes
            } else {
                &mut self.strings
            };
            trie.insert(&string_key(entry), entry.bytes.len() as u32, 0)
                .context("adding a selector string")?;
            loaded.strings.push(entry.clone());
        }
        for value in &compiled.map_values {
            self.map_values
                .insert(value, 1, 0)
                .context("adding an InMap value (the values of all policies fill the map)")?;
            loaded.map_values.push(*value);
        }
        for entry in &compiled.addresses {
            self.addresses
                .insert(&address_key(entry), 1, 0)
                .context("adding an address (the CIDRs of all policies fill the map)")?;
            loaded.addresses.push(*entry);
        }
        if compiled.follows_fds {
            for (program, tracepoint) in DUPLICATE_TRACKING {
                if tracefs::syscall_event_exists(tracepoint) {
                    let link = TracepointLink::syscall(program, tracepoint.to_owned());
                    self.attach(ebpf, &link)?;
                    loaded.attachments.push(link);
                }
            }
        }
        if compiled.overrides() {
            self.cgroup_overrides.ensure(ebpf)?;
            for syscall in CGROUP_OVERRIDES {
                let exit = format!("sys_exit_{syscall}");
                let link = TracepointLink::syscall("policy_override_exit", exit);
                self.attach(ebpf, &link)?;
                loaded.attachments.push(link);
            }
        }
        for hook in &compiled.hooks {
            let id = self
                .free_hooks
                .pop()
                .ok_or_else(|| anyhow!("{MAX_HOOKS} hooks are loaded already"))?;
            loaded.hook_ids.push(id);
            let mut spec = hook.spec;
            spec.policy = loaded.slot;
            self.place_fields(hook, &mut spec)?;
            self.follow_children(&mut spec, &compiled.strings, loaded)?;
            self.hooks.set(id, spec, 0)?;
            for mechanism in &hook.mechanisms {
                let Some(key) = mechanism.site_key() else {
                    self.attach_probe(ebpf, id, mechanism, loaded)?;
                    continue;
                };
                let listed = self.site_hooks.entry(key).or_default();
                if listed.len() >= HOOKS_PER_SITE {
                    bail!("{mechanism}: {HOOKS_PER_SITE} hooks are there already");
                }
                listed.push(id);
                loaded.sites.push(key);
                self.write_site(key)?;
                for link in attachments(mechanism) {
                    self.attach(ebpf, &link)?;
                    loaded.attachments.push(link);
                }
            }
        }
        Ok(())
    }

    /// Gives each followChildren selector of the hook its bit, and the binaries it names that
    /// bit: processes they fork from now on carry it.
    fn follow_children(
        &mut self,
        spec: &mut HookSpec,
        strings: &[StringEntry],
        loaded: &mut LoadedPolicy,
    ) -> Result<()> {
        let count = spec.selector_count as usize;
        for selector in spec.selectors.iter_mut().take(count) {
            if selector.binary_follow == 0 {
                continue;
            }
            let bit = self.take_follow_bit()?;
            let binaries: Vec<BinaryKey> = strings
                .iter()
                .filter(|s| !s.postfix && s.filter == selector.binary_strings)
                .map(|s| {
                    let mut key = [0; MATCH_LEN];
                    key[..s.bytes.len()].copy_from_slice(&s.bytes);
                    key
                })
                .collect();
            loaded.follow_children.push((bit, binaries.clone()));
            for key in &binaries {
                let bits = self.follow_binaries.get(key, 0).unwrap_or(0);
                self.follow_binaries
                    .insert(key, bits | 1 << bit, 0)
                    .context("adding a followChildren binary")?;
            }
            selector.binary_follow = bit + 1;
        }
        Ok(())
    }

    /// A free followChildren bit that no process carries any more (processes keep a freed bit
    /// until they exec or exit, but do not pass it on), made live.
    fn take_follow_bit(&mut self) -> Result<u32> {
        let carried = self
            .procs
            .iter()
            .filter_map(Result::ok)
            .fold(0u64, |bits, (_, info)| bits | info.follow);
        let at = self
            .free_follow_children
            .iter()
            .position(|bit| carried & 1 << bit == 0)
            .ok_or_else(|| {
                anyhow!("{MAX_FOLLOW_CHILDREN} followChildren matchBinaries are loaded already")
            })?;
        let bit = self.free_follow_children.remove(at).expect("found");
        let live = self.follow_live.get(&0, 0)?;
        self.follow_live.set(0, live | 1 << bit, 0)?;
        Ok(bit)
    }

    /// Takes a followChildren bit back: no fork or exec passes it on from now on, and its
    /// binaries give it no more.
    fn release_follow_bit(&mut self, bit: u32, binaries: &[BinaryKey]) {
        let mask = 1u64 << bit;
        if let Ok(live) = self.follow_live.get(&0, 0) {
            let _ = self.follow_live.set(0, live & !mask, 0);
        }
        for key in binaries {
            match self.follow_binaries.get(key, 0) {
                Ok(bits) if bits & !mask != 0 => {
                    let _ = self.follow_binaries.insert(key, bits & !mask, 0);
                }
                Ok(_) => {
                    let _ = self.follow_binaries.remove(key);
                }
                Err(_) => {}
            }
        }
        self.free_follow_children.push_back(bit);
    }

    /// Gives each record field a tracepoint hook reads a slot of its tracepoint's site, and
    /// points the hook's arguments at those slots.
    fn place_fields(&mut self, hook: &CompiledHook, spec: &mut HookSpec) -> Result<()> {
        let Some(Mechanism::Tracepoint {
            subsystem,
            event,
            format,
        }) = hook.mechanisms.first()
        else {
            return Ok(());
        };
        let fields = self.tracepoint_fields.entry(format.id).or_default();
        for (position, field) in hook.record_fields.iter().enumerate() {
            let slot = match fields.iter().position(|f| f == field) {
                Some(slot) => slot,
                None if fields.len() < TRACEPOINT_FIELDS => {
                    fields.push(*field);
                    fields.len() - 1
                }
                None => bail!(
                    "{subsystem}/{event}: the loaded hooks read {TRACEPOINT_FIELDS} different fields already"
                ),
            };
            spec.arg_index[position] = slot as u32;
        }
        Ok(())
    }

    /// Attaches the probe programs where `mechanism` (a kprobe, uprobe or raw tracepoint)
    /// says, their cookie naming the slot that lists hook `id`.
    fn attach_probe(
        &mut self,
        ebpf: &mut Ebpf,
        id: u32,
        mechanism: &Mechanism,
        loaded: &mut LoadedPolicy,
    ) -> Result<()> {
        let programs: &[&'static str] = match mechanism {
            Mechanism::Uprobe { ret: true, .. } | Mechanism::Kprobe { ret: true, .. } => {
                &RETPROBE_PROGRAMS
            }
            Mechanism::RawTracepoint { .. } => &[RAW_TRACEPOINT_PROGRAM],
            _ => &[PROBE_PROGRAM],
        };
        let slot = self
            .free_probes
            .pop()
            .ok_or_else(|| anyhow!("{MAX_PROBES} kprobes and uprobes are attached already"))?;
        loaded.probe_slots.push(slot);
        let mut list = HookList {
            count: 1,
            ..HookList::default()
        };
        list.ids[0] = id;
        self.probe_sites.set(slot, list, 0)?;
        for (i, program) in programs.iter().enumerate() {
            // A return probe's first program runs at the entry.
            let at_return = i == 1;
            let link = attach_probe_program(ebpf, program, mechanism, at_return, slot)
                .with_context(|| format!("attaching {program} for {mechanism}"))?;
            self.probe_links.entry(slot).or_default().push(link);
        }
        Ok(())
    }

    /// Undoes whatever `load` did, in reverse.
    pub(super) fn unload(&mut self, ebpf: &mut Ebpf, loaded: LoadedPolicy) {
        for link in loaded.attachments.iter().rev() {
            self.detach(ebpf, link);
        }
        for slot in &loaded.probe_slots {
            for link in self.probe_links.remove(slot).unwrap_or_default() {
                if let ProbeLink::Uprobe(program, link) = link
                    && let Ok(program) = probe_program(ebpf, program)
                {
                    let _ = program.detach(link);
                }
            }
            let _ = self.probe_sites.set(*slot, HookList::default(), 0);
            self.free_probes.push(*slot);
        }
        for key in &loaded.sites {
            if let Some(listed) = self.site_hooks.get_mut(key) {
                listed.retain(|id| !loaded.hook_ids.contains(id));
            }
            let _ = self.write_site(*key);
        }
        for id in &loaded.hook_ids {
            let _ = self.hooks.set(*id, HookSpec::default(), 0);
            self.free_hooks.push(*id);
        }
        // A later hook with the same id starts without their windows.
        let windows: Vec<RateKey> = self
            .rate_limits
            .keys()
            .filter_map(Result::ok)
            .filter(|key| loaded.hook_ids.contains(&key.hook))
            .collect();
        for key in windows {
            let _ = self.rate_limits.remove(&key);
        }
        for entry in &loaded.strings {
            let trie = if entry.postfix {
                &mut self.postfixes
            } else {
                &mut self.strings
            };
            let _ = trie.remove(&string_key(entry));
        }
        for value in &loaded.map_values {
            let _ = self.map_values.remove(value);
        }
        for entry in &loaded.addresses {
            let _ = self.addresses.remove(&address_key(entry));
        }
        for (bit, binaries) in &loaded.follow_children {
            self.release_follow_bit(*bit, binaries);
        }
        let _ = self.state.set(loaded.slot, PolicyState::default(), 0);
        self.cgroups.clear(loaded.slot);
        self.free_slots.push(loaded.slot);
    }

    pub(super) fn set_state(&mut self, slot: u32, enabled: bool, policy_mode: Mode) -> Result<()> {
        let state = PolicyState {
            enabled: enabled as u32,
            mode: match policy_mode {
                Mode::Enforce => mode::ENFORCE,
                Mode::Monitor => mode::MONITOR,
            },
            cgroup_filtered: self.cgroups.is_filtered(slot) as u32,
            _pad: 0,
        };
        self.state.set(slot, state, 0)?;
        Ok(())
    }

    /// Restricts a loaded policy to `cgroups` (empty: to no task), or lifts the restriction
    /// (None). Its enabled state and mode stay.
    pub(super) fn set_cgroups(&mut self, slot: u32, cgroups: Option<&[u64]>) -> Result<()> {
        let mut state = self.state.get(&slot, 0)?;
        match cgroups {
            Some(cgroups) => {
                self.cgroups.set(slot, cgroups)?;
                state.cgroup_filtered = 1;
                self.state.set(slot, state, 0)?;
            }
            None => {
                state.cgroup_filtered = 0;
                self.state.set(slot, state, 0)?;
                self.cgroups.clear(slot);
            }
        }
        Ok(())
    }

    /// The slot's counters summed over CPUs.
    pub(super) fn counters(&self, slot: u32) -> [u64; counter::COUNT] {
        let mut sum = [0; counter::COUNT];
        if let Ok(per_cpu) = self.counters.get(&slot, 0) {
            for values in per_cpu.iter() {
                for (total, value) in sum.iter_mut().zip(values) {
                    *total += value;
                }
            }
        }
        sum
    }

    /// Writes the hooks listed under `key` (see `site_key`) to the probes' site arrays.
    fn write_site(&mut self, key: u64) -> Result<()> {
        let listed = self.site_hooks.get(&key).cloned().unwrap_or_default();
        if listed.is_empty() {
            self.site_hooks.remove(&key);
        }
        let mut list = HookList {
            count: listed.len() as u32,
            ..HookList::default()
        };
        list.ids[..listed.len()].copy_from_slice(&listed);
        let (kind, syscall) = ((key >> 32) as u32, key as u32);
        if kind == site::TRACEPOINT {
            return self.write_tracepoint_site(syscall, list);
        }
        let sites = match kind {
            site::SYSCALL_ENTER => &mut self.enter_hooks,
            site::SYSCALL_EXIT => &mut self.exit_hooks,
            _ => &mut self.open_hooks,
        };
        sites
            .set(syscall, list, 0)
            .with_context(|| format!("listing hooks of syscall {syscall}"))?;
        Ok(())
    }

    /// Writes a tracepoint's hooks and fields; a tracepoint left without hooks is forgotten,
    /// and its fields with it.
    fn write_tracepoint_site(&mut self, id: u32, hooks: HookList) -> Result<()> {
        if hooks.count == 0 {
            self.tracepoint_fields.remove(&id);
            let _ = self.tracepoint_sites.remove(&id);
            return Ok(());
        }
        let fields = self.tracepoint_fields.get(&id).cloned().unwrap_or_default();
        let mut tracepoint = TracepointSite {
            hooks,
            field_count: fields.len() as u32,
            ..TracepointSite::default()
        };
        tracepoint.fields[..fields.len()].copy_from_slice(&fields);
        self.tracepoint_sites
            .insert(id, tracepoint, 0)
            .with_context(|| format!("listing hooks of tracepoint {id}"))?;
        Ok(())
    }

    fn attach(&mut self, ebpf: &mut Ebpf, link: &TracepointLink) -> Result<()> {
        if let Some((_, users)) = self.links.get_mut(link) {
            *users += 1;
            return Ok(());
        }
        let TracepointLink {
            program,
            category,
            name,
            cookie,
        } = link;
        if link.assumes_syscall_layout() {
            tracefs::check_syscall_layout(name)?;
        }
        let prog: &mut TracePoint = ebpf
            .program_mut(program)
            .ok_or_else(|| anyhow!("program {program} missing from the probes object"))?
            .try_into()?;
        let context = || format!("attaching {program} to {category}:{name}");
        let attached = match cookie {
            // The cookie is the tracepoint's id, which also names it to perf_event_open.
            Some(id) => Attached::Cookie {
                _link: cookie_link::attach(prog.fd()?.as_fd(), *id, *id).with_context(context)?,
            },
            None => Attached::Aya(prog.attach(category, name).with_context(context)?),
        };
        self.links.insert(link.clone(), (attached, 1));
        Ok(())
    }

    fn detach(&mut self, ebpf: &mut Ebpf, link: &TracepointLink) {
        let Some((_, users)) = self.links.get_mut(link) else {
            return;
        };
        *users -= 1;
        if *users > 0 {
            return;
        }
        let (attached, _) = self.links.remove(link).expect("present");
        if let Attached::Aya(id) = attached
            && let Some(prog) = ebpf.program_mut(link.program)
            && let Ok(prog) = <&mut TracePoint>::try_from(prog)
        {
            let _ = prog.detach(id);
        }
    }
}

/// The tracepoints of a mechanism that exist on this kernel (the open family lacks `open` and
/// `creat` on arm64).
fn attachments(mechanism: &Mechanism) -> Vec<TracepointLink> {
    let all = mechanism.attachments();
    if *mechanism != Mechanism::OpenExit {
        return all;
    }
    all.into_iter()
        .filter(|link| tracefs::syscall_event_exists(&link.name))
        .collect()
}

fn address_key(entry: &AddressEntry) -> Key<AddressMatch> {
    let data = AddressMatch {
        filter: entry.filter,
        address: entry.address,
    };
    Key::new(32 + entry.bits, data)
}

fn string_key(entry: &StringEntry) -> Key<StringMatch> {
    let mut data = StringMatch {
        filter: entry.filter,
        data: [0; MATCH_LEN],
    };
    data.data[..entry.bytes.len()].copy_from_slice(&entry.bytes);
    Key::new((32 + 8 * entry.bytes.len()) as u32, data)
}
