//! The policy store: every policy tetrascope knows, where it came from, whether it runs here,
//! its state and mode, and its counters. The CLI, the UI and the agent all change policies
//! through it; with a sensor it drives the probes, without one (a replay) it only describes.
use std::{collections::HashMap, path::PathBuf};

use tetrascope_shared::{NS_RECORD_SLOTS, policy::counter};

use super::{
    compile::{Compiler, HookMeta},
    model::{ActionKind, Mode, TracingPolicy},
    resolve::{KernelFeatures, ResolvedHook, resolve},
};
use crate::sensor::{LoadedPolicy, Sensor};

/// Where a policy came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicySource {
    File(PathBuf),
    /// Added through the gRPC API.
    Api,
    /// A TracingPolicy object of the cluster.
    Cluster,
}

impl std::fmt::Display for PolicySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicySource::File(path) => write!(f, "file {}", path.display()),
            PolicySource::Api => write!(f, "api"),
            PolicySource::Cluster => write!(f, "cluster"),
        }
    }
}

/// Whether a policy runs, as Tetragon's `TracingPolicyState` sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PolicyStatus {
    Enabled,
    Disabled,
    /// Some hook or selector cannot be served on this kernel (the reasons are in `problems`).
    Unsupported,
    /// The kernel refused it (the error is in `problems`).
    LoadError,
    /// No sensor: a replay shows policies without running them.
    #[default]
    NotLoaded,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PolicyCounters {
    pub hits: u64,
    pub posts: u64,
    /// Signals sent (kills, for Sigkill).
    pub signals: u64,
    /// Signals monitor mode held back.
    pub would_signals: u64,
    /// Signals not sent because the target is protected (PID 1, tetrascope).
    pub spared: u64,
    /// Posts a `rateLimit` held back.
    pub rate_limited: u64,
    /// Calls failed by `Override`, and those monitor mode let through.
    pub overrides: u64,
    pub would_overrides: u64,
}

pub struct PolicyEntry {
    pub policy: TracingPolicy,
    pub source: PolicySource,
    pub hooks: Vec<ResolvedHook>,
    pub status: PolicyStatus,
    pub mode: Mode,
    /// Why it does not run here, field by field.
    pub problems: Vec<String>,
    pub counters: PolicyCounters,
    /// The cgroups (v2 ids) it is restricted to; None: every task. A namespaced or
    /// pod-selecting policy starts with none (it applies to no task) until the pods it selects
    /// are known ([`PolicyStore::set_cgroup_filter`]).
    pub cgroups: Option<Vec<u64>>,
    loaded: Option<LoadedPolicy>,
}

impl PolicyEntry {
    pub fn name(&self) -> &str {
        &self.policy.name
    }

    /// The enforcement actions it takes (the enforce confirmation names them).
    pub fn enforcement_actions(&self) -> Vec<ActionKind> {
        self.policy.enforcement_actions()
    }
}

pub struct PolicyStore {
    features: KernelFeatures,
    host_namespaces: [u32; NS_RECORD_SLOTS],
    next_filter: u32,
    entries: Vec<PolicyEntry>,
    /// Loaded hooks by id: what their events need.
    hooks: HashMap<u32, HookMeta>,
}

impl PolicyStore {
    pub fn new(features: KernelFeatures, host_namespaces: [u32; NS_RECORD_SLOTS]) -> Self {
        PolicyStore {
            features,
            host_namespaces,
            next_filter: 1,
            entries: Vec::new(),
            hooks: HashMap::new(),
        }
    }

    pub fn entries(&self) -> &[PolicyEntry] {
        &self.entries
    }

    pub fn get(&self, name: &str) -> Option<&PolicyEntry> {
        self.entries.iter().find(|e| e.policy.name == name)
    }

    pub fn hook_meta(&self, hook: u32) -> Option<&HookMeta> {
        self.hooks.get(&hook)
    }

    /// Adds a policy, enabled, in the mode its YAML asks for (enforce by default) unless `mode`
    /// says otherwise. A name already in the store is refused; a policy that cannot run here is
    /// kept with its problems and touches nothing in the kernel.
    pub fn add(
        &mut self,
        policy: TracingPolicy,
        source: PolicySource,
        mode: Option<Mode>,
        sensor: Option<&mut Sensor>,
    ) -> Result<&PolicyEntry, String> {
        if self.get(&policy.name).is_some() {
            return Err(format!(
                "a policy named {:?} is loaded already",
                policy.name
            ));
        }
        let hooks = resolve(&policy, &self.features);
        let mode = mode.or(policy.spec.mode).unwrap_or_default();
        let mut compiler = Compiler {
            host_namespaces: &self.host_namespaces,
            next_filter: &mut self.next_filter,
        };
        let cgroups = policy.selects_workloads().then(Vec::new);
        let mut entry = PolicyEntry {
            policy,
            source,
            hooks,
            status: PolicyStatus::NotLoaded,
            mode,
            problems: Vec::new(),
            counters: PolicyCounters::default(),
            cgroups,
            loaded: None,
        };
        match compiler.compile(&entry.policy, &entry.hooks) {
            Err(problems) => {
                entry.status = PolicyStatus::Unsupported;
                entry.problems = problems;
            }
            Ok(compiled) => {
                if let Some(sensor) = sensor {
                    match sensor.load_policy(&compiled, true, mode, entry.cgroups.as_deref()) {
                        Ok(loaded) => {
                            for (id, hook) in loaded.hook_ids.iter().zip(&compiled.hooks) {
                                self.hooks.insert(*id, hook.meta.clone());
                            }
                            entry.loaded = Some(loaded);
                            entry.status = PolicyStatus::Enabled;
                        }
                        Err(error) => {
                            entry.status = PolicyStatus::LoadError;
                            entry.problems = vec![format!("{error:#}")];
                        }
                    }
                }
            }
        }
        self.entries.push(entry);
        Ok(self.entries.last().expect("just pushed"))
    }

    /// Enables or disables a loaded policy: one map write, no reload.
    pub fn set_enabled(
        &mut self,
        name: &str,
        enabled: bool,
        sensor: Option<&mut Sensor>,
    ) -> Result<(), String> {
        let entry = self.entry_mut(name)?;
        let mode = entry.mode;
        Self::apply_state(entry, enabled, mode, sensor)
    }

    /// Switches between enforce and monitor.
    pub fn set_mode(
        &mut self,
        name: &str,
        mode: Mode,
        sensor: Option<&mut Sensor>,
    ) -> Result<(), String> {
        let entry = self.entry_mut(name)?;
        let enabled = entry.status == PolicyStatus::Enabled;
        Self::apply_state(entry, enabled, mode, sensor)
    }

    /// Restricts a policy to the tasks of `cgroups` (cgroup v2 ids; empty: no task), or lets it
    /// apply to every task (None): one set of map writes, no reload.
    pub fn set_cgroup_filter(
        &mut self,
        name: &str,
        cgroups: Option<Vec<u64>>,
        sensor: Option<&mut Sensor>,
    ) -> Result<(), String> {
        let entry = self.entry_mut(name)?;
        if let (Some(loaded), Some(sensor)) = (&entry.loaded, sensor) {
            sensor
                .set_policy_cgroups(loaded, cgroups.as_deref())
                .map_err(|e| format!("{e:#}"))?;
        }
        entry.cgroups = cgroups;
        Ok(())
    }

    /// Switches every policy to monitor ("disarm all"); returns how many changed.
    pub fn disarm_all(&mut self, mut sensor: Option<&mut Sensor>) -> usize {
        let mut changed = 0;
        for entry in &mut self.entries {
            if entry.mode == Mode::Enforce {
                let enabled = entry.status == PolicyStatus::Enabled;
                if Self::apply_state(entry, enabled, Mode::Monitor, sensor.as_deref_mut()).is_ok() {
                    changed += 1;
                }
            }
        }
        changed
    }

    /// Unloads and forgets a policy.
    pub fn remove(
        &mut self,
        name: &str,
        sensor: Option<&mut Sensor>,
    ) -> Result<PolicyEntry, String> {
        let index = self
            .entries
            .iter()
            .position(|e| e.policy.name == name)
            .ok_or_else(|| format!("no policy named {name:?}"))?;
        let mut entry = self.entries.remove(index);
        if let Some(loaded) = entry.loaded.take() {
            for id in &loaded.hook_ids {
                self.hooks.remove(id);
            }
            if let Some(sensor) = sensor {
                sensor.unload_policy(loaded);
            }
        }
        Ok(entry)
    }

    /// Reads the probes' counters of every loaded policy.
    pub fn refresh_counters(&mut self, sensor: &Sensor) {
        for entry in &mut self.entries {
            if let Some(loaded) = &entry.loaded {
                let c = sensor.policy_counters(loaded);
                entry.counters = PolicyCounters {
                    hits: c[counter::HITS],
                    posts: c[counter::POSTS],
                    signals: c[counter::SIGNALS],
                    would_signals: c[counter::WOULD_SIGNALS],
                    spared: c[counter::SPARED],
                    rate_limited: c[counter::RATE_LIMITED],
                    overrides: c[counter::OVERRIDES],
                    would_overrides: c[counter::WOULD_OVERRIDES],
                };
            }
        }
    }

    fn entry_mut(&mut self, name: &str) -> Result<&mut PolicyEntry, String> {
        self.entries
            .iter_mut()
            .find(|e| e.policy.name == name)
            .ok_or_else(|| format!("no policy named {name:?}"))
    }

    fn apply_state(
        entry: &mut PolicyEntry,
        enabled: bool,
        mode: Mode,
        sensor: Option<&mut Sensor>,
    ) -> Result<(), String> {
        match (&entry.loaded, sensor) {
            (Some(loaded), Some(sensor)) => sensor
                .set_policy_state(loaded, enabled, mode)
                .map_err(|e| format!("{e:#}"))?,
            _ if matches!(
                entry.status,
                PolicyStatus::Unsupported | PolicyStatus::LoadError
            ) =>
            {
                return Err(format!(
                    "policy {:?} does not run here: {}",
                    entry.policy.name,
                    entry.problems.join("; ")
                ));
            }
            // Without a sensor (a replay) the store only describes.
            _ => {}
        }
        if entry.status != PolicyStatus::NotLoaded {
            entry.status = if enabled {
                PolicyStatus::Enabled
            } else {
                PolicyStatus::Disabled
            };
        }
        entry.mode = mode;
        Ok(())
    }
}
