//! The file-access programs: the syscalls they serve, how each one's arguments read, and their
//! attachment to those syscalls' tracepoints (switched at run time).
use anyhow::{Context, Result, anyhow};
use aya::{
    Ebpf,
    maps::{Array, MapData, PerCpuArray},
    programs::trace_point::TracePointLinkId,
};
use tetrascope_shared::files::{FileCall, NO_ARG, flags_from, op};

use super::{tracefs, tracepoint_program as program};
use crate::event::syscalls::{native_abi, syscall_number};

const ENTER: &str = "file_enter";
const EXIT: &str = "file_exit";

/// The calls served, by name, with the arguments their names, dirfds and open flags are in.
/// Those a kernel lacks (`open`, `creat`, `unlink`, `rename`… on arm64) are left out.
fn file_calls() -> [(&'static str, FileCall); 10] {
    let call = |op, names: [u8; 2], dirfds: [u8; 2]| FileCall {
        op,
        name_arg: names,
        dirfd_arg: dirfds,
        ..FileCall::default()
    };
    let open = |names, dirfds, from, arg| FileCall {
        flags_from: from,
        flags_arg: arg,
        ..call(op::OPEN, names, dirfds)
    };
    let rename = call(op::RENAME, [1, 3], [0, 2]);
    [
        ("open", open([0, NO_ARG], [NO_ARG; 2], flags_from::ARG, 1)),
        ("openat", open([1, NO_ARG], [0, NO_ARG], flags_from::ARG, 2)),
        (
            "openat2",
            open([1, NO_ARG], [0, NO_ARG], flags_from::OPEN_HOW, 2),
        ),
        (
            "creat",
            FileCall {
                fixed_flags: (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u32,
                ..call(op::OPEN, [0, NO_ARG], [NO_ARG; 2])
            },
        ),
        ("truncate", call(op::TRUNCATE, [0, NO_ARG], [NO_ARG; 2])),
        ("unlink", call(op::UNLINK, [0, NO_ARG], [NO_ARG; 2])),
        ("unlinkat", call(op::UNLINK, [1, NO_ARG], [0, NO_ARG])),
        ("rename", call(op::RENAME, [0, 1], [NO_ARG; 2])),
        ("renameat", rename),
        ("renameat2", rename),
    ]
}

pub(super) struct FileTracking {
    /// The calls this kernel has.
    served: Vec<&'static str>,
    links: Vec<(&'static str, TracePointLinkId)>,
    dropped: PerCpuArray<MapData, u64>,
}

impl FileTracking {
    /// Fills the probes' call table and verifies the programs.
    pub(super) fn take(ebpf: &mut Ebpf) -> Result<Self> {
        let mut map = |name: &str| {
            ebpf.take_map(name)
                .ok_or_else(|| anyhow!("map {name} missing from the probes object"))
        };
        let mut table: Array<MapData, FileCall> = Array::try_from(map("FILE_CALLS")?)?;
        let dropped = PerCpuArray::try_from(map("FILE_DROPPED")?)?;
        let mut served = Vec::new();
        for (name, call) in file_calls() {
            let Some(nr) = syscall_number(native_abi(), name) else {
                continue;
            };
            if !tracefs::syscall_event_exists(&format!("sys_enter_{name}")) {
                continue;
            }
            table
                .set(nr, call, 0)
                .with_context(|| format!("describing {name} to the probes"))?;
            served.push(name);
        }
        for name in [ENTER, EXIT] {
            program(ebpf, name)?
                .load()
                .with_context(|| format!("verifying {name}"))?;
        }
        Ok(Self {
            served,
            links: Vec::new(),
            dropped,
        })
    }

    /// File records the probes left out because the ring was more than half full.
    pub(super) fn dropped(&self) -> u64 {
        self.dropped
            .get(&0, 0)
            .map(|per_cpu| per_cpu.iter().sum())
            .unwrap_or(0)
    }

    pub(super) fn attached(&self) -> bool {
        !self.links.is_empty()
    }

    /// Attaches both programs to every served call's tracepoints, or detaches them all.
    pub(super) fn set_attached(&mut self, ebpf: &mut Ebpf, on: bool) -> Result<()> {
        if on == self.attached() {
            return Ok(());
        }
        if !on {
            for (name, link) in self.links.drain(..) {
                program(ebpf, name)?.detach(link)?;
            }
            return Ok(());
        }
        for call in &self.served {
            for (name, tracepoint) in [
                (ENTER, format!("sys_enter_{call}")),
                (EXIT, format!("sys_exit_{call}")),
            ] {
                tracefs::check_syscall_layout(&tracepoint)?;
                let link = program(ebpf, name)?
                    .attach("syscalls", &tracepoint)
                    .with_context(|| format!("attaching {name} to syscalls:{tracepoint}"))?;
                self.links.push((name, link));
            }
        }
        Ok(())
    }
}
