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
use super::tls_recorder::{Recording, Verdict};
use crate::client::{self, Reply};

/// How long a request expected to be refused waits for the server's verdict before it is
/// written (the refusal takes a round trip on loopback; an accepted HTTP/1.1 connection waits
/// it all).
const VERDICT_WAIT: Duration = Duration::from_secs(2);

/// What the TLS connection of one request showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSeen {
    /// Why the connection was refused (a failed handshake, or — TLS 1.3 refuses a client
    /// certificate after the client's side of the handshake is done — a TLS alert or a closed
    /// connection instead of a response); `None`: accepted.
    pub refused: Option<String>,
    /// The TLS alert the server refused the connection with (`CertificateRequired`,
    /// `UnknownCA`, ... as rustls names them).
    pub alert: Option<String>,
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
/// the connection speaks HTTP/2); 10 s limit. With `expect_refusal` the server's verdict is
/// awaited before the request is written, so its alert is read before any reset.
pub async fn exchange(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    request: &RequestTls,
    expect_refusal: bool,
    build: impl FnOnce(bool) -> anyhow::Result<http::Request<Full<Bytes>>>,
) -> anyhow::Result<TlsAnswer> {
    let exchange = exchange_inner(addr, config, request, expect_refusal, build);
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .context("TLS request timed out after 10s")?
}

async fn exchange_inner(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    request: &RequestTls,
    expect_refusal: bool,
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
            let alert = e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()).and_then(alert_name);
            let refused = TlsSeen { refused: Some(format!("handshake: {e}")), alert, ..TlsSeen::default() };
            return Ok(TlsAnswer { tls: refused, reply: None });
        }
    };
    let (_, conn) = stream.get_ref();
    let mut tls = TlsSeen {
        refused: None,
        alert: None,
        alpn: conn.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned()),
        version: conn.protocol_version().map(version_name),
        certificate: conn.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec()),
    };
    let http2 = tls.alpn.as_deref() == Some("h2");
    let (mut stream, tls_error) = Recording::new(stream);
    if expect_refusal && let Verdict::Closed(e) = stream.verdict(VERDICT_WAIT).await {
        tls.refused = Some(format!("after the handshake: {e}"));
        tls.alert = tls_error.get().and_then(|e| alert_name(&e));
        return Ok(TlsAnswer { tls, reply: None });
    }
    match client::send_over(stream, build(http2)?, http2).await {
        Ok(reply) => Ok(TlsAnswer { tls, reply: Some(reply) }),
        Err(e) => {
            let reason = match tls_error.get() {
                Some(tls_error) => Some(format!("after the handshake: {tls_error}")),
                None => closed(&e),
            };
            let Some(reason) = reason else { return Err(e) };
            tls.refused = Some(reason);
            tls.alert = tls_error.get().and_then(|e| alert_name(&e));
            Ok(TlsAnswer { tls, reply: None })
        }
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

/// The alert a TLS error reports having received.
fn alert_name(error: &rustls::Error) -> Option<String> {
    match error {
        rustls::Error::AlertReceived(description) => Some(format!("{description:?}")),
        _ => None,
    }
}

/// A request that failed because the server closed the connection after the handshake
/// without an alert: reset, or closed before any response.
fn closed(error: &anyhow::Error) -> Option<String> {
    let io = error.chain().filter_map(|cause| cause.downcast_ref::<std::io::Error>()).find(|io| {
        use std::io::ErrorKind::{BrokenPipe, ConnectionReset, UnexpectedEof};
        matches!(io.kind(), ConnectionReset | BrokenPipe | UnexpectedEof)
    });
    if let Some(io) = io {
        return Some(format!("after the handshake: {io}"));
    }
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<hyper::Error>())
        .find(|e| e.is_incomplete_message() || e.is_closed())
        .map(|e| format!("after the handshake: {e}"))
}
