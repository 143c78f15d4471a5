//! Kubernetes: the cluster's TracingPolicy objects, pod metadata for events, and the agents of a
//! DaemonSet viewed from one terminal.
pub mod agents;
pub mod cgroup_index;
pub mod cgroup_path;
pub mod connect;
pub mod pods;
pub mod policy_edit;
pub mod policy_object;
pub mod policy_watch;
#[cfg(test)]
mod test_server;
mod watch_signals;

use watch_signals::{expired, signalling_watches};
