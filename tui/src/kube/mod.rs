//! Kubernetes: the cluster's TracingPolicy objects, pod metadata for events, and the agents of a
//! DaemonSet viewed from one terminal.
pub mod agents;
pub mod cgroup_index;
pub mod cgroup_path;
pub mod connect;
pub mod pods;
pub mod policy_object;
pub mod policy_watch;
#[cfg(test)]
mod test_server;

use kube::runtime::watcher;

/// Whether a watch failed because its resourceVersion is too old (410 Gone, after the server
/// compacted its history): kube's watcher lists again by itself, so that is routine, not a
/// failure to report.
fn expired(error: &watcher::Error) -> bool {
    matches!(error, watcher::Error::WatchError(status) if status.code == 410)
}
