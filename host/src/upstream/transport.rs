//! The byte stream under an upstream connection: TCP, then the cluster's TLS handshake when it
//! has one, both within the cluster's `connect_timeout` (as in Envoy, where a connection is
//! "connected" once its handshake is done). A failed handshake is a connection failure.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use weir_http::{TlsInfo, UpstreamError};
use weir_tls::{ClientStream, ClientTls};

/// A connected stream: plain TCP or TLS over TCP.
pub enum Transport {
    /// Cleartext.
    Plain(TcpStream),
    /// TLS (boxed: rustls's connection state is large).
    Tls(Box<ClientStream<TcpStream>>),
}

/// A connected stream and, for TLS, what the exchanges on it see.
pub struct Connected {
    /// The stream.
    pub stream: Transport,
    /// The handshake's result (`None`: cleartext).
    pub tls: Option<Arc<TlsInfo>>,
}

/// Connects to `addr` (an endpoint written as `host`), with `tls` when the cluster has it.
/// `tls_required` without `tls` (its files could not be loaded) fails rather than falling back
/// to cleartext.
pub async fn connect(
    addr: SocketAddr,
    host: Option<&str>,
    tls: Option<Arc<ClientTls>>,
    tls_required: bool,
    timeout: Duration,
) -> Result<Connected, UpstreamError> {
    let attempt = async {
        let tcp = TcpStream::connect(addr).await.map_err(|e| UpstreamError::ConnectFailure(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        match tls {
            Some(tls) => {
                let name = tls.server_name(host, addr.ip());
                let (stream, info) = tls
                    .connect(name, tcp)
                    .await
                    .map_err(|e| UpstreamError::ConnectFailure(format!("TLS_error: {e}")))?;
                Ok(Connected { stream: Transport::Tls(Box::new(stream)), tls: Some(Arc::new(info)) })
            }
            None if tls_required => Err(UpstreamError::ConnectFailure(
                "TLS_error: the cluster's TLS settings could not be loaded (see the log)".into(),
            )),
            None => Ok(Connected { stream: Transport::Plain(tcp), tls: None }),
        }
    };
    tokio::time::timeout(timeout, attempt).await.unwrap_or(Err(UpstreamError::ConnectTimeout))
}

impl Connected {
    /// Whether the handshake agreed on HTTP/2 by ALPN.
    pub fn alpn_h2(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.alpn.as_deref() == Some(b"h2"))
    }
}

impl AsyncRead for Transport {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Transport::Plain(s) => s.is_write_vectored(),
            Transport::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
