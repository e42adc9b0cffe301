//! What the admin API and the xDS glue may ask of the running process: one narrow trait, so
//! they depend on it and not on how the process keeps its state (`ServerState` implements it).

use std::net::SocketAddr;
use std::sync::Arc;

use weir_runtime::Layer;
use weir_xds::client::ClientStatus;

use super::{Generation, StartError};
use std::collections::BTreeMap;

use crate::config::{
    ClusterConfig, Config, ConfigError, ListenerConfig, PluginConfig, PluginOverride, VirtualHostConfig,
};

/// The running process, as the admin API and xDS see it. Every change is validated and tried
/// on a canary first; on failure nothing changes and the error says why.
pub trait ProcessControl: Send + Sync + 'static {
    /// The generation serving now.
    fn generation(&self) -> Arc<Generation>;

    /// The listeners' bound addresses, by name.
    fn listeners(&self) -> Vec<(String, SocketAddr)>;

    /// Whether listeners accept connections (start-up, with the xDS initial fetch, done).
    fn is_serving(&self) -> bool;

    /// The xDS client's status, if it runs.
    fn xds_status(&self) -> Option<ClientStatus>;

    /// Applies a new `weir.yaml` (ECDS configs received stay applied on top).
    fn reload(&self, config: Config) -> Result<(), StartError>;

    /// Changes the running `weir.yaml` config with `edit` (the plugin API); `edit`'s error
    /// comes back as [`StartError::Config`].
    fn update_config(
        &self,
        edit: &mut dyn FnMut(&mut Config) -> Result<(), ConfigError>,
    ) -> Result<(), StartError>;

    /// Applies ECDS plugin configs (added to those received before), as a whole or not at all.
    fn set_extension_configs(&self, updates: Vec<(String, PluginOverride)>) -> Result<(), StartError>;

    /// Replaces RTDS layers (by resource name) and publishes the runtime values if they moved.
    fn set_rtds_layers(&self, layers: Vec<(String, Layer)>);

    /// Sets (or, with an empty value, removes) keys of the admin runtime layer and publishes
    /// the runtime values if they moved; refused without an admin layer or past its cap.
    fn modify_runtime(&self, changes: Vec<(String, String)>) -> Result<(), String>;

    /// Applies SDS secrets (added to those received before), as a whole or not at all: every
    /// TLS listener must accept them; then new handshakes use them (open connections keep
    /// theirs).
    fn set_secrets(&self, secrets: Vec<(String, weir_tls::Secret)>) -> Result<(), StartError>;

    /// Replaces the clusters from CDS/EDS (those ready to serve, next to `weir.yaml`'s), as a
    /// whole or not at all.
    fn set_xds_clusters(&self, clusters: Vec<ClusterConfig>) -> Result<(), StartError>;

    /// Replaces the virtual hosts of `rds` listeners (by listener name) with those from RDS,
    /// as a whole or not at all.
    fn set_xds_routes(&self, routes: BTreeMap<String, Vec<VirtualHostConfig>>) -> Result<(), StartError>;

    /// Replaces the listeners from LDS (with the plugins their filters need, and the virtual
    /// hosts of their `rds`, by listener name), as a whole or not at all: added listeners
    /// start, removed ones drain.
    fn set_xds_listeners(
        &self,
        listeners: Vec<ListenerConfig>,
        plugins: Vec<PluginConfig>,
        routes: BTreeMap<String, Vec<VirtualHostConfig>>,
    ) -> Result<(), StartError>;
}
