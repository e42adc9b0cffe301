//! One TLS request of a case: a new connection with the request's SNI, ALPN offer and client
//! certificate; what the handshake showed ([`TlsSeen`]); then the request over HTTP/2 when
//! ALPN agreed on `h2`, else HTTP/1.1.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use rustls::pki_types::ServerName;

use super::tls_case::RequestTls;
use crate::client::{self, Reply};

/// What the TLS connection of one request showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSeen {
    /// Why the connection was refused (a failed handshake, or — TLS 1.3 refuses a client
    /// certificate after the client's side of the handshake is done — a TLS alert or a closed
    /// connection instead of a response); `None`: accepted.
    pub refused: Option<String>,
    /// The protocol ALPN agreed on.
    pub alpn: Option<String>,
    /// `TLSv1.2`, `TLSv1.3`.
    pub version: Option<String>,
    /// The leaf the server presented (DER).
    pub certificate: Option<Vec<u8>>,
}

/// What one request over TLS got: the handshake, and the response unless refused.
#[derive(Debug, Clone)]
pub struct TlsAnswer {
    /// The handshake.
    pub tls: TlsSeen,
    /// The response.
    pub reply: Option<Reply>,
}

/// Connects to `addr` as `request` says and sends the request `build` makes (given whether
/// the connection speaks HTTP/2); 10 s limit.
pub async fn exchange(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    request: &RequestTls,
    build: impl FnOnce(bool) -> anyhow::Result<http::Request<Full<Bytes>>>,
) -> anyhow::Result<TlsAnswer> {
    tokio::time::timeout(Duration::from_secs(10), exchange_inner(addr, config, request, build))
        .await
        .context("TLS request timed out after 10s")?
}

async fn exchange_inner(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    request: &RequestTls,
    build: impl FnOnce(bool) -> anyhow::Result<http::Request<Full<Bytes>>>,
) -> anyhow::Result<TlsAnswer> {
    // Without an SNI the name is the address, which rustls never sends as SNI.
    let name = match &request.sni {
        Some(sni) => ServerName::try_from(sni.clone()).with_context(|| format!("SNI {sni:?}"))?,
        None => ServerName::IpAddress(addr.ip().into()),
    };
    let tcp = tokio::net::TcpStream::connect(addr).await.with_context(|| format!("connect {addr}"))?;
    let stream = match tokio_rustls::TlsConnector::from(config).connect(name, tcp).await {
        Ok(stream) => stream,
        Err(e) => {
            let refused = TlsSeen { refused: Some(format!("handshake: {e}")), ..TlsSeen::default() };
            return Ok(TlsAnswer { tls: refused, reply: None });
        }
    };
    let (_, conn) = stream.get_ref();
    let mut tls = TlsSeen {
        refused: None,
        alpn: conn.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned()),
        version: conn.protocol_version().map(version_name),
        certificate: conn.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec()),
    };
    let http2 = tls.alpn.as_deref() == Some("h2");
    match client::send_over(stream, build(http2)?, http2).await {
        Ok(reply) => Ok(TlsAnswer { tls, reply: Some(reply) }),
        Err(e) => match refusal(&e) {
            Some(reason) => {
                tls.refused = Some(reason);
                Ok(TlsAnswer { tls, reply: None })
            }
            None => Err(e),
        },
    }
}

/// `TLSv1.3` as Envoy's `connection.tls_version` writes it.
fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        other => format!("{other:?}"),
    }
}

/// A request that failed because the server refused the connection after the handshake: a
/// TLS alert, or the connection reset or closed before any response.
fn refusal(error: &anyhow::Error) -> Option<String> {
    for cause in error.chain() {
        let io = cause.downcast_ref::<std::io::Error>();
        if let Some(tls) = io.and_then(|e| e.get_ref()).and_then(|e| e.downcast_ref::<rustls::Error>()) {
            return Some(format!("after the handshake: {tls}"));
        }
        if let Some(io) = io
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            )
        {
            return Some(format!("after the handshake: {io}"));
        }
        if let Some(hyper) = cause.downcast_ref::<hyper::Error>()
            && (hyper.is_incomplete_message() || hyper.is_closed())
        {
            return Some(format!("after the handshake: {hyper}"));
        }
    }
    None
}
