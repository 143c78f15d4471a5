//! Which container a cgroup id belongs to, and the cgroup id of a container: both from a walk of
//! the cgroup v2 tree, where each container has a directory named after its id. The walk runs
//! again only when an id is asked for that the last walk did not see.
use std::{
    collections::HashMap,
    fs,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
    sync::Arc,
};

use super::cgroup_path;

/// A full container id (64 hex digits), shared by the index and the pod cache.
pub type ContainerId = Arc<str>;

pub struct CgroupIndex {
    root: PathBuf,
    /// Every cgroup id asked for or walked past: its container, None for the host's cgroups.
    by_cgroup: HashMap<u64, Option<ContainerId>>,
    by_container: HashMap<ContainerId, u64>,
    walks: u64,
}

impl CgroupIndex {
    /// An index of the cgroup v2 tree mounted at `root`.
    pub fn new(root: PathBuf) -> Self {
        let mut index = Self {
            root,
            by_cgroup: HashMap::new(),
            by_container: HashMap::new(),
            walks: 0,
        };
        index.walk();
        index
    }

    /// The container of cgroup `id`; None for cgroups outside containers (remembered, so a host
    /// process costs one hash lookup).
    pub fn container_of(&mut self, id: u64) -> Option<ContainerId> {
        if id == 0 {
            return None;
        }
        if let Some(known) = self.by_cgroup.get(&id) {
            return known.clone();
        }
        self.walk();
        self.by_cgroup.entry(id).or_insert(None).clone()
    }

    /// The cgroup ids of the containers `ids` (64 hex digits each) whose directories exist;
    /// one walk at most, when some are not known.
    pub fn cgroups_of(&mut self, ids: &[&str]) -> Vec<u64> {
        if ids.iter().any(|id| !self.by_container.contains_key(*id)) {
            self.walk();
        }
        ids.iter()
            .filter_map(|id| self.by_container.get(*id).copied())
            .collect()
    }

    /// Container directories found by the last walk.
    pub fn containers(&self) -> usize {
        self.by_container.len()
    }

    /// How many times the tree was walked (for the benchmark and tests).
    pub fn walks(&self) -> u64 {
        self.walks
    }

    fn walk(&mut self) {
        self.walks += 1;
        // Containers that went away take their directories with them.
        self.by_container.clear();
        self.by_cgroup.retain(|_, container| container.is_none());
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.filter_map(Result::ok) {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    let path = entry.path();
                    self.note(&path);
                    stack.push(path);
                }
            }
        }
    }

    fn note(&mut self, dir: &Path) {
        let Some(relative) = dir.strip_prefix(&self.root).ok().and_then(Path::to_str) else {
            return;
        };
        let Some(id) = cgroup_path::container_id(relative) else {
            return;
        };
        let Ok(meta) = fs::metadata(dir) else {
            return;
        };
        let id: ContainerId = self
            .by_container
            .get_key_value(id)
            .map_or_else(|| id.into(), |(known, _)| known.clone());
        self.by_cgroup.insert(meta.ino(), Some(id.clone()));
        // The container's own directory, not one nested in it.
        self.by_container.entry(id).or_insert(meta.ino());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn finds_container_directories_both_ways() {
        let root = std::env::temp_dir().join(format!("cgroup-index-{}", std::process::id()));
        let scope = root.join(format!("kubepods.slice/cri-containerd-{ID}.scope"));
        fs::create_dir_all(&scope).unwrap();
        let mut index = CgroupIndex::new(root.clone());
        let inode = fs::metadata(&scope).unwrap().ino();
        assert_eq!(index.cgroups_of(&[ID, &ID.replace('0', "f")]), [inode]);
        assert_eq!(index.container_of(inode).as_deref(), Some(ID));
        let host = fs::metadata(root.join("kubepods.slice")).unwrap().ino();
        assert_eq!(index.container_of(host), None);
        let walks = index.walks();
        assert_eq!(index.container_of(host), None);
        assert_eq!(index.walks(), walks, "host cgroups are remembered");
        fs::remove_dir_all(&root).unwrap();
    }
}
