//! One upstream endpoint as the whole process sees it: address, health (active checks and
//! outlier ejection), load, and its stats.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::stats::EndpointStats;

/// A resolved endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Its address.
    pub addr: SocketAddr,
    /// The hostname it was written with (`None` for an IP address), the default TLS server
    /// name.
    pub host: Option<Arc<str>>,
    /// Its load-balancing weight.
    pub weight: u32,
    /// Its priority (0 first).
    pub priority: u32,
}

/// An endpoint, shared by every worker.
#[derive(Debug)]
pub struct Endpoint {
    /// Its address.
    pub addr: SocketAddr,
    /// The hostname it was resolved from (`None`: written as an IP address).
    pub host: Option<Arc<str>>,
    /// Stats handles.
    pub stats: EndpointStats,
    /// Active health checking says it is up (true when there is no health check).
    checked_healthy: AtomicBool,
    /// Ejected by outlier detection until this time (ms since the epoch; 0: not ejected).
    ejected_until_ms: AtomicU64,
    /// How many times it was ejected (lengthens the next ejection).
    ejections: AtomicU32,
    /// 5xx responses or connection failures in a row.
    consecutive_failures: AtomicU32,
    /// Requests in flight (for least-request balancing).
    active: AtomicU32,
    /// Its load-balancing weight (EDS or DNS updates may change it).
    weight: AtomicU32,
    /// Its priority level (EDS updates may change it).
    priority: AtomicU32,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Endpoint {
    /// A healthy endpoint.
    pub fn new(addr: SocketAddr, host: Option<Arc<str>>, stats: EndpointStats) -> Endpoint {
        stats.healthy.set(1);
        Endpoint {
            addr,
            host,
            stats,
            checked_healthy: AtomicBool::new(true),
            ejected_until_ms: AtomicU64::new(0),
            ejections: AtomicU32::new(0),
            consecutive_failures: AtomicU32::new(0),
            active: AtomicU32::new(0),
            weight: AtomicU32::new(1),
            priority: AtomicU32::new(0),
        }
    }

    /// Its load-balancing weight.
    pub fn weight(&self) -> u32 {
        self.weight.load(Ordering::Relaxed)
    }

    /// Its priority level (0 first).
    pub fn priority(&self) -> u32 {
        self.priority.load(Ordering::Relaxed)
    }

    /// Sets its priority level.
    pub fn set_priority(&self, priority: u32) {
        self.priority.store(priority, Ordering::Relaxed);
    }

    /// Sets its load-balancing weight.
    pub fn set_weight(&self, weight: u32) {
        self.weight.store(weight.max(1), Ordering::Relaxed);
    }

    /// Whether it takes traffic now (passes health checks and is not ejected).
    pub fn is_healthy(&self) -> bool {
        self.checked_healthy.load(Ordering::Relaxed) && !self.is_ejected()
    }

    /// Whether outlier detection has ejected it.
    pub fn is_ejected(&self) -> bool {
        let until = self.ejected_until_ms.load(Ordering::Relaxed);
        until != 0 && now_ms() < until
    }

    /// Records an active health check verdict; returns whether health changed.
    pub fn set_checked_healthy(&self, healthy: bool) -> bool {
        let changed = self.checked_healthy.swap(healthy, Ordering::Relaxed) != healthy;
        self.update_gauge();
        changed
    }

    /// Clears an ejection whose time is over; returns whether it did.
    pub fn expire_ejection(&self) -> bool {
        let until = self.ejected_until_ms.load(Ordering::Relaxed);
        if until != 0 && now_ms() >= until {
            self.ejected_until_ms.store(0, Ordering::Relaxed);
            self.update_gauge();
            return true;
        }
        false
    }

    /// Records an upstream outcome for outlier detection; returns true when this outcome
    /// crossed `threshold` and the endpoint should be ejected.
    pub fn record_outcome(&self, failed: bool, threshold: u32) -> bool {
        if !failed {
            self.consecutive_failures.store(0, Ordering::Relaxed);
            return false;
        }
        let n = self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        n == threshold.max(1)
    }

    /// Ejects for `base` times the number of ejections so far.
    pub fn eject(&self, base: Duration) {
        let n = self.ejections.fetch_add(1, Ordering::Relaxed) + 1;
        let until = now_ms() + base.as_millis() as u64 * u64::from(n);
        self.ejected_until_ms.store(until, Ordering::Relaxed);
        self.consecutive_failures.store(0, Ordering::Relaxed);
        self.update_gauge();
    }

    fn update_gauge(&self) {
        self.stats.healthy.set(i64::from(self.is_healthy()));
    }

    /// Requests in flight.
    pub fn active_requests(&self) -> u32 {
        self.active.load(Ordering::Relaxed)
    }

    /// Counts a request in flight until the guard drops.
    pub fn begin(self: &Arc<Self>) -> ActiveGuard {
        self.active.fetch_add(1, Ordering::Relaxed);
        ActiveGuard(self.clone())
    }
}

/// Decrements the endpoint's in-flight count when dropped.
#[derive(Debug)]
pub struct ActiveGuard(Arc<Endpoint>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}
