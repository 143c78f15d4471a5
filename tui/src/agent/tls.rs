//! TLS for TCP listeners and connections, from PEM files (Tetragon's `--server-tls-*` flags on
//! the agent, `--tls-*` on the client).
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

#[derive(Clone, Debug, Default)]
pub struct ServerTls {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// CAs whose client certificates are accepted.
    pub client_cas: Vec<PathBuf>,
    /// Refuse clients without a certificate signed by one of `client_cas`.
    pub require_client_cert: bool,
}

/// TLS to agents, read once: the CA (PEM) of their certificates and our identity if any.
#[derive(Clone, Debug)]
pub struct ClientTls {
    ca: Vec<u8>,
    /// Our certificate and key (PEM), for agents that ask for one.
    identity: Option<(Vec<u8>, Vec<u8>)>,
    /// The name to check the agent's certificate against (default: the address's host).
    server_name: Option<String>,
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading the {what} {}", path.display()))
}

impl ServerTls {
    pub fn config(&self) -> Result<ServerTlsConfig> {
        let identity = Identity::from_pem(
            read(&self.cert, "server certificate")?,
            read(&self.key, "server key")?,
        );
        let mut config = ServerTlsConfig::new().identity(identity);
        if !self.client_cas.is_empty() {
            let mut pem = Vec::new();
            for ca in &self.client_cas {
                pem.extend(read(ca, "client CA")?);
                pem.push(b'\n');
            }
            config = config
                .client_ca_root(Certificate::from_pem(pem))
                .client_auth_optional(!self.require_client_cert);
        }
        Ok(config)
    }
}

impl ClientTls {
    /// From PEM files (tetra's `--tls-ca-cert-file`, `--tls-cert-file`, `--tls-key-file`).
    pub fn from_files(
        ca: &Path,
        identity: Option<(&Path, &Path)>,
        server_name: Option<String>,
    ) -> Result<Self> {
        let identity = match identity {
            Some((cert, key)) => {
                Some((read(cert, "client certificate")?, read(key, "client key")?))
            }
            None => None,
        };
        Ok(ClientTls {
            ca: read(ca, "CA certificate")?,
            identity,
            server_name,
        })
    }

    /// From a CA certificate in memory (e.g. from the cluster's Secret).
    pub fn from_ca_pem(ca: Vec<u8>, server_name: Option<String>) -> Self {
        ClientTls {
            ca,
            identity: None,
            server_name,
        }
    }

    pub fn config(&self, host: &str) -> ClientTlsConfig {
        let mut config = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&self.ca))
            .domain_name(self.server_name.clone().unwrap_or_else(|| host.to_owned()));
        if let Some((cert, key)) = &self.identity {
            config = config.identity(Identity::from_pem(cert, key));
        }
        config
    }
}
