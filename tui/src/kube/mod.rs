//! Kubernetes: the cluster's TracingPolicy objects, pod metadata for events, and the agents of a
//! DaemonSet viewed from one terminal.
pub mod agents;
pub mod connect;
pub mod policy_object;
pub mod policy_watch;
