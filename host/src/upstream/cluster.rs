//! A cluster on one worker: picks endpoints from the process-wide endpoint set and keeps this
//! worker's connection pools.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;

use super::pool::{Connection, Pool};
use super::state::ClusterState;
use super::{Endpoint, UpstreamError, lb};

/// One upstream cluster on one worker.
#[derive(Debug)]
pub struct Cluster {
    state: Arc<ClusterState>,
    pools: RefCell<HashMap<SocketAddr, Rc<Pool>>>,
    rr: lb::RoundRobin,
}

impl Cluster {
    /// The worker's view of a cluster.
    pub fn new(state: Arc<ClusterState>) -> Cluster {
        let rr = std::array::from_fn(|_| Cell::new(fastrand::usize(..1024)));
        Cluster { state, pools: RefCell::new(HashMap::new()), rr }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        self.state.name()
    }

    /// Whether endpoints speak HTTP/2.
    pub fn http2(&self) -> bool {
        self.state.config.http2
    }

    /// The process-wide state (breakers, outlier detection, stats).
    pub fn state(&self) -> &Arc<ClusterState> {
        &self.state
    }

    /// Picks an endpoint with the cluster's policy (`key`: consistent-hash key).
    pub fn pick(&self, key: Option<u64>) -> Result<Arc<Endpoint>, UpstreamError> {
        let set = self.state.endpoints();
        lb::pick(self.state.config.lb_policy, &set, &self.rr, key).ok_or(UpstreamError::NoHealthyUpstream)
    }

    fn pool(&self, endpoint: &Endpoint) -> Rc<Pool> {
        self.pools
            .borrow_mut()
            .entry(endpoint.addr)
            .or_insert_with(|| Rc::new(Pool::new(endpoint, self.state.clone())))
            .clone()
    }

    /// A ready connection to `endpoint`.
    pub async fn connect_to(&self, endpoint: &Endpoint) -> Result<Connection, UpstreamError> {
        self.pool(endpoint).acquire().await
    }

    /// Picks an endpoint and returns a ready connection to it (for callouts).
    pub async fn connect(&self) -> Result<(SocketAddr, Connection), UpstreamError> {
        let endpoint = self.pick(None)?;
        let connection = self.connect_to(&endpoint).await;
        if connection.is_err() {
            self.state.record_outcome(&endpoint, None);
        }
        Ok((endpoint.addr, connection?))
    }

    /// Picks an endpoint and opens a byte stream to it for a proxied TCP connection.
    pub async fn open_stream(&self) -> Result<(SocketAddr, super::transport::Connected), UpstreamError> {
        let endpoint = self.pick(None)?;
        Ok((endpoint.addr, self.open_to(&endpoint).await?))
    }

    /// A byte stream of its own to `endpoint` (TCP, and the cluster's TLS if it has one),
    /// within the cluster's `connect_timeout`, outside the pools. A failure is counted as the
    /// endpoint's and the cluster's connect failure.
    pub(super) async fn open_to(
        &self,
        endpoint: &Endpoint,
    ) -> Result<super::transport::Connected, UpstreamError> {
        let state = &self.state;
        let connected = super::transport::connect(
            endpoint.addr,
            endpoint.host.as_deref(),
            state.tls(),
            state.tls_required(),
            state.config.connect_timeout,
        )
        .await;
        if let Err(e) = &connected {
            state.stats.connect_failures.inc();
            state.record_outcome(endpoint, None);
            tracing::debug!(cluster = %state.name(), endpoint = %endpoint.addr, "upstream connect failed: {e}");
        }
        connected
    }

    /// Like [`Cluster::connect`], always over HTTP/2 (for gRPC).
    pub async fn connect_h2(&self) -> Result<(SocketAddr, Connection), UpstreamError> {
        let endpoint = self.pick(None)?;
        let connection = self.pool(&endpoint).acquire_h2().await?;
        Ok((endpoint.addr, connection))
    }
}
