//! How the UI uses `--kube`: by default it watches every tetrascope agent of the cluster;
//! `--this-node` watches this host's probes instead, with the pods of the cluster.
use clap::Args;

#[derive(Args, Debug, Default, Clone)]
pub struct ClusterViewArgs {
    /// With --kube: this host's probes, events named with the cluster's pods, rather than
    /// every agent of the cluster
    #[arg(long, requires = "kube")]
    pub this_node: bool,
    /// With --kube: the namespace of the agents' DaemonSet (deploy/kubernetes)
    #[arg(long, value_name = "NS", default_value = "tetrascope")]
    pub agents_namespace: String,
}
