//! `--kube`, `--kubeconfig`, `--context`: the cluster of the live commands, for pod metadata.
use std::path::PathBuf;

use clap::Args;

use crate::kube::{connect::ClusterArgs, pods::PodMetadata};

#[derive(Args, Clone, Debug, Default)]
pub struct KubeArgs {
    /// Use the Kubernetes cluster: the live commands add the pods of container processes to
    /// their events (this node's pods, --node-name); the UI watches every agent of the cluster
    #[arg(long)]
    pub kube: bool,
    /// The kubeconfig for --kube (default: $KUBECONFIG, ~/.kube/config, else in-cluster)
    #[arg(long, value_name = "FILE", requires = "kube")]
    pub kubeconfig: Option<PathBuf>,
    /// A context of the kubeconfig (default: its current context)
    #[arg(long, value_name = "NAME", requires = "kube")]
    pub context: Option<String>,
}

impl KubeArgs {
    /// Where to find the cluster, with `--kube`.
    pub fn cluster(&self) -> Option<ClusterArgs> {
        self.kube.then(|| ClusterArgs {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
        })
    }

    /// The pod metadata of `node`, with `--kube`; None without it, or, after one message on
    /// stderr, when it cannot be had (the local view goes on without pod fields).
    pub async fn pod_metadata(&self, node: &str, stderr: bool) -> Option<PodMetadata> {
        let cluster = self.cluster()?;
        match PodMetadata::start(&cluster, node, stderr).await {
            Ok(pods) => Some(pods),
            Err(e) => {
                eprintln!("tetrascope: --kube: {e:#}; events go out without pod fields");
                None
            }
        }
    }
}
