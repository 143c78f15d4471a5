//! Agent addresses as Tetragon writes them: `unix:///var/run/tetragon/tetragon.sock` or
//! `host:port`; and `pod://NAMESPACE/POD:PORT`, an agent's pod reached by port-forward.
use std::{fmt, path::PathBuf, str::FromStr};

/// Where `tetrascope agent` listens unless told otherwise: root-only, on this host.
pub const DEFAULT_SOCKET: &str = "/var/run/tetrascope/tetrascope.sock";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    Unix(PathBuf),
    /// `host:port`; the host may be a name, an IPv4 address or a bracketed IPv6 address.
    Tcp(String),
    /// A port of a pod, through the Kubernetes API server.
    Pod {
        namespace: String,
        name: String,
        port: u16,
    },
}

impl Address {
    pub fn default_socket() -> Self {
        Address::Unix(PathBuf::from(DEFAULT_SOCKET))
    }
}

impl FromStr for Address {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if let Some(pod) = text.strip_prefix("pod://") {
            let parsed = pod.split_once('/').and_then(|(namespace, rest)| {
                let (name, port) = rest.rsplit_once(':')?;
                let port = port.parse().ok()?;
                (!namespace.is_empty() && !name.is_empty()).then(|| Address::Pod {
                    namespace: namespace.into(),
                    name: name.into(),
                    port,
                })
            });
            return parsed.ok_or_else(|| format!("{text:?}: expected pod://NAMESPACE/POD:PORT"));
        }
        if let Some(path) = text.strip_prefix("unix://").or(text.strip_prefix("unix:")) {
            if path.is_empty() {
                return Err(format!("{text:?}: the unix socket path is empty"));
            }
            return Ok(Address::Unix(PathBuf::from(path)));
        }
        let port = text
            .rsplit_once(':')
            .map(|(host, port)| (host, port.parse::<u16>()));
        match port {
            Some((host, Ok(_))) if !host.is_empty() => Ok(Address::Tcp(text.to_owned())),
            _ => Err(format!(
                "{text:?}: expected unix:///path/to/socket or host:port (e.g. localhost:54321)"
            )),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Unix(path) => write!(f, "unix://{}", path.display()),
            Address::Tcp(host_port) => f.write_str(host_port),
            Address::Pod {
                namespace,
                name,
                port,
            } => write!(f, "pod://{namespace}/{name}:{port}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tetragons_spellings() {
        let sock: Address = "unix:///var/run/tetragon/tetragon.sock".parse().unwrap();
        assert_eq!(
            sock,
            Address::Unix("/var/run/tetragon/tetragon.sock".into())
        );
        assert_eq!(sock.to_string(), "unix:///var/run/tetragon/tetragon.sock");
        assert_eq!(
            "unix:relative.sock".parse::<Address>(),
            Ok(Address::Unix("relative.sock".into()))
        );
        assert_eq!(
            "localhost:54321".parse::<Address>(),
            Ok(Address::Tcp("localhost:54321".into()))
        );
        assert_eq!(
            "[::1]:54321".parse::<Address>(),
            Ok(Address::Tcp("[::1]:54321".into()))
        );
        let pod: Address = "pod://tetrascope/agent-x7k2:54321".parse().unwrap();
        assert_eq!(pod.to_string(), "pod://tetrascope/agent-x7k2:54321");
        for bad in [
            "localhost",
            ":54321",
            "host:port",
            "unix://",
            "host:99999",
            "pod://agent:1",
            "pod://ns/agent",
        ] {
            assert!(bad.parse::<Address>().is_err(), "{bad}");
        }
    }
}
