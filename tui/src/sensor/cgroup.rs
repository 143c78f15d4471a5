//! The cgroup v2 hierarchy: where it is mounted (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified`
//! on hybrid hosts) and the cgroup id of a process, which is the inode of its cgroup directory
//! (what `bpf_get_current_cgroup_id()` returns).
use std::{
    fs,
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

/// The first cgroup2 mount in /proc/mounts.
pub fn v2_root() -> Option<PathBuf> {
    let mounts = fs::read_to_string("/proc/mounts").ok()?;
    mounts.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let (_, dir, kind) = (fields.next()?, fields.next()?, fields.next()?);
        (kind == "cgroup2").then(|| PathBuf::from(dir))
    })
}

/// The cgroup id of the process whose /proc directory is `proc_dir`, 0 where unreadable.
pub fn process_cgroup_id(v2_root: &Path, proc_dir: &Path) -> u64 {
    let Ok(text) = fs::read_to_string(proc_dir.join("cgroup")) else {
        return 0;
    };
    text.lines()
        .find_map(|line| line.strip_prefix("0::"))
        .and_then(|path| fs::metadata(v2_root.join(path.trim_start_matches('/'))).ok())
        .map_or(0, |meta| meta.ino())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_in_a_cgroup_of_the_v2_root() {
        let Some(root) = v2_root() else {
            return; // no cgroup2 mount on this host
        };
        assert_ne!(process_cgroup_id(&root, Path::new("/proc/self")), 0);
    }
}
