//! The few numbers the client attacks watch, read the same way from both proxies: open
//! connections of the `faulty` listener, requests in flight to and connections open to the
//! `faulty` cluster, and connections closed for the listener's connection limit.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::faults::handle::Handle;
use crate::faults::observe::prometheus;
use crate::faults::process::Kind;

/// A gauge of the `faulty` listener or cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gauge {
    /// Open downstream connections.
    Connections,
    /// Upstream requests in flight (circuit-breaker slots).
    ActiveRequests,
    /// Open upstream connections of the `faulty` cluster.
    UpstreamConnections,
    /// Connections closed at once: the listener was full.
    Overflow,
}

impl Gauge {
    /// Its name in each proxy.
    pub fn name(self, kind: Kind) -> &'static str {
        match (self, kind) {
            (Gauge::Connections, Kind::Weir) => "weir_downstream_cx_active{listener=\"faulty\"}",
            (Gauge::ActiveRequests, Kind::Weir) => "/clusters faulty active_requests",
            (Gauge::Overflow, Kind::Weir) => "weir_downstream_cx_overflow_total{listener=\"faulty\"}",
            (Gauge::UpstreamConnections, Kind::Weir) => "weir_cluster_upstream_cx_active{cluster=\"faulty\"}",
            (Gauge::Connections, Kind::Envoy) => "http.faulty.downstream_cx_active",
            (Gauge::ActiveRequests, Kind::Envoy) => "cluster.faulty.upstream_rq_active",
            (Gauge::Overflow, Kind::Envoy) => "listener.<faulty>.downstream_cx_overflow",
            (Gauge::UpstreamConnections, Kind::Envoy) => "cluster.faulty.upstream_cx_active",
        }
    }

    /// Its value now.
    pub async fn read(self, proxy: Handle) -> Option<f64> {
        match proxy.kind {
            Kind::Weir => match self {
                Gauge::ActiveRequests => {
                    let clusters: Value =
                        serde_json::from_str(&proxy.admin_get("/clusters").await.ok()?).ok()?;
                    let faulty = clusters.as_array()?.iter().find(|c| c["name"] == "faulty")?;
                    faulty["active_requests"].as_f64()
                }
                Gauge::Connections | Gauge::Overflow | Gauge::UpstreamConnections => {
                    let (name, label) = match self {
                        Gauge::Connections => ("weir_downstream_cx_active", "listener"),
                        Gauge::Overflow => ("weir_downstream_cx_overflow_total", "listener"),
                        _ => ("weir_cluster_upstream_cx_active", "cluster"),
                    };
                    let text = proxy.admin_get("/stats/prometheus").await.ok()?;
                    prometheus(&text, name, &[(label, "faulty")])
                }
            },
            Kind::Envoy => {
                let text = proxy.admin_get("/stats").await.ok()?;
                let wanted = |l: &&str| match self {
                    Gauge::Connections => l.starts_with("http.faulty.downstream_cx_active:"),
                    Gauge::ActiveRequests => l.starts_with("cluster.faulty.upstream_rq_active:"),
                    Gauge::UpstreamConnections => l.starts_with("cluster.faulty.upstream_cx_active:"),
                    Gauge::Overflow => {
                        l.starts_with("listener.127.0.0.1_") && l.contains(".downstream_cx_overflow:")
                    }
                };
                // Two listeners: the overflow of either (only `faulty` has a limit).
                let values: Vec<f64> = text
                    .lines()
                    .filter(wanted)
                    .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse().ok()))
                    .collect();
                (!values.is_empty()).then(|| values.iter().sum())
            }
        }
    }

    /// Polls until it reads `want` (or `limit` passes): whether it did, the last value, and
    /// how long that took.
    pub async fn reaches(self, proxy: Handle, want: f64, limit: Duration) -> (bool, Option<f64>, Duration) {
        let start = Instant::now();
        loop {
            let value = self.read(proxy).await;
            if value == Some(want) {
                return (true, value, start.elapsed());
            }
            if start.elapsed() > limit {
                return (false, value, start.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// `gauge 0 after 1.2 s` / `gauge still 3 after 5.0 s`.
pub fn reached_text(gauge: Gauge, kind: Kind, (ok, value, took): (bool, Option<f64>, Duration)) -> String {
    let value = value.map_or_else(|| "unreadable".to_string(), |v| v.to_string());
    let verb = if ok { "" } else { "still " };
    format!("`{}` {verb}{value} after {:.1} s", gauge.name(kind), took.as_secs_f64())
}
