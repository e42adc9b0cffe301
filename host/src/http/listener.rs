//! What a listener's connections and exchanges run with on one worker: its routes, clusters,
//! limits and options (part of an immutable generation), and the connection a request came on.

use std::net::SocketAddr;
use std::rc::Rc;

use crate::router::RouteTable;
use crate::upstream::Upstreams;

/// A listener's configuration as one worker runs it (part of an immutable generation).
pub struct ListenerContext {
    /// Listener name.
    pub name: String,
    /// The listener's metadata, serialized (`xds.listener_metadata`).
    pub metadata: bytes::Bytes,
    /// Its routes.
    pub routes: RouteTable,
    /// The request tracer (`tracing`; `None`: off).
    pub tracer: Option<std::sync::Arc<crate::trace::Tracer>>,
    /// The worker's clusters.
    pub upstreams: Rc<Upstreams>,
    /// Largest body a plugin may buffer.
    pub buffer_limit: usize,
    /// Whole-request deadline (`None`: none).
    pub request_timeout: Option<std::time::Duration>,
    /// Stats handles.
    pub stats: crate::stats::ListenerStats,
    /// Access log, if any.
    pub access_log: Option<std::sync::Arc<crate::access_log::AccessLog>>,
    /// Limits applied to each downstream connection.
    pub limits: ConnectionLimits,
    /// Path normalization applied before routing and plugins.
    pub path_options: weir_path::Options,
    /// Envoy's `use_remote_address`: the listener faces clients (see `http::forwarded`).
    pub use_remote_address: bool,
    /// Envoy's `preserve_external_request_id`.
    pub preserve_external_request_id: bool,
    /// TLS terminated on this listener (`None`: plaintext).
    pub tls: Option<std::sync::Arc<weir_tls::ServerTls>>,
    /// Upgrade protocols proxied (lowercase; `upgrade_types`).
    pub upgrade_types: Vec<String>,
    /// A TCP listener's proxy and network filters (`None`: an HTTP listener).
    pub tcp: Option<Rc<crate::tcp::TcpProxy>>,
}

/// Limits of a downstream connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Most request headers (more: 431).
    pub max_headers: usize,
    /// Largest request head in bytes (larger: 431).
    pub max_header_bytes: usize,
    /// Largest response head sent downstream, in bytes (larger: 502).
    pub max_response_header_bytes: usize,
    /// Most response headers sent downstream (more: 502).
    pub max_response_headers: usize,
    /// Connection and exchange timeouts (see `http::watchdog`).
    pub timeouts: super::Timeouts,
    /// Most open connections of the listener, all workers together.
    pub max_connections: usize,
    /// Most concurrent HTTP/2 streams per connection.
    pub http2_max_concurrent_streams: u32,
    /// HTTP/2 ping interval (`None`: no pings).
    pub http2_keepalive_interval: Option<std::time::Duration>,
    /// Write HTTP/1.1 trailers whatever the client announced (`enable_trailers`).
    pub http1_trailers: bool,
}

/// The downstream connection a request arrived on.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// Peer address.
    pub remote: SocketAddr,
    /// Local address.
    pub local: SocketAddr,
    /// Process-unique id.
    pub id: u64,
    /// Its TLS, once the handshake is done (`None`: plaintext).
    pub tls: Option<std::sync::Arc<weir_http::TlsInfo>>,
}
