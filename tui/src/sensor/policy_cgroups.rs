//! The cgroup filters of policies in the kernel: which cgroups a namespaced or pod-selecting
//! policy applies to (`POLICY_CGROUPS`), mirrored here to update and remove them.
use std::collections::HashMap as StdHashMap;

use anyhow::{Context, Result};
use aya::maps::{HashMap, MapData};
use tetrascope_shared::policy::PolicyCgroup;

pub(super) struct PolicyCgroups {
    map: HashMap<MapData, PolicyCgroup, u8>,
    /// The cgroup ids listed for each filtered policy slot; an unfiltered slot is absent.
    by_slot: StdHashMap<u32, Vec<u64>>,
}

impl PolicyCgroups {
    pub(super) fn new(map: HashMap<MapData, PolicyCgroup, u8>) -> Self {
        PolicyCgroups {
            map,
            by_slot: StdHashMap::new(),
        }
    }

    pub(super) fn is_filtered(&self, slot: u32) -> bool {
        self.by_slot.contains_key(&slot)
    }

    /// Makes `cgroups` the slot's set: new ids are added before old ones go, so that a task of
    /// a cgroup in both sets is never missed. On error the old set stays.
    pub(super) fn set(&mut self, slot: u32, cgroups: &[u64]) -> Result<()> {
        let old = self.by_slot.get(&slot).cloned().unwrap_or_default();
        let mut added = Vec::new();
        for &cgroup in cgroups.iter().filter(|c| !old.contains(c)) {
            if let Err(error) = self.map.insert(key(slot, cgroup), 1, 0) {
                for cgroup in added {
                    let _ = self.map.remove(&key(slot, cgroup));
                }
                return Err(error).context("adding a cgroup to a policy's filter");
            }
            added.push(cgroup);
        }
        for cgroup in old.iter().filter(|c| !cgroups.contains(c)) {
            let _ = self.map.remove(&key(slot, *cgroup));
        }
        let mut ids = cgroups.to_vec();
        ids.sort_unstable();
        ids.dedup();
        self.by_slot.insert(slot, ids);
        Ok(())
    }

    /// Forgets the slot's filter (its state must not say "filtered" any more).
    pub(super) fn clear(&mut self, slot: u32) {
        for cgroup in self.by_slot.remove(&slot).unwrap_or_default() {
            let _ = self.map.remove(&key(slot, cgroup));
        }
    }
}

fn key(policy: u32, cgroup: u64) -> PolicyCgroup {
    PolicyCgroup {
        policy,
        _pad: 0,
        cgroup,
    }
}
