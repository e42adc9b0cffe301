//! A small Envoy Rate Limit Service for the global-mode tests (tonic + envoy-types). It
//! records every request and answers by the value of the first descriptor entry:
//!
//! - `deny`: OVER_LIMIT, limit 10/minute, 0 left, reset in 30 s, `x-rls: over`, a body;
//! - `slow-deny`: the same after 1 s (past the filter's timeout);
//! - `fail`: gRPC status UNAVAILABLE;
//! - `unknown`: overall_code UNKNOWN;
//! - anything else: OK, limit 100/minute, 42 left, reset in 12 s, `x-rls: ok` on the
//!   response and `x-rls-checked: yes` on the upstream request.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3::HeaderValue;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_response::{
    Code, DescriptorStatus, RateLimit, rate_limit::Unit,
};
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_service_server::{
    RateLimitService, RateLimitServiceServer,
};
use envoy_types::pb::envoy::service::ratelimit::v3::{RateLimitRequest, RateLimitResponse};
use envoy_types::pb::google::protobuf::Duration as PbDuration;
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};

/// What the service received: domain, descriptors as `(key, value)` lists, hits.
pub type Seen = (String, Vec<Vec<(String, String)>>, u32);

#[derive(Clone, Default)]
struct Rls {
    seen: Arc<Mutex<Vec<Seen>>>,
}

fn header(key: &str, value: &str) -> HeaderValue {
    HeaderValue { key: key.into(), value: value.into(), raw_value: Vec::new() }
}

fn status(code: Code, per_unit: u32, remaining: u32, reset_s: i64) -> DescriptorStatus {
    DescriptorStatus {
        code: code as i32,
        current_limit: Some(RateLimit {
            name: String::new(),
            requests_per_unit: per_unit,
            unit: Unit::Minute as i32,
        }),
        limit_remaining: remaining,
        duration_until_reset: Some(PbDuration { seconds: reset_s, nanos: 0 }),
        quota: None,
    }
}

fn over_limit() -> RateLimitResponse {
    RateLimitResponse {
        overall_code: Code::OverLimit as i32,
        statuses: vec![status(Code::OverLimit, 10, 0, 30)],
        response_headers_to_add: vec![header("x-rls", "over")],
        raw_body: b"over the limit\n".to_vec(),
        ..RateLimitResponse::default()
    }
}

#[tonic::async_trait]
impl RateLimitService for Rls {
    async fn should_rate_limit(
        &self,
        request: Request<RateLimitRequest>,
    ) -> Result<Response<RateLimitResponse>, Status> {
        let request = request.into_inner();
        let descriptors: Vec<Vec<(String, String)>> = request
            .descriptors
            .iter()
            .map(|d| d.entries.iter().map(|e| (e.key.clone(), e.value.clone())).collect())
            .collect();
        let first = descriptors.first().and_then(|d| d.first()).map(|(_, v)| v.clone()).unwrap_or_default();
        if let Ok(mut seen) = self.seen.lock() {
            seen.push((request.domain.clone(), descriptors, request.hits_addend));
        }
        let response = match first.as_str() {
            "deny" => over_limit(),
            "slow-deny" => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                over_limit()
            }
            "fail" => return Err(Status::unavailable("rls is having a bad day")),
            "unknown" => {
                RateLimitResponse { overall_code: Code::Unknown as i32, ..RateLimitResponse::default() }
            }
            _ => RateLimitResponse {
                overall_code: Code::Ok as i32,
                statuses: vec![status(Code::Ok, 100, 42, 12)],
                response_headers_to_add: vec![header("x-rls", "ok")],
                request_headers_to_add: vec![header("x-rls-checked", "yes")],
                ..RateLimitResponse::default()
            },
        };
        Ok(Response::new(response))
    }
}

/// A running service; stops on drop.
pub struct RlsServer {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RlsServer {
    /// Starts on 127.0.0.1, an ephemeral port, h2c.
    pub fn start() -> RlsServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the RLS port");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local addr");
        let rls = Rls::default();
        let seen = rls.seen.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("RLS runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                let incoming = tonic::transport::server::TcpIncoming::from(listener);
                let _ = tonic::transport::Server::builder()
                    .serve_with_incoming_shutdown(RateLimitServiceServer::new(rls), incoming, async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        RlsServer { addr, seen, stop: Some(stop), thread: Some(thread) }
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for RlsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
