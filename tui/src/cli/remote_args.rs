//! `--agent ADDR` and the client TLS flags (tetra's names), shared by the UI and `getevents`.
use std::path::PathBuf;

use clap::Args;

use anyhow::Result;

use crate::agent::{address::Address, client::Dialer, tls::ClientTls};

#[derive(Args, Debug, Default, Clone)]
pub struct RemoteArgs {
    /// Watch the agent at ADDR (unix:///path or host:port; repeatable) instead of this host's
    /// probes: a tetrascope agent or a Tetragon agent
    #[arg(long = "agent", value_name = "ADDR")]
    pub agents: Vec<Address>,
    /// CA certificate (PEM) of the agents' TLS certificates; TCP connections use TLS with it
    #[arg(long, value_name = "FILE", requires = "agents")]
    pub tls_ca_cert_file: Option<PathBuf>,
    /// Client certificate (PEM), for agents that require one
    #[arg(long, value_name = "FILE", requires_all = ["tls_key_file", "tls_ca_cert_file"])]
    pub tls_cert_file: Option<PathBuf>,
    /// Client key (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_cert_file")]
    pub tls_key_file: Option<PathBuf>,
    /// Name to check the agents' certificates against (default: the host of ADDR)
    #[arg(long, value_name = "NAME", requires = "tls_ca_cert_file")]
    pub tls_server_name: Option<String>,
}

impl RemoteArgs {
    /// How to reach the agents: TLS when a CA is given, plain connections otherwise.
    pub fn dialer(&self) -> Result<Dialer> {
        let tls = match &self.tls_ca_cert_file {
            Some(ca) => Some(ClientTls::from_files(
                ca,
                self.tls_cert_file
                    .as_deref()
                    .zip(self.tls_key_file.as_deref()),
                self.tls_server_name.clone(),
            )?),
            None => None,
        };
        Ok(Dialer { tls, kube: None })
    }
}
