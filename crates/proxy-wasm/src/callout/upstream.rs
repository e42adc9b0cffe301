//! How callouts reach upstreams: the embedding proxy's clusters, seen through two traits. The
//! core frames, times and budgets the exchanges; the proxy picks endpoints and pools
//! connections (weir's `upstream` module implements these for its clusters).

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use http::{Request, Response};
use weir_http::{BoxBody, UpstreamError};

/// A future on the worker's thread.
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// A response from an upstream: its head, and its body as frames.
pub type UpstreamResult = Result<Response<BoxBody>, UpstreamError>;

/// The clusters a plugin's callouts may name, on one worker.
pub trait CalloutClusters {
    /// The cluster called `name`, if there is one.
    fn cluster(&self, name: &str) -> Option<Rc<dyn CalloutCluster>>;
}

/// One cluster, as callouts use it.
pub trait CalloutCluster {
    /// Its name (the `:authority` of gRPC callouts).
    fn name(&self) -> &str;

    /// Whether it speaks HTTP/2 to its endpoints (HTTP callouts follow it).
    fn http2(&self) -> bool;

    /// Sends one request over the cluster's own protocol (HTTP callouts).
    fn send(&self, request: Request<BoxBody>) -> LocalFuture<'_, UpstreamResult>;

    /// Sends one request over HTTP/2 whatever the cluster's protocol (gRPC callouts).
    fn send_h2(&self, request: Request<BoxBody>) -> LocalFuture<'_, UpstreamResult>;
}

/// No clusters at all (VMs that only validate a plugin, tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoClusters;

impl CalloutClusters for NoClusters {
    fn cluster(&self, _name: &str) -> Option<Rc<dyn CalloutCluster>> {
        None
    }
}
