//! One HTTP/1.1 request on a fresh connection with a short deadline, and how it ended: a status,
//! or why there was none (timeout, reset, refused).

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// A response: status and body as text.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Body (lossy UTF-8).
    pub body: String,
}

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// An HTTP status.
    Status(u16),
    /// No complete answer within the client's deadline.
    Timeout,
    /// The connection closed or was reset before a complete answer.
    Reset,
    /// The connection could not be opened.
    Refused,
}

impl Outcome {
    /// A 2xx answer.
    pub fn ok(self) -> bool {
        matches!(self, Outcome::Status(s) if (200..300).contains(&s))
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Status(s) => write!(f, "{s}"),
            Outcome::Timeout => f.write_str("timeout"),
            Outcome::Reset => f.write_str("reset"),
            Outcome::Refused => f.write_str("refused"),
        }
    }
}

/// `GET path` with `headers` (and `host: example.com` unless they give a host), within `limit`.
pub async fn get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    limit: Duration,
) -> anyhow::Result<Reply> {
    let mut builder = http::Request::builder().method("GET").uri(path);
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        builder = builder.header("host", "example.com");
    }
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let request = builder.body(Full::new(Bytes::new()))?;
    tokio::time::timeout(limit, send(addr, request))
        .await
        .map_err(|_| anyhow::anyhow!("timed out after {limit:?}"))?
}

async fn send(addr: SocketAddr, request: http::Request<Full<Bytes>>) -> anyhow::Result<Reply> {
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| anyhow::anyhow!("connect: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let result = async {
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        anyhow::Ok(Reply { status, body: String::from_utf8_lossy(&body).into_owned() })
    }
    .await;
    driver.abort();
    result
}

/// Sends one request and classifies how it ended; also returns how long it took.
pub async fn probe(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    limit: Duration,
) -> (Outcome, Duration) {
    let start = Instant::now();
    let outcome = match get(addr, path, headers, limit).await {
        Ok(reply) => Outcome::Status(reply.status),
        Err(e) => {
            let text = e.to_string();
            if text.starts_with("timed out") {
                Outcome::Timeout
            } else if text.starts_with("connect") {
                Outcome::Refused
            } else {
                Outcome::Reset
            }
        }
    };
    (outcome, start.elapsed())
}
