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

#[derive(Clone, Debug, Default)]
pub struct ClientTls {
    /// CA that signed the agent's certificate.
    pub ca: Option<PathBuf>,
    /// Our certificate and key, for agents that ask for one.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// The name to check the agent's certificate against (default: the address's host).
    pub server_name: Option<String>,
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
    pub fn config(&self, host: &str) -> Result<ClientTlsConfig> {
        let ca = self
            .ca
            .as_ref()
            .context("TLS needs the CA of the agent's certificate (--tls-ca-cert-file)")?;
        let mut config = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read(ca, "CA certificate")?))
            .domain_name(self.server_name.clone().unwrap_or_else(|| host.to_owned()));
        if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
            config = config.identity(Identity::from_pem(
                read(cert, "client certificate")?,
                read(key, "client key")?,
            ));
        }
        Ok(config)
    }
}
