//! Bounded load: a fixed number of requests from a few concurrent clients, each with a short
//! deadline, tallied by outcome with latency percentiles.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::request::{Outcome, probe};

/// What one side (faulty or healthy) of a scenario saw.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Requests sent.
    pub sent: u64,
    /// Requests without a 2xx answer.
    pub failed: u64,
    /// Outcomes and how often.
    pub outcomes: BTreeMap<Outcome, u64>,
    /// Latencies, sorted.
    pub latencies: Vec<Duration>,
}

impl Tally {
    /// Adds one request.
    pub fn add(&mut self, outcome: Outcome, latency: Duration) {
        self.sent += 1;
        if !outcome.ok() {
            self.failed += 1;
        }
        *self.outcomes.entry(outcome).or_default() += 1;
        let at = self.latencies.partition_point(|l| *l < latency);
        self.latencies.insert(at, latency);
    }

    /// Merges another tally into this one.
    pub fn merge(&mut self, other: &Tally) {
        self.sent += other.sent;
        self.failed += other.failed;
        for (k, v) in &other.outcomes {
            *self.outcomes.entry(*k).or_default() += v;
        }
        self.latencies.extend(other.latencies.iter().copied());
        self.latencies.sort();
    }

    /// `failed/sent`.
    pub fn ratio(&self) -> String {
        format!("{}/{}", self.failed, self.sent)
    }

    /// How often `outcome` was seen.
    pub fn count(&self, outcome: Outcome) -> u64 {
        self.outcomes.get(&outcome).copied().unwrap_or(0)
    }

    /// Outcomes other than those in `allowed`.
    pub fn unexpected(&self, allowed: &[Outcome]) -> Vec<(Outcome, u64)> {
        self.outcomes.iter().filter(|(o, _)| !allowed.contains(o)).map(|(o, n)| (*o, *n)).collect()
    }

    /// The `q` quantile of latency (0.0–1.0).
    pub fn quantile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies.len() - 1) as f64 * q).round() as usize;
        self.latencies[i.min(self.latencies.len() - 1)]
    }

    /// `200×190 503×10` style summary.
    pub fn outcomes_text(&self) -> String {
        let mut out = String::new();
        for (outcome, n) in &self.outcomes {
            let _ = write!(out, "{}{outcome}×{n}", if out.is_empty() { "" } else { " " });
        }
        if out.is_empty() { "none".into() } else { out }
    }

    /// `p50 3ms, max 40ms`.
    pub fn latency_text(&self) -> String {
        format!("p50 {} ms, max {} ms", self.quantile(0.5).as_millis(), self.quantile(1.0).as_millis())
    }
}

/// A bounded load against one address.
#[derive(Debug, Clone)]
pub struct Load {
    /// Where.
    pub addr: SocketAddr,
    /// Path.
    pub path: String,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// How many requests in all.
    pub requests: usize,
    /// Concurrent clients.
    pub clients: usize,
    /// Deadline of each request.
    pub timeout: Duration,
    /// Pause of each client between its requests (spreads the load over an attack).
    pub pace: Duration,
    /// No request starts after this long (a proxy that answers nothing must not hold the
    /// load for requests × deadline).
    pub budget: Option<Duration>,
}

impl Load {
    /// `requests` GETs of `/` from `clients` clients, each within `timeout`.
    pub fn new(addr: SocketAddr, requests: usize, clients: usize, timeout: Duration) -> Load {
        Load {
            addr,
            path: "/".into(),
            headers: Vec::new(),
            requests,
            clients,
            timeout,
            pace: Duration::ZERO,
            budget: None,
        }
    }

    /// Runs it to the end.
    pub async fn run(self) -> Tally {
        let next = Arc::new(AtomicUsize::new(0));
        let stop = self.budget.map(|b| std::time::Instant::now() + b);
        let load = Arc::new(self);
        let tasks: Vec<_> = (0..load.clients.max(1))
            .map(|_| {
                let (next, load) = (next.clone(), load.clone());
                tokio::spawn(async move {
                    let mut tally = Tally::default();
                    let headers: Vec<(&str, &str)> =
                        load.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    while next.fetch_add(1, Ordering::Relaxed) < load.requests
                        && stop.is_none_or(|at| std::time::Instant::now() < at)
                    {
                        let (outcome, latency) = probe(load.addr, &load.path, &headers, load.timeout).await;
                        tally.add(outcome, latency);
                        if !load.pace.is_zero() {
                            tokio::time::sleep(load.pace).await;
                        }
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
}

/// Runs the faulty and the healthy load at the same time.
pub async fn both(faulty: Load, healthy: Load) -> (Tally, Tally) {
    tokio::join!(faulty.run(), healthy.run())
}
