//! Upstream clusters of one worker: endpoints, load balancing and pooled connections.
//! Every worker has its own [`Upstreams`] (no locks on the data path, as Envoy's per-worker
//! connection pools).

mod cluster;
mod pool;

use std::collections::HashMap;
use std::rc::Rc;

pub use cluster::Cluster;
pub use pool::Connection;

use crate::config::ClusterConfig;

/// A failure talking to an upstream, reported to the downstream as Envoy reports it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// No cluster of that name.
    #[error("unknown cluster `{0}`")]
    UnknownCluster(String),
    /// The TCP connection could not be made.
    #[error("connection failure: {0}")]
    ConnectFailure(String),
    /// The TCP connection did not complete in time.
    #[error("connection timeout")]
    ConnectTimeout,
    /// The connection broke before or while the response arrived.
    #[error("connection termination: {0}")]
    Reset(String),
    /// The upstream did not answer in time.
    #[error("upstream request timeout")]
    Timeout,
}

impl UpstreamError {
    /// Envoy's `reset reason` wording for the local reply body.
    pub fn reset_reason(&self) -> &'static str {
        match self {
            UpstreamError::UnknownCluster(_) => "cluster not found",
            UpstreamError::ConnectFailure(_) => "remote connection failure",
            UpstreamError::ConnectTimeout => "connection timeout",
            UpstreamError::Reset(_) => "connection termination",
            UpstreamError::Timeout => "timeout",
        }
    }

    /// The local reply Envoy's router makes for this failure: status, body and details.
    pub fn local_reply(&self) -> (u16, String, &'static str) {
        match self {
            UpstreamError::Timeout => (504, "upstream request timeout".into(), "upstream_response_timeout"),
            other => (
                503,
                format!(
                    "upstream connect error or disconnect/reset before headers. reset reason: {}",
                    other.reset_reason()
                ),
                "upstream_reset_before_response_started",
            ),
        }
    }
}

/// A worker's clusters by name.
#[derive(Debug, Default)]
pub struct Upstreams {
    clusters: HashMap<String, Rc<Cluster>>,
}

impl Upstreams {
    /// Builds a worker's clusters from config.
    pub fn new(configs: &[ClusterConfig]) -> Upstreams {
        Upstreams {
            clusters: configs.iter().map(|c| (c.name.clone(), Rc::new(Cluster::new(c.clone())))).collect(),
        }
    }

    /// A cluster by name.
    pub fn get(&self, name: &str) -> Option<&Rc<Cluster>> {
        self.clusters.get(name)
    }
}
