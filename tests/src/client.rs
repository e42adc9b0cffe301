//! A small HTTP/1.1 client for tests (a fresh connection per request).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// A response as tests see it.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status.
    pub status: u16,
    /// Headers, names lower-case, in order.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Bytes,
    /// Trailers, names lower-case.
    pub trailers: Vec<(String, String)>,
}

impl Reply {
    /// First value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Body as lossy UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request to `addr` over HTTP/1.1 and reads the whole response (10 s limit).
pub async fn send(addr: SocketAddr, request: Request<Full<Bytes>>) -> anyhow::Result<Reply> {
    send_with(addr, request, false).await
}

/// Sends one request over HTTP/1.1 or, with `http2`, HTTP/2 with prior knowledge (10 s limit).
pub async fn send_with(
    addr: SocketAddr,
    request: Request<Full<Bytes>>,
    http2: bool,
) -> anyhow::Result<Reply> {
    tokio::time::timeout(Duration::from_secs(10), send_inner(addr, request, http2))
        .await
        .context("request timed out after 10s")?
}

async fn send_inner(addr: SocketAddr, request: Request<Full<Bytes>>, http2: bool) -> anyhow::Result<Reply> {
    let stream = tokio::net::TcpStream::connect(addr).await.with_context(|| format!("connect {addr}"))?;
    send_over(stream, request, http2).await
}

/// Sends one request over an open connection (e.g. a TLS stream) with HTTP/1.1 or, with
/// `http2`, HTTP/2, and reads the whole response (no time limit of its own). When the request
/// fails, the connection's own error (e.g. a TLS alert) is in the error's chain.
pub async fn send_over<IO>(io: IO, request: Request<Full<Bytes>>, http2: bool) -> anyhow::Result<Reply>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let sent = if http2 {
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), TokioIo::new(io))
                .await?;
        let conn = tokio::spawn(conn);
        (sender.send_request(request).await, conn)
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
        let conn = tokio::spawn(conn);
        (sender.send_request(request).await, conn)
    };
    let response = match sent {
        (Ok(response), _) => response,
        (Err(e), conn) => {
            let ended = tokio::time::timeout(Duration::from_secs(1), conn).await;
            return Err(match ended {
                Ok(Ok(Err(conn_error))) => anyhow::Error::new(conn_error).context(e.to_string()),
                _ => e.into(),
            });
        }
    };
    let (parts, body) = response.into_parts();
    let collected = body.collect().await?;
    let pairs = |map: &http::HeaderMap| -> Vec<(String, String)> {
        map.iter()
            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect()
    };
    let trailers = collected.trailers().map(pairs).unwrap_or_default();
    Ok(Reply {
        status: parts.status.as_u16(),
        headers: pairs(&parts.headers),
        body: collected.to_bytes(),
        trailers,
    })
}

/// A GET to an admin API at `admin`, with `Host` set to that address (weir's and weir-cp's
/// admin APIs refuse other hosts).
pub fn admin_get(admin: std::net::SocketAddr, path: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method("GET")
        .uri(path)
        .header("host", admin.to_string())
        .body(Full::new(Bytes::new()))
        .unwrap_or_default()
}

/// A GET with headers.
pub fn get(path: &str, headers: &[(&str, &str)]) -> Request<Full<Bytes>> {
    let mut builder = Request::builder().method("GET").uri(path).header("host", "example.com");
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder.body(Full::new(Bytes::new())).unwrap_or_default()
}
