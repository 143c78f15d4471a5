//! `--agent ADDR` and the client TLS flags (tetra's names), shared by the UI and `getevents`.
use std::path::PathBuf;

use clap::Args;

use crate::agent::{address::Address, tls::ClientTls};

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
    /// TLS settings when a CA is given; plain connections otherwise.
    pub fn tls(&self) -> Option<ClientTls> {
        self.tls_ca_cert_file.as_ref().map(|ca| ClientTls {
            ca: Some(ca.clone()),
            cert: self.tls_cert_file.clone(),
            key: self.tls_key_file.clone(),
            server_name: self.tls_server_name.clone(),
        })
    }
}
