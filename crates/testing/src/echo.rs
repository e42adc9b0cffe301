//! An upstream that answers every request with a JSON description of what it received, so a
//! test can assert what a proxy forwarded.
//!
//! Request headers steer the answer:
//! - `x-echo-status: 503` sets the status;
//! - `x-echo-header: name=value` (repeatable, comma-separated) adds response headers;
//! - `x-echo-body: text` replaces the JSON body with `text`;
//! - `x-echo-delay-ms: 200` waits before answering;
//! - `x-echo-chunked: 1` sends the body without a length (chunked over HTTP/1.1);
//! - `x-echo-trailer: name=value` (repeatable, comma-separated) ends the body with trailers
//!   (chunked), written over HTTP/1.1 whether or not the proxy sent `TE: trailers`.
//!
//! JSON answers carry `x-echo: 1` and `content-type: application/json`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use weir_http::h1_trailers::{Role, Splicer};

/// What the echo server saw.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Echo {
    /// Method.
    pub method: String,
    /// Path with query.
    pub path: String,
    /// Headers in arrival order, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Body as (lossy) UTF-8.
    pub body: String,
    /// Trailers.
    pub trailers: Vec<(String, String)>,
}

impl Echo {
    /// First value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A running echo server; stops on drop.
pub struct EchoServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EchoServer {
    /// Starts on 127.0.0.1 with an ephemeral port (HTTP/1.1 and h2c).
    pub fn start() -> std::io::Result<EchoServer> {
        EchoServer::start_tagged(None)
    }

    /// Like [`EchoServer::start`]; with a tag, every answer carries `x-echo-server: <tag>` so a
    /// test can tell which upstream answered.
    pub fn start_tagged(tag: Option<String>) -> std::io::Result<EchoServer> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name("echo".into()).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!("echo server runtime: {e}");
                    return;
                }
            };
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
                loop {
                    tokio::select! {
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let tag = tag.clone();
                            tokio::spawn(async move {
                                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                                let trailers = Splicer::new(true);
                                let io = TokioIo::new(trailers.io(stream, Role::Server));
                                let service = service_fn(move |request: Request<Incoming>| {
                                    let (version, head) = (request.version(), request.method() == http::Method::HEAD);
                                    let (tag, trailers) = (tag.clone(), trailers.clone());
                                    async move {
                                        let response = answer(request, tag).await?;
                                        Ok::<_, Infallible>(response.map(|body| trailers.tap(body, version, head)))
                                    }
                                });
                                let _ = builder.serve_connection(io, service).await;
                            });
                        }
                        _ = &mut stop_rx => break,
                    }
                }
            });
        })?;
        Ok(EchoServer { addr, stop: Some(stop_tx), thread: Some(thread) })
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn answer(request: Request<Incoming>, tag: Option<String>) -> Result<Response<Frames>, Infallible> {
    let (parts, body) = request.into_parts();
    let get = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let canned = get("x-echo-body");
    // A canned answer does not describe the request: its body is read and dropped frame by
    // frame, never copied (benchmarks send 64 KiB bodies and must not be limited by the upstream).
    let echo = match canned {
        Some(_) => {
            drain(body).await;
            None
        }
        None => Some(describe(&parts, body).await),
    };
    if let Some(ms) = get("x-echo-delay-ms").and_then(|v| v.parse::<u64>().ok()) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let status = get("x-echo-status")
        .and_then(|s| s.parse::<u16>().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut builder = Response::builder().status(status);
    if let Some(tag) = &tag {
        builder = builder.header("x-echo-server", tag.as_str());
    }
    for spec in parts.headers.get_all("x-echo-header") {
        for item in spec.to_str().unwrap_or("").split(',') {
            if let Some((k, v)) = item.trim().split_once('=') {
                builder = builder.header(k.trim(), v.trim());
            }
        }
    }
    let body = match (canned, echo) {
        (Some(text), _) => Bytes::from(text),
        (None, echo) => {
            builder = builder.header("x-echo", "1").header("content-type", "application/json");
            Bytes::from(echo.and_then(|e| serde_json::to_vec(&e).ok()).unwrap_or_default())
        }
    };
    let trailers = list(&parts.headers, "x-echo-trailer");
    let chunked = get("x-echo-chunked").is_some() || !trailers.is_empty();
    let body = Frames::new(body, chunked, trailers);
    Ok(builder.body(body).unwrap_or_else(|_| Response::new(Frames::new(Bytes::new(), false, Vec::new()))))
}

/// `name=value` pairs of every `header` line (comma-separated).
fn list(headers: &http::HeaderMap, header: &str) -> Vec<(String, String)> {
    let lines = headers.get_all(header).into_iter().filter_map(|v| v.to_str().ok());
    let items = lines.flat_map(|line| line.split(',').map(str::to_string).collect::<Vec<_>>());
    items
        .filter_map(|item| item.split_once('=').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
        .collect()
}

/// The echo's answer body: the bytes, then the trailers if any; without a length when
/// `chunked`.
#[derive(Debug)]
pub struct Frames {
    data: Option<Bytes>,
    trailers: Option<http::HeaderMap>,
    chunked: bool,
}

impl Frames {
    fn new(data: Bytes, chunked: bool, trailers: Vec<(String, String)>) -> Frames {
        let mut map = http::HeaderMap::new();
        for (name, value) in trailers {
            if let (Ok(name), Ok(value)) =
                (http::HeaderName::try_from(name), http::HeaderValue::try_from(value))
            {
                map.append(name, value);
            }
        }
        let data = (!data.is_empty()).then_some(data);
        Frames { data, trailers: (!map.is_empty()).then_some(map), chunked }
    }
}

impl http_body::Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        let frame = match self.data.take() {
            Some(data) => Some(http_body::Frame::data(data)),
            None => self.trailers.take().map(http_body::Frame::trailers),
        };
        std::task::Poll::Ready(frame.map(Ok))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.trailers.is_none()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match (&self.data, self.chunked) {
            (_, true) => http_body::SizeHint::default(),
            (Some(data), false) => http_body::SizeHint::with_exact(data.len() as u64),
            (None, false) => http_body::SizeHint::with_exact(0),
        }
    }
}

/// Reads the request (body and trailers) into an [`Echo`].
async fn describe(parts: &http::request::Parts, body: Incoming) -> Echo {
    let collected = body.collect().await.ok();
    let trailers = collected.as_ref().and_then(|c| c.trailers()).map(pairs).unwrap_or_default();
    let body = collected.map(|c| c.to_bytes()).unwrap_or_default();
    Echo {
        method: parts.method.to_string(),
        path: parts.uri.path_and_query().map_or("/".into(), |p| p.to_string()),
        headers: pairs(&parts.headers),
        body: String::from_utf8_lossy(&body).into_owned(),
        trailers,
    }
}

/// Reads a body to its end, dropping each frame as it arrives.
async fn drain(mut body: Incoming) {
    while let Some(frame) = body.frame().await {
        if frame.is_err() {
            return;
        }
    }
}

fn pairs(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect()
}
