//! Connecting to an agent (ours or Tetragon's) over a unix socket or TCP, with or without TLS.
use anyhow::{Context, Result};
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

use super::{
    address::Address, proto::fine_guidance_sensors_client::FineGuidanceSensorsClient,
    tls::ClientTls,
};

pub type Client = FineGuidanceSensorsClient<Channel>;

/// tetra's `--max-recv-size` default: a process-cache dump or a long stream message fits.
const MAX_MESSAGE: usize = 10 << 20;

/// Connects; `tls` applies to TCP addresses only (a unix socket is local and root-only).
pub async fn connect(address: &Address, tls: Option<&ClientTls>) -> Result<Client> {
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
            let scheme = if tls.is_some() { "https" } else { "http" };
            let mut endpoint = Endpoint::from_shared(format!("{scheme}://{host_port}"))?;
            if let Some(tls) = tls {
                let host = host_port
                    .rsplit_once(':')
                    .map_or(host_port.as_str(), |(h, _)| h)
                    .trim_matches(['[', ']']);
                endpoint = endpoint.tls_config(tls.config(host)?)?;
            }
            endpoint.connect().await
        }
    }
    .with_context(|| format!("connecting to the agent at {address}"))?;
    Ok(Client::new(channel).max_decoding_message_size(MAX_MESSAGE))
}
