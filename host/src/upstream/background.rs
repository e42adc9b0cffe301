//! Process-wide cluster chores, run on the control thread: active HTTP health checks, expiry of
//! outlier ejections, and DNS refresh. Each chore stops when its cluster is gone.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::endpoint::Endpoint;
use super::manager::{ClusterManager, needs_dns, resolve};
use super::state::ClusterState;
use super::transport;
use crate::config::HealthCheck;

/// Starts the chores of every cluster of `manager` that does not run them yet.
pub fn spawn_background(manager: &ClusterManager, runtime: &tokio::runtime::Handle) {
    for state in manager.iter() {
        if state.background_started.swap(true, Ordering::Relaxed) {
            continue;
        }
        let weak = Arc::downgrade(state);
        if let Some(hc) = state.config.health_check.clone() {
            runtime.spawn(health_checks(weak.clone(), hc));
        }
        if state.config.outlier_detection.is_some() {
            runtime.spawn(ejection_expiry(weak.clone()));
        }
        if state.config.endpoints.iter().any(|e| needs_dns(e.address())) {
            runtime.spawn(dns_refresh(weak, state.config.dns_refresh_rate));
        }
    }
}

async fn health_checks(cluster: Weak<ClusterState>, hc: HealthCheck) {
    let mut streaks: HashMap<SocketAddr, (u32, u32)> = HashMap::new();
    let mut interval = tokio::time::interval(hc.interval);
    loop {
        interval.tick().await;
        let Some(state) = cluster.upgrade() else { return };
        let endpoints = state.endpoints().all.clone();
        let mut changed = false;
        for endpoint in endpoints {
            let ok = check(&state, &endpoint, &hc).await;
            let (passes, fails) = streaks.entry(endpoint.addr).or_default();
            if ok {
                (*passes, *fails) = (*passes + 1, 0);
                if *passes >= hc.healthy_threshold {
                    changed |= endpoint.set_checked_healthy(true);
                }
            } else {
                (*passes, *fails) = (0, *fails + 1);
                if *fails >= hc.unhealthy_threshold {
                    changed |= endpoint.set_checked_healthy(false);
                }
            }
        }
        if changed {
            tracing::info!(cluster = %state.name(), "health of endpoints changed");
            state.refresh();
        }
    }
}

/// One `GET` of the health-check path (over the cluster's TLS when it has one).
async fn check(state: &ClusterState, endpoint: &Endpoint, hc: &HealthCheck) -> bool {
    let addr = endpoint.addr;
    let attempt = async {
        let connected =
            transport::connect(addr, endpoint.host.as_deref(), state.tls(), state.tls_required(), hc.timeout)
                .await
                .ok()?;
        let request = http::Request::get(hc.path.as_str())
            .header("user-agent", "weir-health-check")
            .body(Empty::<Bytes>::new())
            .ok()?;
        let io = TokioIo::new(connected.stream);
        // HTTP/2 when TLS agreed on it by ALPN (a server may then refuse HTTP/1.1); HTTP/1.1
        // otherwise, also to h2c clusters (their servers accept both, as they did before TLS).
        let status = if connected.tls.as_ref().is_some_and(|t| t.alpn.as_deref() == Some(b"h2")) {
            let (mut sender, conn) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await.ok()?;
            tokio::spawn(conn);
            let (mut parts, body) = request.into_parts();
            let scheme_authority = format!("https://{addr}{}", hc.path);
            parts.uri = scheme_authority.parse().ok()?;
            sender.send_request(http::Request::from_parts(parts, body)).await.ok()?.status()
        } else {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.ok()?;
            tokio::spawn(conn);
            let (mut parts, body) = request.into_parts();
            parts.headers.insert(http::header::HOST, addr.to_string().parse().ok()?);
            sender.send_request(http::Request::from_parts(parts, body)).await.ok()?.status()
        };
        Some(hc.expected_statuses.contains(&status.as_u16()))
    };
    matches!(tokio::time::timeout(hc.timeout, attempt).await, Ok(Some(true)))
}

async fn ejection_expiry(cluster: Weak<ClusterState>) {
    let mut interval = tokio::time::interval(Duration::from_millis(250));
    loop {
        interval.tick().await;
        let Some(state) = cluster.upgrade() else { return };
        state.expire_ejections();
    }
}

async fn dns_refresh(cluster: Weak<ClusterState>, every: Duration) {
    let mut interval = tokio::time::interval(every);
    interval.tick().await;
    loop {
        interval.tick().await;
        let Some(state) = cluster.upgrade() else { return };
        let (names, first_only) = (state.config.endpoints.clone(), state.config.logical_dns);
        drop(state);
        let Ok(addrs) = tokio::task::spawn_blocking(move || resolve(&names, first_only)).await else {
            continue;
        };
        let Some(state) = cluster.upgrade() else { return };
        let current: Vec<(SocketAddr, u32, u32)> =
            state.endpoints().all.iter().map(|e| (e.addr, e.weight(), e.priority())).collect();
        let resolved: Vec<(SocketAddr, u32, u32)> =
            addrs.iter().map(|r| (r.addr, r.weight, r.priority)).collect();
        if !addrs.is_empty() && resolved != current {
            tracing::info!(cluster = %state.name(), addrs = ?resolved, "DNS: endpoints changed");
            state.set_addresses(addrs);
        }
    }
}
