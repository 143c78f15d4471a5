//! The local source: the sensor's records through the process model, as Tetragon events, and
//! each second the syscall statistics and the changed file-access rows as tetrascope's own.
mod file_log;
mod pod_enricher;
mod slot_book;

use std::{
    collections::BTreeMap,
    path::Path,
    sync::OnceLock,
    time::{Duration, Instant},
};

pub use pod_enricher::{POD_WAIT, PodCounters, PodEnricher};

use anyhow::Result;

use crate::{
    event::{Event, Process},
    kube::pods::PodMetadata,
    model::{BootClock, ModelStats, ProcessTable},
    policy::{
        hit_event,
        model::{Mode, TracingPolicy},
        resolve::KernelFeatures,
        store::{PolicyEntry, PolicySource, PolicyStore},
        user_actions::UserActions,
    },
    sensor::{
        FileAccess, PolicyHit, ProcessImage, Sensor, SensorOptions, SensorRecord, StartupReport,
        procfs, tracefs,
    },
};

/// How often statistics and file-access rows go out.
pub const TICK: Duration = Duration::from_secs(1);

/// Loss and health counters of a local source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalCounters {
    /// Records the kernel could not put in the ring buffer.
    pub kernel_lost: u64,
    /// Records that could not be decoded.
    pub malformed: u64,
    pub model: ModelStats,
    /// File records the kernel left out to keep room for process and policy records.
    pub file_records_dropped: u64,
    /// File-access rows dropped from the source's table to stay within its capacity (a row
    /// seen again starts over).
    pub file_rows_evicted: u64,
    /// Events of container processes with and without their pods (all 0 without `--kube`).
    pub pods: PodCounters,
}

pub struct LocalSource {
    node_name: String,
    sensor: Sensor,
    table: ProcessTable,
    policies: PolicyStore,
    records: Vec<SensorRecord>,
    clock: BootClock,
    slots: slot_book::SlotBook,
    files: file_log::FileLog,
    /// Boot-clock time of the last tick.
    last_tick: u64,
    /// Pod metadata for container processes, with `--kube`.
    pods: Option<PodEnricher>,
    /// The worker of GetUrl and DnsLookup, started by the first hit that asks for one.
    user_actions: OnceLock<UserActions>,
}

impl LocalSource {
    /// Attaches the probes first and walks /proc after, so that no process falls in between;
    /// records of processes the walk also found are reconciled by the model.
    pub fn start(
        node_name: String,
        options: SensorOptions,
    ) -> Result<(Self, StartupReport, usize)> {
        Self::start_with_pods(node_name, options, None)
    }

    /// [`Self::start`], with the pods of container processes in their events.
    pub fn start_with_pods(
        node_name: String,
        options: SensorOptions,
        pods: Option<PodMetadata>,
    ) -> Result<(Self, StartupReport, usize)> {
        let (mut sensor, report) = Sensor::start(options)?;
        let proc_root = Path::new("/proc");
        let host_ns = procfs::host_namespaces(proc_root);
        let clock = BootClock::now();
        let mut table = ProcessTable::new(node_name.clone(), clock, host_ns);
        let mut running = procfs::snapshot(proc_root);
        if let Some(pods) = &pods {
            for image in &mut running {
                image.docker = pods.docker_of(image.cgroup_id);
            }
        }
        let seeded = running.len();
        sensor.seed_processes(&running);
        table.seed(running);
        let features = KernelFeatures::probe(std::path::Path::new(tracefs::TRACEFS));
        let source = Self {
            node_name,
            sensor,
            table,
            policies: PolicyStore::new(features, host_ns),
            records: Vec::new(),
            clock,
            slots: slot_book::SlotBook::new(),
            files: file_log::FileLog::new(),
            last_tick: BootClock::ktime_now(),
            pods: pods.map(|pods| PodEnricher::new(pods, POD_WAIT)),
            user_actions: OnceLock::new(),
        };
        Ok((source, report, seeded))
    }

    /// Waits for the next batch of records and appends the events they make to `out`, and the
    /// statistics when a tick is due.
    pub async fn next_batch(&mut self, out: &mut Vec<Event>) -> Result<()> {
        let from = out.len();
        self.sensor.next_batch(&mut self.records).await?;
        self.apply(out);
        if BootClock::ktime_now().saturating_sub(self.last_tick) >= TICK.as_nanos() as u64 {
            self.tick(out);
        }
        if let Some(pods) = &mut self.pods {
            pods.enrich(out, from, Instant::now());
            if pods.pods_changed() {
                self.refresh_workload_cgroups(None);
            }
        }
        Ok(())
    }

    /// Takes whatever is waiting, without blocking, and the statistics up to now (the last
    /// drain before stopping).
    pub fn drain(&mut self, out: &mut Vec<Event>) {
        let from = out.len();
        self.sensor.drain(&mut self.records);
        self.apply(out);
        self.tick(out);
        if let Some(pods) = &mut self.pods {
            pods.enrich(out, from, Instant::now());
            pods.flush(out);
        }
    }

    fn apply(&mut self, out: &mut Vec<Event>) {
        let mut records = std::mem::take(&mut self.records);
        for mut record in records.drain(..) {
            if let (Some(pods), SensorRecord::Exec(image)) = (&self.pods, &mut record) {
                image.docker = pods.pods().docker_of(image.cgroup_id);
            }
            match record {
                SensorRecord::Hit(hit) => out.extend(self.hit_event(&hit)),
                SensorRecord::Slot { pid, slot, .. } => {
                    let process = slim(self.table.current(pid), pid);
                    self.slots.assigned(pid, slot, process);
                }
                SensorRecord::File(call) => out.extend(self.file_call(&call)),
                other => {
                    // The pid's image ends: an exec replaces it, an exit ends it, and a new
                    // process with its pid means its exit was lost.
                    if let SensorRecord::Exec(ProcessImage { pid, .. })
                    | SensorRecord::Exit { pid, .. }
                    | SensorRecord::Clone { pid, .. } = &other
                    {
                        self.slots.image_ended(*pid, &mut self.sensor);
                    }
                    out.extend(self.table.apply(other));
                }
            }
        }
        // Keep the buffer's capacity for the next batch.
        self.records = records;
    }

    /// Adds a file call to the file-access rows; a successful open is an `fd_install` event.
    fn file_call(&mut self, call: &FileAccess) -> Option<Event> {
        let current = self.table.current(call.pid);
        let exec_id = current.map_or("", |p| p.exec_id.as_str());
        let process = || slim(current, call.pid);
        self.files
            .record(exec_id, process, call, self.clock.wall(call.ktime));
        call.opened_fd()?;
        Some(
            self.table
                .process_event(call.ktime, call.pid, call.tid, |process, parent| {
                    file_log::fd_install(call, process, parent)
                }),
        )
    }

    /// The syscall statistics and the changed file-access rows since the last tick, all at the
    /// tick's time.
    fn tick(&mut self, out: &mut Vec<Event>) {
        let now = BootClock::ktime_now();
        let interval = now.saturating_sub(self.last_tick);
        self.last_tick = now;
        let time = Some(self.clock.wall(now));
        let mut bodies = self.slots.tick(&self.sensor, interval);
        bodies.extend(self.files.tick());
        out.extend(bodies.into_iter().map(|body| Event {
            body,
            node_name: self.node_name.clone(),
            time,
            aggregation_info: None,
            cluster_name: String::new(),
            node_labels: BTreeMap::new(),
        }));
    }

    /// Attaches or detaches the syscall counter (it costs on every syscall of every process).
    pub fn set_syscall_counting(&mut self, on: bool) -> Result<()> {
        self.sensor.set_syscall_counting(on)
    }

    pub fn syscall_counting(&self) -> bool {
        self.sensor.syscall_counting()
    }

    /// The counting program's total run time and runs, while `kernel.bpf_stats_enabled` is 1.
    pub fn syscall_counter_runs(&self) -> Option<(Duration, u64)> {
        self.sensor.syscall_counter_runs()
    }

    /// Attaches or detaches the file-access programs.
    pub fn set_file_tracking(&mut self, on: bool) -> Result<()> {
        self.sensor.set_file_tracking(on)
    }

    pub fn file_tracking(&self) -> bool {
        self.sensor.file_tracking()
    }

    /// The event of a posted policy hit.
    fn hit_event(&self, hit: &PolicyHit) -> Option<Event> {
        use tetrascope_shared::policy::outcome;
        if hit.outcome & outcome::POSTED == 0 {
            return None;
        }
        let meta = self.policies.hook_meta(hit.hook)?;
        for action in hit_event::selector_user_actions(meta, hit) {
            self.user_actions
                .get_or_init(UserActions::start)
                .queue(action);
        }
        Some(
            self.table
                .process_event(hit.ktime, hit.pid, hit.tid, |process, parent| {
                    hit_event::hit_body(meta, hit, process, parent)
                }),
        )
    }

    pub fn policies(&self) -> &PolicyStore {
        &self.policies
    }

    /// Adds a policy and loads it into the probes (see [`PolicyStore::add`]).
    pub fn add_policy(
        &mut self,
        policy: TracingPolicy,
        source: PolicySource,
        mode: Option<Mode>,
    ) -> Result<&PolicyEntry, String> {
        let name = policy.name.clone();
        self.policies
            .add(policy, source, mode, Some(&mut self.sensor))?;
        self.refresh_workload_cgroups(Some(&name));
        Ok(self.policies.get(&name).expect("just added"))
    }

    /// Gives the workload-selecting policies (`name`, or all) the cgroups of the pods they
    /// select now; without pod metadata they keep applying to no process.
    fn refresh_workload_cgroups(&mut self, name: Option<&str>) {
        let Some(pods) = self.pods.as_ref().map(PodEnricher::pods) else {
            return;
        };
        let changes: Vec<(String, Vec<u64>)> = self
            .policies
            .entries()
            .iter()
            .filter(|e| e.policy.selects_workloads() && name.is_none_or(|n| n == e.name()))
            .filter_map(|e| {
                let cgroups = pods.policy_cgroups(&e.policy);
                (e.cgroups.as_ref() != Some(&cgroups)).then(|| (e.name().to_owned(), cgroups))
            })
            .collect();
        for (name, cgroups) in changes {
            if let Err(why) = self.set_policy_cgroups(&name, Some(cgroups)) {
                eprintln!("tetrascope: {name}: its pods' cgroups not applied: {why}");
            }
        }
    }

    pub fn set_policy_enabled(&mut self, name: &str, enabled: bool) -> Result<(), String> {
        self.policies
            .set_enabled(name, enabled, Some(&mut self.sensor))
    }

    pub fn set_policy_mode(&mut self, name: &str, mode: Mode) -> Result<(), String> {
        self.policies.set_mode(name, mode, Some(&mut self.sensor))
    }

    /// Restricts a policy to the tasks of these cgroups (see [`PolicyStore::set_cgroup_filter`]).
    pub fn set_policy_cgroups(
        &mut self,
        name: &str,
        cgroups: Option<Vec<u64>>,
    ) -> Result<(), String> {
        self.policies
            .set_cgroup_filter(name, cgroups, Some(&mut self.sensor))
    }

    pub fn disarm_all(&mut self) -> usize {
        self.policies.disarm_all(Some(&mut self.sensor))
    }

    pub fn remove_policy(&mut self, name: &str) -> Result<PolicyEntry, String> {
        self.policies.remove(name, Some(&mut self.sensor))
    }

    /// Reads the probes' per-policy counters into the store.
    pub fn refresh_policy_counters(&mut self) {
        self.policies.refresh_counters(&self.sensor);
    }

    /// The pod metadata in use, with `--kube` (for namespaced policies' cgroup ids).
    pub fn pod_metadata(&self) -> Option<&PodMetadata> {
        self.pods.as_ref().map(PodEnricher::pods)
    }

    /// The node name in this source's events.
    pub fn node_name(&self) -> &str {
        &self.node_name
    }

    pub fn counters(&self) -> LocalCounters {
        LocalCounters {
            kernel_lost: self.sensor.lost(),
            malformed: self.sensor.malformed(),
            model: self.table.stats(),
            file_records_dropped: self.sensor.file_records_dropped(),
            file_rows_evicted: self.files.evicted(),
            pods: self
                .pods
                .as_ref()
                .map(PodEnricher::counters)
                .unwrap_or_default(),
        }
    }
}

/// A process image as tetrascope's own events name it: its ids, binary, uid and pod (only the
/// pid when the process table does not know it).
fn slim(process: Option<&Process>, pid: u32) -> Process {
    match process {
        Some(p) => Process {
            exec_id: p.exec_id.clone(),
            pid: p.pid,
            uid: p.uid,
            binary: p.binary.clone(),
            pod: p.pod.clone(),
            docker: p.docker.clone(),
            ..Process::default()
        },
        None => Process {
            pid: Some(pid),
            ..Process::default()
        },
    }
}
