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

/// A TCP listener as one worker runs it (part of its [`crate::http::ListenerContext`]).
pub struct TcpProxy {
    /// Where connections go.
    pub config: TcpProxyConfig,
    /// Its network filters, in order.
    pub filters: Vec<Rc<PluginHandle>>,
}
