//! HTTP/2 (prior knowledge) requests with many or large headers, each on its own connection,
//! tallied by outcome: the status, or `Reset` when the stream or connection was refused.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::faults::load::Tally;
use crate::faults::request::Outcome;

/// `count` headers `x-h<i>: v`.
pub fn many(count: usize) -> Vec<(String, String)> {
    (0..count).map(|i| (format!("x-h{i}"), "v".to_string())).collect()
}

/// One header `x-big` of `kib` KiB.
pub fn large(kib: usize) -> Vec<(String, String)> {
    vec![("x-big".to_string(), "a".repeat(kib * 1024))]
}

/// `GET /` over HTTP/2 with `headers`, within `limit`.
pub async fn get(addr: SocketAddr, headers: &[(String, String)], limit: Duration) -> Outcome {
    match tokio::time::timeout(limit, send(addr, headers)).await {
        Err(_) => Outcome::Timeout,
        Ok(Err(_)) => Outcome::Reset,
        Ok(Ok(status)) => Outcome::Status(status),
    }
}

async fn send(addr: SocketAddr, headers: &[(String, String)]) -> anyhow::Result<u16> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let result = async {
        let mut builder = http::Request::builder().method("GET").uri(format!("http://{addr}/"));
        for (k, v) in headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let response = sender.send_request(builder.body(Empty::<Bytes>::new())?).await?;
        let status = response.status().as_u16();
        let _ = response.into_body().collect().await;
        anyhow::Ok(status)
    }
    .await;
    driver.abort();
    result
}

/// `n` such requests, `clients` at a time.
pub async fn load(addr: SocketAddr, headers: Vec<(String, String)>, n: usize, clients: usize) -> Tally {
    let headers = std::sync::Arc::new(headers);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (headers, next) = (headers.clone(), next.clone());
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                    let start = Instant::now();
                    let outcome = get(addr, &headers, Duration::from_secs(5)).await;
                    tally.add(outcome, start.elapsed());
                }
                tally
            })
        })
        .collect();
    let mut total = Tally::default();
    for task in tasks {
        if let Ok(t) = task.await {
            total.merge(&t);
        }
    }
    total
}
