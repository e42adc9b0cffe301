//! TCP listeners (Envoy's `envoy.filters.network.tcp_proxy`): each accepted connection runs
//! through the listener's proxy-wasm network filters (`filters`) and is proxied byte for
//! byte to an endpoint of a cluster (`pump`).

mod filters;
mod log;
mod pump;

use std::rc::Rc;

use weir_proxy_wasm::plugin::PluginHandle;

use crate::config::TcpProxyConfig;

pub use pump::serve;

/// A TCP listener as one worker runs it (part of its generation).
pub struct TcpProxy {
    /// The listener's name.
    pub name: String,
    /// The listener's metadata, serialized (`xds.listener_metadata`).
    pub metadata: bytes::Bytes,
    /// Where connections go.
    pub config: TcpProxyConfig,
    /// Its network filters, in order.
    pub filters: Vec<Rc<PluginHandle>>,
    /// The worker's clusters.
    pub upstreams: Rc<crate::upstream::Upstreams>,
    /// Most bytes held per direction (`buffer_limit_bytes`).
    pub buffer_limit: usize,
    /// Access log, if any.
    pub access_log: Option<std::sync::Arc<crate::access_log::AccessLog>>,
}

/// An accepted connection: its peer's address, the address it arrived on, its id.
#[derive(Debug, Clone, Copy)]
pub struct Accepted {
    /// The client's address.
    pub remote: std::net::SocketAddr,
    /// The listener's address the connection arrived on.
    pub local: std::net::SocketAddr,
    /// Process-unique connection id.
    pub id: u64,
}
