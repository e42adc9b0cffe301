//! Test support: identifiable backends with switchable health and failures, a small HTTP
//! client, and a weir started in-process from YAML.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use weir_host::config::Config;
use weir_host::process::server::{RunningServer, ServerOptions};

/// A backend that answers `x-backend: <id>`; `/healthz` follows `healthy`; every other path
/// answers 503 while `failing`; `x-delay-ms` delays the answer.
pub struct Backend {
    pub id: String,
    pub addr: SocketAddr,
    pub healthy: Arc<AtomicBool>,
    pub failing: Arc<AtomicBool>,
    pub hits: Arc<AtomicU64>,
    /// TCP connections accepted.
    pub connections: Arc<AtomicU64>,
    runtime: tokio::runtime::Runtime,
}

impl Backend {
    pub fn start(id: &str) -> Backend {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let healthy = Arc::new(AtomicBool::new(true));
        let failing = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let (h, f, n, name) = (healthy.clone(), failing.clone(), hits.clone(), id.to_string());
        let accepted = connections.clone();
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                accepted.fetch_add(1, Ordering::Relaxed);
                let (h, f, n, name) = (h.clone(), f.clone(), n.clone(), name.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let (h, f, n, name) = (h.clone(), f.clone(), n.clone(), name.clone());
                        async move { Ok::<_, Infallible>(answer(req, &h, &f, &n, &name).await) }
                    });
                    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Backend { id: id.to_string(), addr, healthy, failing, hits, connections, runtime }
    }

    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
}

async fn answer(
    req: Request<Incoming>,
    healthy: &AtomicBool,
    failing: &AtomicBool,
    hits: &AtomicU64,
    id: &str,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let delay = req.headers().get("x-delay-ms").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let _ = req.into_body().collect().await;
    if path == "/healthz" {
        let status =
            if healthy.load(Ordering::Relaxed) { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
        return Response::builder().status(status).body(Full::new(Bytes::new())).unwrap();
    }
    hits.fetch_add(1, Ordering::Relaxed);
    if let Some(ms) = delay {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let status =
        if failing.load(Ordering::Relaxed) { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    let body = if path == "/empty" { Bytes::new() } else { Bytes::from(id.to_string()) };
    Response::builder()
        .status(status)
        .header("x-backend", id)
        .header("x-path", path)
        .body(Full::new(body))
        .unwrap()
}

/// weir in-process.
pub fn weir(yaml: &str) -> RunningServer {
    weir_with(yaml, 1)
}

pub fn weir_with(yaml: &str, workers: usize) -> RunningServer {
    let config = Config::parse(yaml, "test").unwrap();
    RunningServer::start(config, ServerOptions::with_concurrency(workers)).unwrap()
}

/// A response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A blocking HTTP/1.1 client (one connection per request).
pub struct Client {
    runtime: tokio::runtime::Runtime,
}

impl Client {
    pub fn new() -> Client {
        Client { runtime: tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap() }
    }

    pub fn get(&self, addr: SocketAddr, authority: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut builder = Request::get(path).header("host", authority);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        self.send(addr, builder.body(Bytes::new()).unwrap()).unwrap()
    }

    pub fn send(&self, addr: SocketAddr, request: Request<Bytes>) -> Result<Reply, String> {
        self.runtime.block_on(async move { send(addr, request).await })
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }
}

pub async fn send(addr: SocketAddr, request: Request<Bytes>) -> Result<Reply, String> {
    let attempt = async {
        let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let response = sender.send_request(request.map(Full::new)).await.map_err(|e| e.to_string())?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok(Reply { status: parts.status.as_u16(), headers: parts.headers, body })
    };
    tokio::time::timeout(Duration::from_secs(10), attempt).await.map_err(|_| "timed out".to_string())?
}

/// A listener + one route to `cluster` + the clusters given as YAML.
pub fn simple_config(route_extra: &str, clusters_yaml: &str) -> String {
    format!(
        "admin:\n  address: 127.0.0.1:0\nlisteners:\n  - name: main\n    address: 127.0.0.1:0\n    virtual_hosts:\n      - name: all\n        domains: ['*']\n        routes:\n          - name: default\n            match: {{ prefix: / }}\n            route: {{ cluster: backends{route_extra} }}\nclusters:\n{clusters_yaml}"
    )
}

/// A cluster named `backends` over `backends`, with extra YAML fields.
pub fn cluster_yaml(backends: &[&Backend], extra: &str) -> String {
    let endpoints: Vec<String> = backends.iter().map(|b| format!("'{}'", b.addr)).collect();
    format!("  - name: backends\n    endpoints: [{}]\n{extra}", endpoints.join(", "))
}
