//! The seams between the proxy-wasm core and the proxy that embeds it, in the spirit of
//! proxy-wasm-cpp-host's `context_interface.h`: the core calls out only through these (and
//! reads the exchange state, [`weir_http::StreamShared`], which both share as vocabulary).
//!
//! - [`CalloutClusters`] / [`CalloutCluster`]: the proxy's clusters, for HTTP and gRPC
//!   callouts (weir's `upstream::Upstreams` implements them). The core frames, times and
//!   budgets the exchanges; the proxy picks endpoints and pools connections.
//! - [`Events`]: what the proxy counts in its own statistics.

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

    /// Whether its connections use TLS (an HTTP callout with `:scheme: https` needs it).
    fn tls(&self) -> bool;

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

/// What the core tells the embedding proxy as it happens, for the proxy's own statistics.
pub trait Events: Send + Sync + std::fmt::Debug {
    /// A plugin's hostcall was refused because of the limit named `limit` (its config field).
    fn limit_exceeded(&self, plugin: &str, limit: &'static str);
}

/// Events nobody listens to.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEvents;

impl Events for NoEvents {
    fn limit_exceeded(&self, _plugin: &str, _limit: &'static str) {}
}
