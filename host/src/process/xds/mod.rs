//! weir's side of xDS: starts the [`weir_xds::client`] for the `xds` section of `weir.yaml`
//! and applies what it receives: RTDS layers to the runtime values published to filters, ECDS
//! configs to the plugins that discover them (a reload that a failing `on_configure` refuses,
//! which NACKs the update and keeps the running plugins), SDS secrets to the TLS listeners
//! that name them (refused, so NACKed, unless every listener accepts them).
//!
//! With `xds.cds`, clusters come from CDS and their endpoints from EDS ([`cds`]); with
//! `xds.lds`, listeners from LDS ([`lds`]); listeners with `rds` take their virtual hosts from
//! RDS ([`rds`]).
//!
//! Subscriptions are made once, from the configuration weir starts with (EDS follows CDS); a
//! reload that names a secret not subscribed to is refused (restart weir to add one).

pub mod cds;
pub mod ecds;
pub mod lds;
pub mod rds;
pub mod rtds;
pub mod sds;
mod transport;

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use envoy_types::pb::google::protobuf::Any;
use weir_xds::client::{Applied, ClientConfig, ClientStatus, Handler, Subscription, XdsClient};
use weir_xds::types;

use crate::config::{Config, ConfigError};
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
    let routes = rds::config_names(config);
    if !routes.is_empty() {
        subs.push(Subscription { type_url: types::ROUTE.into(), resource_names: routes });
    }
    if config.xds.as_ref().is_some_and(|x| x.lds) {
        // Every listener of this node; RDS follows what they name.
        subs.push(Subscription { type_url: types::LISTENER.into(), resource_names: Vec::new() });
    }
    if config.xds.as_ref().is_some_and(|x| x.cds) {
        // Every cluster of this node; EDS is subscribed as the clusters ask.
        subs.push(Subscription { type_url: types::CLUSTER.into(), resource_names: Vec::new() });
    }
    let secrets = secret_names(config);
    if !secrets.is_empty() {
        subs.push(Subscription { type_url: types::SECRET.into(), resource_names: secrets });
    }
    subs
}

/// The SDS secrets the listeners name, each once, in order.
fn secret_names(config: &Config) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in config.listeners.iter().filter_map(|l| l.tls.as_ref()).flat_map(|t| t.sds_names()) {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names
}

/// Refuses a configuration naming an SDS secret or an RDS route configuration the running
/// client did not subscribe to (subscriptions are made at start). Without a running client
/// there is nothing to compare.
pub fn check_subscribed(config: &Config, status: Option<&ClientStatus>) -> Result<(), ConfigError> {
    let Some(status) = status else { return Ok(()) };
    for (type_url, what, names) in [
        (types::SECRET, "SDS secret", secret_names(config)),
        (types::ROUTE, "RDS route configuration", rds::config_names(config)),
    ] {
        let subscribed = status.types.get(type_url).map_or(&[][..], |t| &t.resource_names);
        if let Some(name) = names.into_iter().find(|n| !subscribed.contains(n)) {
            return Err(ConfigError::invalid(
                "listeners",
                format!(
                    "{what} `{name}` was not subscribed to at start (xDS subscriptions are made once): restart weir to add it"
                ),
            ));
        }
    }
    Ok(())
}

/// After the initial fetch, waits until `deadline` (`None`: for ever, as a zero
/// `initial_fetch_timeout`) for every TLS listener's SDS secrets, as Envoy's listeners wait
/// for theirs; then warns of each listener still without them (it refuses handshakes until
/// they arrive).
pub fn wait_for_secrets(state: &dyn ProcessControl, deadline: Option<Instant>) {
    loop {
        let unready = state.generation().unready_tls();
        if unready.is_empty() {
            return;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            for (listener, secrets) in unready {
                tracing::warn!(
                    listener,
                    ?secrets,
                    "SDS secrets not received within initial_fetch_timeout: the listener refuses TLS handshakes until they arrive"
                );
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts the client if the config has an `xds` section.
pub fn start(
    state: &Arc<dyn ProcessControl>,
    control: &tokio::runtime::Handle,
    config: &Config,
) -> Option<XdsClient> {
    let xds = config.xds.as_ref()?;
    let cluster = config.cluster(&xds.cluster);
    let endpoints =
        cluster.map(|c| c.endpoints.iter().map(|e| e.address().to_string()).collect()).unwrap_or_default();
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
        // The cluster's keepalive, else PINGs every 30s answered within 10s.
        keepalive: cluster
            .and_then(|c| c.http2_keepalive)
            .map_or((Duration::from_secs(30), Duration::from_secs(10)), |k| (k.interval, k.timeout)),
        backoff: Default::default(),
        transport: cluster.and_then(|c| {
            let tls = c.tls.as_ref()?;
            Some(Arc::new(transport::TlsTransport::new(c, tls)) as Arc<dyn weir_xds::client::Transport>)
        }),
        delta: xds.api_type == crate::config::ApiType::DeltaGrpc,
        separate_streams: xds.separate_streams.iter().map(|t| t.type_url().to_string()).collect(),
    };
    let handler = Arc::new(XdsHandler {
        state: Arc::downgrade(state),
        subscriptions,
        clusters: cds::DynamicClusters::default(),
        routes: Arc::new(rds::DynamicRoutes::new(rds::config_names(config))),
        listeners: Arc::default(),
        warm_for: xds.initial_fetch_timeout,
    });
    Some(XdsClient::start(control, client_config, handler))
}

struct XdsHandler {
    state: Weak<dyn ProcessControl>,
    subscriptions: Vec<Subscription>,
    clusters: cds::DynamicClusters,
    routes: Arc<rds::DynamicRoutes>,
    listeners: Arc<lds::DynamicListeners>,
    /// How long an LDS listener waits for its routes (`xds.initial_fetch_timeout`).
    warm_for: Duration,
}

impl XdsHandler {
    fn names(&self, type_url: &str) -> &[String] {
        self.subscriptions.iter().find(|s| s.type_url == type_url).map_or(&[], |s| &s.resource_names)
    }
}

impl Handler for XdsHandler {
    fn apply(&self, type_url: &str, _version: &str, resources: Vec<Any>) -> Result<Applied, String> {
        let state = self.state.upgrade().ok_or("weir is stopping")?;
        let names = self.names(type_url);
        // Updates that ask nothing more of the client.
        let done = |r: Result<(), String>| r.map(|()| Applied::default());
        let result = match type_url {
            types::RUNTIME => {
                done(rtds::decode(&resources, names).map(|layers| state.set_rtds_layers(layers)))
            }
            types::EXTENSION_CONFIG => done(apply_ecds(&*state, &resources, names)),
            types::SECRET => done(
                sds::decode(&resources, names).and_then(|s| state.set_secrets(s).map_err(|e| e.to_string())),
            ),
            types::ROUTE => done(
                self.routes
                    .apply(&*state, &resources)
                    .and_then(|()| self.listeners.routes_arrived(&*state, &self.routes)),
            ),
            types::LISTENER => self.listeners.apply(&state, &self.routes, &resources, self.warm_for),
            types::CLUSTER => self.clusters.apply_cds(&*state, &resources),
            types::ENDPOINT => self.clusters.apply_eds(&*state, &resources),
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
