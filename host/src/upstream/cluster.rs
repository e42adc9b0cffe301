//! A cluster: its endpoints and round-robin selection.

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;

use super::UpstreamError;
use super::pool::{Connection, Pool};
use crate::config::ClusterConfig;

/// One upstream cluster on one worker.
#[derive(Debug)]
pub struct Cluster {
    config: ClusterConfig,
    endpoints: Vec<Rc<Pool>>,
    next: Cell<usize>,
}

impl Cluster {
    /// A cluster with a connection pool per endpoint.
    pub fn new(config: ClusterConfig) -> Cluster {
        let endpoints = config
            .endpoints
            .iter()
            .map(|addr| Rc::new(Pool::new(*addr, config.http2, config.connect_timeout)))
            .collect();
        Cluster { config, endpoints, next: Cell::new(0) }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Whether endpoints speak HTTP/2.
    pub fn http2(&self) -> bool {
        self.config.http2
    }

    /// Picks an endpoint (round robin) and returns a ready connection to it.
    pub async fn connect(&self) -> Result<(SocketAddr, Connection), UpstreamError> {
        let pool = self.pick()?;
        let addr = pool.addr();
        let conn = pool.acquire().await?;
        Ok((addr, conn))
    }

    /// Like [`Cluster::connect`], always over HTTP/2 (for gRPC).
    pub async fn connect_h2(&self) -> Result<(SocketAddr, Connection), UpstreamError> {
        let pool = self.pick()?;
        let conn = pool.acquire_h2().await?;
        Ok((pool.addr(), conn))
    }

    fn pick(&self) -> Result<Rc<Pool>, UpstreamError> {
        let count = self.endpoints.len();
        if count == 0 {
            return Err(UpstreamError::ConnectFailure("no endpoints".into()));
        }
        let index = self.next.get() % count;
        self.next.set(index.wrapping_add(1));
        Ok(self.endpoints[index].clone())
    }
}
