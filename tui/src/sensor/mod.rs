//! The local sensor: loads the eBPF probes, attaches them and reads their ring buffer.
mod btf_offsets;
pub mod cgroup;
mod cgroup_overrides;
mod cookie_link;
mod file_access;
mod file_calls;
mod image;
mod policy_cgroups;
mod policy_maps;
pub mod procfs;
mod records;
mod syscall_counter;
pub mod tracefs;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use aya::{
    Ebpf, EbpfLoader,
    maps::{MapData, PerCpuArray, RingBuf},
    programs::TracePoint,
};
use tokio::io::unix::AsyncFd;

pub use file_access::{FileAccess, FileOp, Resolved};
pub use image::{ProcessImage, ProcessOrigin};
pub use policy_maps::LoadedPolicy;
pub use records::{DecodeError, PolicyHit, SensorRecord, decode};

/// The probes object, built by tui/build.rs.
#[cfg(feature = "probes")]
static PROBES: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tetrascope-probes"));
#[cfg(not(feature = "probes"))]
static PROBES: &[u8] = &[];

/// The programs attached at start, and their tracepoints: the process lifecycle, and what
/// policy selectors need to know of each process.
const TRACEPOINTS: [(&str, &str, &str); 6] = [
    ("sched_process_exec", "sched", "sched_process_exec"),
    ("task_newtask", "task", "task_newtask"),
    ("sched_process_exit", "sched", "sched_process_exit"),
    ("policy_exec", "sched", "sched_process_exec"),
    ("policy_fork", "task", "task_newtask"),
    ("policy_exit", "sched", "sched_process_exit"),
];

/// Policy programs: verified at start, attached to tracepoints as policies need them.
const POLICY_PROGRAMS: [&str; 8] = [
    "policy_tracepoint",
    "policy_sys_enter",
    "policy_sys_exit",
    "policy_open_exit",
    "policy_dup_enter",
    "policy_fcntl_enter",
    "policy_dup_exit",
    "policy_override_exit",
];

/// The reader also drains on this interval: the probes wake it only once 256 KiB wait, so that
/// a quiet system still sees its events promptly.
pub const DRAIN_INTERVAL: Duration = Duration::from_millis(50);

/// Records read in one batch at most (by size): a sixteenth of the ring, the backlog at which
/// the probes start leaving file records out.
const BATCH_BYTES: usize = tetrascope_shared::RING_BYTES as usize / 16;

/// What the sensor watches besides the process lifecycle and policies. Both cost on every
/// syscall of every process while on (counting: the program itself; either: the kernel's
/// syscall tracing path), and both can be switched at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SensorOptions {
    /// Count every syscall by process image, syscall and ABI.
    pub syscalls: bool,
    /// Record the open family, truncate, unlink and rename with their paths.
    pub files: bool,
}

impl Default for SensorOptions {
    fn default() -> Self {
        Self {
            syscalls: true,
            files: true,
        }
    }
}

/// What start-up did and how long it took.
#[derive(Clone, Debug)]
pub struct StartupReport {
    pub tracefs_mounted: bool,
    pub btf: Duration,
    pub load: Duration,
    pub attach: Duration,
    pub total: Duration,
}

impl std::fmt::Display for StartupReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        write!(
            f,
            "probes attached in {:.1} ms (BTF offsets {:.1} ms, load and verify {:.1} ms, attach {:.1} ms)",
            ms(self.total),
            ms(self.btf),
            ms(self.load),
            ms(self.attach)
        )
    }
}

pub struct Sensor {
    // Owns the programs: dropping it detaches them.
    ebpf: Ebpf,
    policies: policy_maps::PolicyMaps,
    counter: syscall_counter::SyscallCounter,
    files: file_calls::FileTracking,
    ring: AsyncFd<RingBuf<MapData>>,
    lost: PerCpuArray<MapData, u64>,
    malformed: u64,
    /// The last batch stopped at `BATCH_BYTES` with records still waiting.
    behind: bool,
}

impl Sensor {
    /// Mounts tracefs if needed, resolves offsets, loads and attaches the probes. Needs root.
    pub fn start(options: SensorOptions) -> Result<(Self, StartupReport)> {
        if PROBES.is_empty() {
            return Err(anyhow!(
                "this tetrascope was built without its probes (feature `probes` off or AYA_BUILD_SKIP set)"
            ));
        }
        let started = Instant::now();
        let tracefs_mounted = tracefs::ensure_mounted()?;
        let offsets = btf_offsets::resolve(btf_offsets::VMLINUX_BTF)?;
        let fields = tracefs::tracepoint_fields()?;
        let btf = started.elapsed();

        let own_tgid = std::process::id();
        let sizes = syscall_counter::CounterSizes::for_this_machine();
        let mut loader = EbpfLoader::new();
        loader
            .override_global("OFFSETS", &offsets, true)
            .override_global("TP_FIELDS", &fields, true)
            .override_global("TETRASCOPE_TGID", &own_tgid, true);
        sizes.apply(&mut loader);
        let mut ebpf = loader
            .load(PROBES)
            .context("loading the probes (are you root?)")?;
        let loaded = started.elapsed();
        for name in POLICY_PROGRAMS {
            tracepoint_program(&mut ebpf, name)?
                .load()
                .with_context(|| format!("verifying {name}"))?;
        }
        policy_maps::load_probe_programs(&mut ebpf)?;
        for (name, category, event) in TRACEPOINTS {
            let program = tracepoint_program(&mut ebpf, name)?;
            program
                .load()
                .with_context(|| format!("verifying {name}"))?;
            program
                .attach(category, event)
                .with_context(|| format!("attaching {name} to {category}:{event}"))?;
        }
        let mut counter = syscall_counter::SyscallCounter::take(&mut ebpf, sizes)?;
        counter.set_attached(&mut ebpf, options.syscalls)?;
        let mut files = file_calls::FileTracking::take(&mut ebpf)?;
        files.set_attached(&mut ebpf, options.files)?;
        let attached = started.elapsed();
        let mut policies = policy_maps::PolicyMaps::take(&mut ebpf)?;
        policies.protect(1)?;
        policies.protect(std::process::id())?;

        let ring = RingBuf::try_from(ebpf.take_map("EVENTS").context("map EVENTS")?)?;
        // SAFETY: the ring buffer owns its fd for as long as the AsyncFd holds it.
        let ring = unsafe { AsyncFd::register(ring) }.map_err(|e| {
            anyhow!(
                "registering the ring buffer with tokio: {}",
                e.into_parts().1
            )
        })?;
        let lost = PerCpuArray::try_from(ebpf.take_map("LOST").context("map LOST")?)?;
        let report = StartupReport {
            tracefs_mounted,
            btf,
            load: loaded - btf,
            attach: attached - loaded,
            total: attached,
        };
        let sensor = Self {
            ebpf,
            policies,
            counter,
            files,
            ring,
            lost,
            malformed: 0,
            behind: false,
        };
        Ok((sensor, report))
    }

    /// Tells the probes the binaries of processes that exec'd before they were attached.
    pub fn seed_processes(&mut self, images: &[ProcessImage]) {
        for image in images {
            let ns_pid = if image.ns_pid != 0 {
                image.ns_pid
            } else {
                image.pid
            };
            let caps = procfs::capabilities(image.pid);
            self.policies
                .seed_process(image.pid, ns_pid, &image.binary, &image.ns, caps);
        }
    }

    /// Loads a compiled policy into the probes (enabled or not, in a mode, restricted to
    /// `cgroups` or not: see [`Sensor::set_policy_cgroups`]); undone by
    /// [`Sensor::unload_policy`].
    pub fn load_policy(
        &mut self,
        compiled: &crate::policy::compile::CompiledPolicy,
        enabled: bool,
        mode: crate::policy::model::Mode,
        cgroups: Option<&[u64]>,
    ) -> Result<LoadedPolicy> {
        self.policies
            .load(&mut self.ebpf, compiled, enabled, mode, cgroups)
    }

    pub fn unload_policy(&mut self, loaded: LoadedPolicy) {
        self.policies.unload(&mut self.ebpf, loaded);
    }

    /// Switches a loaded policy on or off, or between enforce and monitor: one map write.
    pub fn set_policy_state(
        &mut self,
        loaded: &LoadedPolicy,
        enabled: bool,
        mode: crate::policy::model::Mode,
    ) -> Result<()> {
        self.policies.set_state(loaded.slot, enabled, mode)
    }

    /// Restricts a loaded policy to the tasks of `cgroups` (cgroup v2 ids; empty: no task), or
    /// lets it apply to every task again (None).
    pub fn set_policy_cgroups(
        &mut self,
        loaded: &LoadedPolicy,
        cgroups: Option<&[u64]>,
    ) -> Result<()> {
        self.policies.set_cgroups(loaded.slot, cgroups)
    }

    /// Hits, posts, signals, would-be signals and spared targets of a loaded policy.
    pub fn policy_counters(
        &self,
        loaded: &LoadedPolicy,
    ) -> [u64; tetrascope_shared::policy::counter::COUNT] {
        self.policies.counters(loaded.slot)
    }

    /// Attaches or detaches the syscall counter.
    pub fn set_syscall_counting(&mut self, on: bool) -> Result<()> {
        self.counter.set_attached(&mut self.ebpf, on)
    }

    pub fn syscall_counting(&self) -> bool {
        self.counter.attached()
    }

    /// Attaches or detaches the file-access programs.
    pub fn set_file_tracking(&mut self, on: bool) -> Result<()> {
        self.files.set_attached(&mut self.ebpf, on)
    }

    pub fn file_tracking(&self) -> bool {
        self.files.attached()
    }

    /// The counting program's total run time and runs (kept by the kernel while
    /// `kernel.bpf_stats_enabled` is 1): what it costs inside, without its dispatch.
    pub fn syscall_counter_runs(&self) -> Option<(Duration, u64)> {
        self.counter.run_stats(&self.ebpf)
    }

    /// A counter slot's counted counters: (row index, count summed over CPUs modulo 2^32).
    pub fn syscall_row(&self, slot: u32) -> Result<Vec<(usize, u32)>> {
        self.counter.row(slot)
    }

    /// Hands back to the probes a counter slot whose image ended and whose last counts were
    /// read.
    pub fn recycle_slot(&mut self, slot: u32) -> Result<()> {
        self.counter.recycle(slot)
    }

    /// Waits until the probes signal data or `DRAIN_INTERVAL` passes (not at all when the last
    /// batch left records waiting), then takes a batch of records.
    pub async fn next_batch(&mut self, out: &mut Vec<SensorRecord>) -> Result<()> {
        if !self.behind
            && let Ok(guard) = tokio::time::timeout(DRAIN_INTERVAL, self.ring.readable_mut()).await
        {
            guard?.clear_ready();
        }
        self.behind = self.take_batch(out);
        Ok(())
    }

    /// Reads every record waiting in the ring, without blocking.
    pub fn drain(&mut self, out: &mut Vec<SensorRecord>) {
        while self.take_batch(out) {}
    }

    /// Reads up to `BATCH_BYTES` of records; true when it stopped there with more waiting.
    /// What is not read yet stays in the ring's backlog, where the probes see it: under a flood
    /// they leave file records out, rather than userspace piling them up ahead of process
    /// records.
    fn take_batch(&mut self, out: &mut Vec<SensorRecord>) -> bool {
        let ring = self.ring.get_mut();
        let mut bytes = 0;
        while bytes < BATCH_BYTES {
            let Some(item) = ring.next() else {
                return false;
            };
            bytes += item.len();
            match decode(&item) {
                Ok(record) => out.push(record),
                Err(_) => self.malformed += 1,
            }
        }
        true
    }

    /// Records the probes could not reserve because the ring was full, summed over CPUs.
    pub fn lost(&self) -> u64 {
        self.lost
            .get(&0, 0)
            .map(|per_cpu| per_cpu.iter().sum())
            .unwrap_or(0)
    }

    /// File records the probes left out to keep room in the ring for process and policy
    /// records (a flood of opens).
    pub fn file_records_dropped(&self) -> u64 {
        self.files.dropped()
    }

    /// Records the reader could not decode.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }
}

fn tracepoint_program<'a>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut TracePoint> {
    Ok(ebpf
        .program_mut(name)
        .ok_or_else(|| anyhow!("program {name} missing from the probes object"))?
        .try_into()?)
}
