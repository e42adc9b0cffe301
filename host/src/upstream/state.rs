//! A cluster as the whole process sees it: its endpoints (resolved, health-checked, ejected),
//! the load-balancing tables built over the healthy ones, and its circuit breakers. Workers
//! read the endpoint set lock-free; changes swap in a new set.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::Mutex;

use super::Endpoint;
use super::breaker::Breakers;
use super::cluster_tls::ClusterTls;
use super::endpoint::Resolved;
use super::hashing;
use crate::config::{ClusterConfig, LbPolicy};
use crate::stats::{ClusterStats, Stats};
use weir_tls::ClientTls;

/// The endpoints a worker balances over.
#[derive(Debug, Default)]
pub struct EndpointSet {
    /// Every endpoint.
    pub all: Vec<Arc<Endpoint>>,
    /// Per priority level (0 first), the endpoints it balances over.
    pub levels: Vec<Level>,
    /// Per priority level, its share of the requests in percent (see `upstream/priority.rs`).
    pub loads: Vec<u32>,
}

/// One priority level as the balancer uses it.
#[derive(Debug, Default)]
pub struct Level {
    /// Those taking traffic: the healthy ones, or all of the level's in panic.
    pub healthy: Vec<Arc<Endpoint>>,
    /// Maglev table over `healthy` (for `maglev`).
    pub maglev: Vec<u32>,
    /// Ring over `healthy` (for `ring_hash`).
    pub ring: Vec<(u64, u32)>,
    /// The weights of `healthy`, when they differ.
    pub weights: super::weights::Weights,
}

/// Process-wide state of one cluster.
#[derive(Debug)]
pub struct ClusterState {
    /// Its config.
    pub config: ClusterConfig,
    /// Its `metadata`, serialized once for the `xds.cluster_metadata` property.
    pub metadata: bytes::Bytes,
    /// Stats handles.
    pub stats: ClusterStats,
    /// Circuit breakers.
    pub breakers: Breakers,
    set: ArcSwap<EndpointSet>,
    known: Mutex<HashMap<SocketAddr, Arc<Endpoint>>>,
    process_stats: Arc<Stats>,
    /// Its TLS, rebuilt when its files change.
    tls: ClusterTls,
    /// Health checks, ejection expiry and DNS refresh run for this cluster.
    pub(super) background_started: std::sync::atomic::AtomicBool,
}

impl ClusterState {
    /// A cluster over already-resolved addresses.
    pub fn new(config: ClusterConfig, addrs: Vec<Resolved>, stats: Arc<Stats>) -> Arc<ClusterState> {
        let cluster_stats = stats.cluster(&config.name);
        let state = Arc::new(ClusterState {
            breakers: Breakers::new(config.circuit_breakers.clone(), cluster_stats.clone()),
            stats: cluster_stats,
            metadata: crate::config::encoded_metadata(config.metadata.as_ref()),
            config,
            set: ArcSwap::from_pointee(EndpointSet::default()),
            known: Mutex::new(HashMap::new()),
            process_stats: stats,
            tls: ClusterTls::default(),
            background_started: std::sync::atomic::AtomicBool::new(false),
        });
        state.set_addresses(addrs);
        state
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The current endpoint set.
    pub fn endpoints(&self) -> arc_swap::Guard<Arc<EndpointSet>> {
        self.set.load()
    }

    /// Builds the cluster's TLS from its files (nothing without `tls`). A failure keeps the
    /// TLS in use, if any, and is logged: validation read the same files moments before.
    pub fn load_tls(&self) {
        if let Some(settings) = &self.config.tls {
            self.tls.load(self.name(), settings, self.config.http2);
        }
    }

    /// Builds the cluster's TLS again if its files changed; whether it did.
    pub fn refresh_tls(&self) -> bool {
        match &self.config.tls {
            Some(settings) => self.tls.refresh(self.name(), settings, self.config.http2, false),
            None => false,
        }
    }

    /// The cluster's TLS (`None`: cleartext, or TLS that could not be loaded: see
    /// [`ClusterState::tls_required`]).
    pub fn tls(&self) -> Option<Arc<ClientTls>> {
        self.tls.get()
    }

    /// Whether HTTP/1.1 trailers are written to the endpoints whatever they announced.
    pub fn http1_trailers(&self) -> bool {
        self.config.http_protocol_options.enable_trailers
    }

    /// Whether the cluster is configured with TLS.
    pub fn tls_required(&self) -> bool {
        self.config.tls.is_some()
    }

    /// Replaces the addresses (DNS refresh); endpoints that stay keep their health.
    pub fn set_addresses(&self, addrs: Vec<Resolved>) {
        let mut known = self.known.lock();
        let mut all = Vec::with_capacity(addrs.len());
        for Resolved { addr, host, weight, priority } in addrs {
            let endpoint = known
                .entry(addr)
                .or_insert_with(|| {
                    Arc::new(Endpoint::new(
                        addr,
                        host,
                        self.process_stats.endpoint(&self.config.name, &addr.to_string()),
                    ))
                })
                .clone();
            endpoint.set_weight(weight);
            endpoint.set_priority(priority);
            if !all.iter().any(|e: &Arc<Endpoint>| e.addr == addr) {
                all.push(endpoint);
            }
        }
        known.retain(|addr, _| all.iter().any(|e| e.addr == *addr));
        drop(known);
        self.rebuild(all);
    }

    /// Recomputes the healthy set and tables after a health change.
    pub fn refresh(&self) {
        let all = self.set.load().all.clone();
        self.rebuild(all);
    }

    fn rebuild(&self, all: Vec<Arc<Endpoint>>) {
        let plan = super::priority::plan(&all, self.config.healthy_panic_threshold);
        let levels = plan
            .levels
            .into_iter()
            .map(|healthy| {
                let names: Vec<String> = healthy.iter().map(|e| e.addr.to_string()).collect();
                let (maglev, ring) = match self.config.lb_policy {
                    LbPolicy::Maglev => (hashing::maglev(&names), Vec::new()),
                    LbPolicy::RingHash => (Vec::new(), hashing::ring(&names)),
                    _ => (Vec::new(), Vec::new()),
                };
                let weights = super::weights::Weights::new(&healthy);
                Level { healthy, maglev, ring, weights }
            })
            .collect();
        self.set.store(Arc::new(EndpointSet { all, levels, loads: plan.loads }));
    }

    /// Records an upstream outcome (`None`: connection failure) for outlier detection; ejects
    /// the endpoint when it crosses the threshold and the ejection cap allows.
    pub fn record_outcome(&self, endpoint: &Endpoint, status: Option<u16>) {
        let Some(outlier) = &self.config.outlier_detection else { return };
        let failed = status.is_none_or(|s| s >= 500);
        if !endpoint.record_outcome(failed, outlier.consecutive_5xx) {
            return;
        }
        let set = self.set.load();
        let ejected = set.all.iter().filter(|e| e.is_ejected()).count();
        let cap = (set.all.len() * outlier.max_ejection_percent as usize / 100).max(1);
        if ejected < cap {
            tracing::warn!(cluster = %self.name(), endpoint = %endpoint.addr, "outlier detection: ejecting endpoint");
            endpoint.eject(outlier.base_ejection_time);
            self.refresh();
        }
    }

    /// Returns ejected endpoints whose time is over; refreshes when any did.
    pub fn expire_ejections(&self) {
        // Every endpoint is visited (no short-circuit): each expiry clears its own state.
        let expired = self.set.load().all.iter().filter(|e| e.expire_ejection()).count();
        let changed = expired > 0;
        if changed {
            self.refresh();
        }
    }
}
