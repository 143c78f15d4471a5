//! `--kube`: the UI on every agent of a cluster, found through the Kubernetes API.
use std::path::PathBuf;

use clap::Args;

use crate::kube::connect::ClusterArgs;

#[derive(Args, Debug, Default, Clone)]
pub struct ClusterViewArgs {
    /// Watch every tetrascope agent of the cluster (the DaemonSet of deploy/kubernetes), each
    /// reached by port-forward; nodes that come and go are followed
    #[arg(long, conflicts_with = "agents")]
    pub kube: bool,
    /// The kubeconfig (default: $KUBECONFIG, ~/.kube/config)
    #[arg(long, value_name = "FILE", requires = "kube")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: its current one)
    #[arg(long, value_name = "NAME", requires = "kube")]
    pub context: Option<String>,
    /// The namespace of the agents' DaemonSet
    #[arg(
        long,
        value_name = "NS",
        default_value = "tetrascope",
        requires = "kube"
    )]
    pub agents_namespace: String,
}

impl ClusterViewArgs {
    pub fn cluster(&self) -> ClusterArgs {
        ClusterArgs {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
        }
    }
}
