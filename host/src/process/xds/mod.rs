//! weir's side of xDS: starts the [`weir_xds::client`] for the `xds` section of `weir.yaml`
//! and applies what it receives: RTDS layers to the runtime values published to filters, ECDS
//! configs to the plugins that discover them (a reload that a failing `on_configure` refuses,
//! which NACKs the update and keeps the running plugins).

pub mod ecds;
pub mod rtds;
mod transport;

use std::sync::{Arc, Weak};
use std::time::Duration;

use envoy_types::pb::google::protobuf::Any;
use weir_xds::client::{ClientConfig, Handler, Subscription, XdsClient};
use weir_xds::types;

use crate::config::Config;
use crate::process::ProcessControl;

/// The subscriptions a config asks for: RTDS layer resources and ECDS plugin configs.
pub fn subscriptions(config: &Config) -> Vec<Subscription> {
    let mut subs = Vec::new();
    let mut layers: Vec<String> =
        config.runtime.layers.iter().filter_map(|l| l.rtds_resource().map(str::to_string)).collect();
    layers.dedup();
    if !layers.is_empty() {
        subs.push(Subscription { type_url: types::RUNTIME.into(), resource_names: layers });
    }
    let plugins: Vec<String> = config
        .plugins
        .iter()
        .filter_map(|p| {
            p.config_discovery.as_ref().map(|d| d.resource_name.clone().unwrap_or_else(|| p.name.clone()))
        })
        .collect();
    if !plugins.is_empty() {
        subs.push(Subscription { type_url: types::EXTENSION_CONFIG.into(), resource_names: plugins });
    }
    subs
}

/// Starts the client if the config has an `xds` section.
pub fn start(
    state: &Arc<dyn ProcessControl>,
    control: &tokio::runtime::Handle,
    config: &Config,
) -> Option<XdsClient> {
    let xds = config.xds.as_ref()?;
    let cluster = config.cluster(&xds.cluster);
    let endpoints = cluster.map(|c| c.endpoints.clone()).unwrap_or_default();
    let subscriptions = subscriptions(config);
    let node = config.node();
    let client_config = ClientConfig {
        endpoints,
        node_metadata: weir_xds::convert::json_to_struct(&serde_json::Value::Object(node.metadata)),
        node_id: node.id,
        node_cluster: node.cluster,
        subscriptions: subscriptions.clone(),
        initial_fetch_timeout: xds.initial_fetch_timeout,
        connect_timeout: cluster.map_or(Duration::from_secs(5), |c| c.connect_timeout),
        backoff: Default::default(),
        transport: cluster.and_then(|c| {
            let tls = c.tls.as_ref()?;
            Some(Arc::new(transport::TlsTransport::new(c, tls)) as Arc<dyn weir_xds::client::Transport>)
        }),
    };
    let handler = Arc::new(XdsHandler { state: Arc::downgrade(state), subscriptions });
    Some(XdsClient::start(control, client_config, handler))
}

struct XdsHandler {
    state: Weak<dyn ProcessControl>,
    subscriptions: Vec<Subscription>,
}

impl XdsHandler {
    fn names(&self, type_url: &str) -> &[String] {
        self.subscriptions.iter().find(|s| s.type_url == type_url).map_or(&[], |s| &s.resource_names)
    }
}

impl Handler for XdsHandler {
    fn apply(&self, type_url: &str, _version: &str, resources: Vec<Any>) -> Result<(), String> {
        let state = self.state.upgrade().ok_or("weir is stopping")?;
        let names = self.names(type_url);
        let result = match type_url {
            types::RUNTIME => rtds::decode(&resources, names).map(|layers| state.set_rtds_layers(layers)),
            types::EXTENSION_CONFIG => apply_ecds(&*state, &resources, names),
            other => Err(format!("weir does not consume {other}")),
        };
        state.generation().process.stats.xds_update(type_url, result.is_ok());
        result
    }

    fn connection(&self, connected: bool) {
        if let Some(state) = self.state.upgrade() {
            state.generation().process.stats.xds_connected.set(i64::from(connected));
        }
    }
}

fn apply_ecds(state: &dyn ProcessControl, resources: &[Any], subscribed: &[String]) -> Result<(), String> {
    let updates = resources.iter().map(ecds::decode).collect::<Result<Vec<_>, _>>()?;
    if let Some((name, _)) = updates.iter().find(|(n, _)| !subscribed.contains(n)) {
        return Err(format!("extension config `{name}` was not subscribed to"));
    }
    state.set_extension_configs(updates).map_err(|e| e.to_string())
}
