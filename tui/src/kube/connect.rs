//! A client for the cluster, from a kubeconfig (`--kubeconfig`, `$KUBECONFIG`, `~/.kube/config`)
//! or the in-cluster service account, with errors that say what to do.
use std::path::Path;

use anyhow::{Context, Result};
use kube::{
    Client, Config,
    config::{KubeConfigOptions, Kubeconfig},
};

/// Where to find the cluster.
#[derive(Clone, Debug, Default)]
pub struct ClusterArgs {
    /// A kubeconfig file; None: `$KUBECONFIG`, `~/.kube/config`, else in-cluster.
    pub kubeconfig: Option<std::path::PathBuf>,
    /// A context of the kubeconfig; None: its current context.
    pub context: Option<String>,
}

/// Connects (lazily: the first request reaches the server).
pub async fn client(args: &ClusterArgs) -> Result<Client> {
    let config = config(args).await?;
    Client::try_from(config).context("setting up the Kubernetes client")
}

async fn config(args: &ClusterArgs) -> Result<Config> {
    let options = KubeConfigOptions {
        context: args.context.clone(),
        ..KubeConfigOptions::default()
    };
    match &args.kubeconfig {
        Some(path) => from_file(path, &options).await,
        None if args.context.is_some() => {
            let kubeconfig = Kubeconfig::read().context(
                "no kubeconfig to take --context from (set KUBECONFIG or pass --kubeconfig)",
            )?;
            Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .context("reading the kubeconfig")
        }
        None => Config::infer().await.context(
            "no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG, or run in a pod",
        ),
    }
}

async fn from_file(path: &Path, options: &KubeConfigOptions) -> Result<Config> {
    let kubeconfig = Kubeconfig::read_from(path)
        .with_context(|| format!("reading the kubeconfig {}", path.display()))?;
    Config::from_custom_kubeconfig(kubeconfig, options)
        .await
        .with_context(|| format!("using the kubeconfig {}", path.display()))
}
