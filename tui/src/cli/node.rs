//! The node name that goes into events and exec_ids.
use std::fs;

/// `--node-name`, else `NODE_NAME` (as Tetragon reads it in Kubernetes), else the host name.
pub fn node_name(flag: Option<String>) -> String {
    flag.or_else(|| std::env::var("NODE_NAME").ok().filter(|n| !n.is_empty()))
        .or_else(|| {
            fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_default()
}
