//! One description of a proxy's config — listeners, their routes and options, clusters, the
//! plugin chain with its `.wasm` files and configurations — rendered as a `weir.yaml`
//! ([`Twin::weir_yaml`]) and as the equivalent Envoy bootstrap ([`Twin::envoy_yaml`]), so both
//! proxies run the same filters the same way. Routes and listener options are written in
//! weir's schema; the Envoy side translates them.

mod defaults;
mod envoy;
mod envoy_route;
mod hcm;
mod model;
mod route;
mod tls;
mod weir;

pub use defaults::{AsWritten, ListenerDefaults, SafePaths};
pub use model::{Cluster, Listener, Plugin, VirtualHost};
pub use route::Route;
pub use tls::{CertificatePair, ClusterTls, ListenerTls};

use serde_json::Value;

/// A config for both proxies.
#[derive(Debug, Clone, Default)]
pub struct Twin {
    /// The admin server's port on 127.0.0.1 (0: ephemeral).
    pub admin_port: u16,
    /// The listeners.
    pub listeners: Vec<Listener>,
    /// The clusters.
    pub clusters: Vec<Cluster>,
    /// Every plugin, whether a listener's chain or only some routes name it.
    pub plugins: Vec<Plugin>,
    /// The proxy's identity (weir's `node`: `id`, `cluster`, `metadata`), given to Envoy's
    /// bootstrap `node` too.
    pub node: Option<Value>,
}

impl Twin {
    /// The plugin named `name`.
    pub fn plugin(&self, name: &str) -> anyhow::Result<&Plugin> {
        self.plugins
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| anyhow::anyhow!("no plugin `{name}` in the description"))
    }
}
