//! A kubelet stand-in for port-forwards through a real API server (../shared/kube-testing.md):
//! it serves `/portForward/{namespace}/{pod}` over TLS with the `v4.channel.k8s.io` WebSocket
//! protocol and joins the forwarded port to 127.0.0.1:`target`.
use std::{net::TcpListener as StdListener, path::Path, sync::Arc, thread};

use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tokio_tungstenite::tungstenite::{
    Message,
    handshake::server::{Request, Response},
    http::HeaderValue,
};

const PROTOCOL: &str = "v4.channel.k8s.io";

pub struct Kubelet {
    pub port: u16,
}

impl Kubelet {
    /// Serves on 127.0.0.1 (a free port) with `cert`/`key` (PEM), for as long as the test runs.
    pub fn start(cert: &Path, key: &Path, target: u16) -> Kubelet {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_file(key).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = StdListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        let forwarded = match acceptor.accept(tcp).await {
                            Ok(tls) => forward(tls, target).await,
                            Err(e) => Err(e.into()),
                        };
                        if let Err(e) = forwarded {
                            eprintln!("kubelet stand-in: {e}");
                        }
                    });
                }
            });
        });
        Kubelet { port }
    }
}

/// One port-forward: the WebSocket upgrade, the ports' first frames (their numbers), then
/// bytes both ways on the data channel (0) of the first port.
async fn forward(
    tls: tokio_rustls::server::TlsStream<TcpStream>,
    target: u16,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut port = 0u16;
    // The callback's type, with its large error, is tungstenite's.
    #[allow(clippy::result_large_err)]
    let choose = |request: &Request, mut response: Response| {
        if let Some(query) = request.uri().query() {
            port = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("port=").or(kv.strip_prefix("ports=")))
                .and_then(|p| p.split(',').next()?.parse().ok())
                .unwrap_or(0);
        }
        response
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(PROTOCOL));
        Ok(response)
    };
    let socket = tokio_tungstenite::accept_hdr_async(tls, choose).await?;
    let (mut to_client, mut from_client) = socket.split();
    let number = port.to_le_bytes();
    // The data channel and the error channel of port 0 each start with the port number.
    for channel in [0u8, 1] {
        let frame = vec![channel, number[0], number[1]];
        to_client.send(Message::binary(frame)).await?;
    }
    let target = TcpStream::connect(("127.0.0.1", target)).await?;
    let (mut read_target, mut write_target) = target.into_split();
    let upstream = async {
        while let Some(message) = from_client.next().await {
            match message? {
                Message::Binary(data) if data.first() == Some(&0) => {
                    write_target.write_all(&data[1..]).await?
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    };
    let downstream = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = read_target.read(&mut buf[1..]).await?;
            if n == 0 {
                break;
            }
            buf[0] = 0;
            to_client.send(Message::binary(buf[..=n].to_vec())).await?;
        }
        to_client.close().await?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    };
    tokio::select! {
        done = upstream => done,
        done = downstream => done,
    }
}
