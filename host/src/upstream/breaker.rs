//! Circuit breakers of a cluster, process-wide as in Envoy: requests in flight, open
//! connections, and requests waiting for a connection. Over a limit the request is refused
//! (503, counted) instead of queueing without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::UpstreamError;
use crate::config::CircuitBreakers;
use crate::stats::ClusterStats;

/// The breakers of one cluster.
#[derive(Debug)]
pub struct Breakers {
    limits: CircuitBreakers,
    active: Arc<AtomicU32>,
    pending: AtomicU32,
    connections: Arc<Semaphore>,
    stats: ClusterStats,
}

/// A request in flight; released on drop.
#[derive(Debug)]
pub struct RequestPermit(Arc<AtomicU32>);

impl Drop for RequestPermit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Breakers {
    /// Breakers with the configured limits.
    pub fn new(limits: CircuitBreakers, stats: ClusterStats) -> Breakers {
        let connections = Arc::new(Semaphore::new(limits.max_connections.max(1) as usize));
        Breakers {
            limits,
            active: Arc::new(AtomicU32::new(0)),
            pending: AtomicU32::new(0),
            connections,
            stats,
        }
    }

    fn overflow(&self) -> UpstreamError {
        self.stats.overflow.inc();
        UpstreamError::Overflow
    }

    /// Admits a request, or refuses it when `max_requests` are in flight.
    pub fn request(&self) -> Result<RequestPermit, UpstreamError> {
        let before = self.active.fetch_add(1, Ordering::Relaxed);
        let permit = RequestPermit(self.active.clone());
        if before >= self.limits.max_requests {
            return Err(self.overflow());
        }
        Ok(permit)
    }

    /// A connection slot if one is free now.
    pub fn try_connection(&self) -> Option<OwnedSemaphorePermit> {
        self.connections.clone().try_acquire_owned().ok()
    }

    /// Waits (as a pending request, at most `timeout`) for a connection slot; refuses at once
    /// when `max_pending_requests` already wait.
    pub async fn wait_connection(&self, timeout: Duration) -> Result<OwnedSemaphorePermit, UpstreamError> {
        if self.pending.fetch_add(1, Ordering::Relaxed) >= self.limits.max_pending_requests {
            self.pending.fetch_sub(1, Ordering::Relaxed);
            return Err(self.overflow());
        }
        let permit = tokio::time::timeout(timeout, self.connections.clone().acquire_owned()).await;
        self.pending.fetch_sub(1, Ordering::Relaxed);
        match permit {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(self.overflow()),
        }
    }

    /// Requests in flight.
    pub fn active_requests(&self) -> u32 {
        self.active.load(Ordering::Relaxed)
    }
}
