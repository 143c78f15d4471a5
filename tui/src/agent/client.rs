//! Connecting to an agent (ours or Tetragon's): over a unix socket, TCP with or without TLS, or
//! a port-forward to an agent's pod through the Kubernetes API server.
use anyhow::{Context, Result};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::Pod;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

use super::{
    address::Address, proto::fine_guidance_sensors_client::FineGuidanceSensorsClient,
    tls::ClientTls,
};

pub type Client = FineGuidanceSensorsClient<Channel>;

/// tetra's `--max-recv-size` default: a process-cache dump or a long stream message fits.
const MAX_MESSAGE: usize = 10 << 20;

/// How to reach agents: TLS for TCP and pod addresses (none: plain), and the cluster for pods.
#[derive(Clone, Default)]
pub struct Dialer {
    pub tls: Option<ClientTls>,
    pub kube: Option<kube::Client>,
}

impl Dialer {
    pub async fn connect(&self, address: &Address) -> Result<Client> {
        let channel = match address {
            Address::Unix(path) => {
                let path = path.clone();
                // The URI is a placeholder: the connector ignores it.
                Endpoint::from_static("http://agent.local")
                    .connect_with_connector(tower::service_fn(move |_: Uri| {
                        let path = path.clone();
                        async move {
                            Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?))
                        }
                    }))
                    .await
            }
            Address::Tcp(host_port) => {
                let host = host_port
                    .rsplit_once(':')
                    .map_or(host_port.as_str(), |(h, _)| h)
                    .trim_matches(['[', ']']);
                self.endpoint(host_port, host)?.connect().await
            }
            Address::Pod {
                namespace,
                name,
                port,
            } => {
                let kube = self
                    .kube
                    .clone()
                    .context("a pod address needs the cluster (--kube)")?;
                let pods: kube::Api<Pod> = kube::Api::namespaced(kube, namespace);
                let (name, port) = (name.clone(), *port);
                self.endpoint(&format!("{name}:{port}"), &name)?
                    .connect_with_connector(tower::service_fn(move |_: Uri| {
                        let (pods, name) = (pods.clone(), name.clone());
                        async move { forward(&pods, &name, port).await.map(TokioIo::new) }
                    }))
                    .await
            }
        }
        .with_context(|| format!("connecting to the agent at {address}"))?;
        Ok(Client::new(channel).max_decoding_message_size(MAX_MESSAGE))
    }

    /// An endpoint for `authority`, with TLS (checked against `host` unless a name is given).
    fn endpoint(&self, authority: &str, host: &str) -> Result<Endpoint> {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{authority}"))?;
        if let Some(tls) = &self.tls {
            endpoint = endpoint.tls_config(tls.config(host))?;
        }
        Ok(endpoint)
    }
}

/// A byte stream to `port` of pod `name`, through the API server.
async fn forward(
    pods: &kube::Api<Pod>,
    name: &str,
    port: u16,
) -> std::io::Result<impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + use<>> {
    let mut forwarder = pods
        .portforward(name, &[port])
        .await
        .map_err(std::io::Error::other)?;
    let stream = forwarder
        .take_stream(port)
        .ok_or_else(|| std::io::Error::other("the port-forward has no stream"))?;
    // The forwarder's task carries the bytes; it ends with the stream.
    tokio::spawn(async move {
        let _ = forwarder.join().await;
    });
    Ok(stream)
}
