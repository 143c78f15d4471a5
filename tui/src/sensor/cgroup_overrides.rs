//! The cgroup programs that serve `Override` (see the probes' `policy/overrides.rs`): attached
//! at the root of the cgroup v2 tree when the first policy with an Override loads, so that they
//! run in the connect, bind and socket calls of every process, and left attached (a map lookup
//! per such call) for the rest of the run.
use anyhow::{Context, Result, anyhow};
use aya::{
    Ebpf,
    programs::{CgroupAttachMode, CgroupSock, CgroupSockAddr, Program},
};

use super::cgroup;

const SOCK_ADDR_PROGRAMS: [&str; 4] = [
    "policy_override_connect4",
    "policy_override_connect6",
    "policy_override_bind4",
    "policy_override_bind6",
];
const SOCK_CREATE_PROGRAM: &str = "policy_override_socket";

/// Whether the programs are attached (the programs own their links: they stay until the
/// probes are dropped).
#[derive(Default)]
pub(super) struct CgroupOverrides {
    attached: bool,
}

impl CgroupOverrides {
    /// Loads and attaches the programs, once.
    pub(super) fn ensure(&mut self, ebpf: &mut Ebpf) -> Result<()> {
        if self.attached {
            return Ok(());
        }
        let root = cgroup::v2_root().ok_or_else(|| {
            anyhow!("Override needs the cgroup v2 hierarchy, and it is not mounted")
        })?;
        let root = std::fs::File::open(&root)
            .with_context(|| format!("opening the cgroup v2 root {}", root.display()))?;
        for name in SOCK_ADDR_PROGRAMS {
            let program: &mut CgroupSockAddr = program(ebpf, name)?.try_into()?;
            program
                .load()
                .with_context(|| format!("verifying {name}"))?;
            // A BPF link takes no flags (`Single`): links always sit beside other programs.
            program
                .attach(&root, CgroupAttachMode::Single)
                .with_context(|| format!("attaching {name} at the cgroup v2 root"))?;
        }
        let program: &mut CgroupSock = program(ebpf, SOCK_CREATE_PROGRAM)?.try_into()?;
        program
            .load()
            .with_context(|| format!("verifying {SOCK_CREATE_PROGRAM}"))?;
        program
            .attach(&root, CgroupAttachMode::Single)
            .with_context(|| format!("attaching {SOCK_CREATE_PROGRAM} at the cgroup v2 root"))?;
        self.attached = true;
        Ok(())
    }
}

fn program<'a>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut Program> {
    ebpf.program_mut(name)
        .ok_or_else(|| anyhow!("program {name} missing from the probes object"))
}
