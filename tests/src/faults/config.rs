//! A scenario's two listeners — `faulty` and `healthy`, each with an optional plugin, its own
//! upstream, routes and listener options — plus extra clusters and route-level plugins, as one
//! `weir-testkit` [`Twin`] rendered as `weir.yaml` and as the equivalent Envoy bootstrap (with
//! weir's listener defaults), so both proxies run the same `.wasm` the same way.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::{Map, Value, json};
use weir_testkit::twin::{Cluster, Listener, Plugin, Route, Twin, VirtualHost};

use crate::weir_defaults::WeirDefaults;

/// A proxy-wasm plugin on one listener (or on the routes that name it).
#[derive(Debug, Clone)]
pub struct PluginDef {
    /// Plugin name (also its `vm_id`, so the two sides never share a VM).
    pub name: String,
    /// The module.
    pub wasm: PathBuf,
    /// Its configuration (bytes for `proxy_on_configure`).
    pub configuration: String,
    /// `FAIL_CLOSED`, `FAIL_OPEN` or `FAIL_RELOAD`.
    pub failure_policy: String,
    /// weir's `limits` (Envoy has no equivalent).
    pub limits: Value,
}

impl PluginDef {
    /// The abi-probe filter running `program` (its JSON configuration).
    pub fn probe(name: &str, program: &Value, failure_policy: &str) -> anyhow::Result<PluginDef> {
        Ok(PluginDef {
            name: name.into(),
            wasm: weir_testkit::paths::filter("abi-probe")?,
            configuration: program.to_string(),
            failure_policy: failure_policy.into(),
            limits: json!({}),
        })
    }
}

/// A route of a listener that does not use the default one (`prefix: /` to its upstream).
#[derive(Debug, Clone)]
pub struct RouteDef {
    /// Route name.
    pub name: String,
    /// Path prefix it matches.
    pub prefix: String,
    /// The cluster it forwards to (default: the listener's own).
    pub cluster: Option<String>,
    /// Forward to the cluster named by this request header instead.
    pub cluster_header: Option<String>,
    /// Its own chain (by plugin name) instead of the listener's; `Some(vec![])` runs none.
    pub plugins: Option<Vec<String>>,
}

impl RouteDef {
    /// A prefix route to the listener's cluster with the listener's chain.
    pub fn prefix(name: &str, prefix: &str) -> RouteDef {
        RouteDef {
            name: name.into(),
            prefix: prefix.into(),
            cluster: None,
            cluster_header: None,
            plugins: None,
        }
    }
}

/// A cluster besides the two sides' own (callout targets, `cluster_header` targets).
#[derive(Debug, Clone)]
pub struct ClusterDef {
    /// Name.
    pub name: String,
    /// Its one endpoint.
    pub addr: SocketAddr,
    /// Speak HTTP/2 (gRPC callouts).
    pub http2: bool,
    /// weir's `internal` (never reached through `cluster_header`; Envoy has no equivalent).
    pub internal: bool,
}

/// One listener of the layout.
#[derive(Debug, Clone)]
pub struct Side {
    /// Its plugin, if any.
    pub plugin: Option<PluginDef>,
    /// Where its routes forward (the cluster named as the side).
    pub upstream: SocketAddr,
    /// The route's timeout (`500ms`); default: each proxy's default (15 s).
    pub route_timeout: Option<String>,
    /// Listener `request_headers_timeout` (Envoy: the connection manager's).
    pub request_headers_timeout: Option<String>,
    /// Listener `request_timeout` (Envoy: the connection manager's).
    pub request_timeout: Option<String>,
    /// More weir listener fields (`idle_timeout`, `max_connections`, …); Envoy gets their
    /// equivalents (and `max_connections` as its listener runtime limit).
    pub options: Map<String, Value>,
    /// Routes instead of the default one.
    pub routes: Vec<RouteDef>,
}

impl Side {
    /// A listener forwarding to `upstream`, with `plugin`.
    pub fn new(upstream: SocketAddr, plugin: Option<PluginDef>) -> Side {
        Side {
            plugin,
            upstream,
            route_timeout: None,
            request_headers_timeout: None,
            request_timeout: None,
            options: Map::new(),
            routes: Vec::new(),
        }
    }

    /// Sets a weir listener field.
    pub fn with(mut self, field: &str, value: Value) -> Side {
        self.options.insert(field.into(), value);
        self
    }

    /// Its routes: the given ones, or the default one.
    fn routes(&self) -> Vec<RouteDef> {
        if self.routes.is_empty() { vec![RouteDef::prefix("default", "/")] } else { self.routes.clone() }
    }

    /// The side as listener `name`, its routes forwarding to the cluster named as the side.
    fn listener(&self, name: &str) -> Listener {
        let routes = self.routes().iter().map(|r| r.route(name, self.route_timeout.as_deref())).collect();
        let mut options = Map::new();
        for (key, value) in [
            ("request_headers_timeout", &self.request_headers_timeout),
            ("request_timeout", &self.request_timeout),
        ] {
            if let Some(v) = value {
                options.insert(key.into(), json!(v));
            }
        }
        options.extend(self.options.clone());
        let chain: Vec<&str> = self.plugin.iter().map(|p| p.name.as_str()).collect();
        Listener {
            virtual_hosts: vec![VirtualHost::any(routes)],
            options,
            ..Listener::new(name, Vec::new()).chain(&chain)
        }
    }
}

impl RouteDef {
    /// The route on listener `side` (whose cluster is named as the side).
    fn route(&self, side: &str, timeout: Option<&str>) -> Route {
        let route = Route::prefix(&self.name, &self.prefix);
        let mut route = match &self.cluster_header {
            Some(header) => route.to_cluster_header(header),
            None => route.to_cluster(self.cluster.as_deref().unwrap_or(side)),
        };
        if let Some(t) = timeout {
            route = route.timeout(t);
        }
        match &self.plugins {
            Some(plugins) => route.chain(plugins),
            None => route,
        }
    }
}

impl PluginDef {
    /// As both proxies run it.
    fn plugin(&self) -> Plugin {
        Plugin {
            vm_id: self.name.clone(),
            configuration: Some(self.configuration.clone()),
            failure_policy: Some(self.failure_policy.clone()),
            limits: Some(self.limits.clone()),
            ..Plugin::new(&self.name, &self.wasm)
        }
    }
}

/// The two listeners, and what they share.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `faulty`: where the fault is.
    pub faulty: Side,
    /// `healthy`: what must keep working.
    pub healthy: Side,
    /// Extra clusters.
    pub clusters: Vec<ClusterDef>,
    /// Plugins that run only on the routes naming them.
    pub route_plugins: Vec<PluginDef>,
}

impl Layout {
    /// Two listeners, nothing else.
    pub fn new(faulty: Side, healthy: Side) -> Layout {
        Layout { faulty, healthy, clusters: Vec::new(), route_plugins: Vec::new() }
    }

    fn sides(&self) -> [(&'static str, &Side); 2] {
        [("faulty", &self.faulty), ("healthy", &self.healthy)]
    }

    /// Both proxies' config, weir's admin server on `admin_port` (0: ephemeral).
    pub fn twin(&self, admin_port: u16) -> Twin {
        let mut listeners = Vec::new();
        let mut clusters = Vec::new();
        let mut plugins: Vec<Plugin> = self.route_plugins.iter().map(PluginDef::plugin).collect();
        for (name, side) in self.sides() {
            listeners.push(side.listener(name));
            clusters.push(Cluster::new(name, side.upstream));
            plugins.extend(side.plugin.iter().map(PluginDef::plugin));
        }
        clusters.extend(self.clusters.iter().map(|c| Cluster {
            http2: c.http2,
            internal: c.internal,
            ..Cluster::new(&c.name, c.addr)
        }));
        Twin { admin_port, listeners, clusters, plugins, node: None }
    }

    /// `weir.yaml` with the admin server on `admin_port`.
    pub fn weir(&self, admin_port: u16) -> anyhow::Result<String> {
        self.twin(admin_port).weir_yaml()
    }

    /// Envoy's bootstrap (admin and listeners on ephemeral ports).
    pub fn envoy(&self) -> anyhow::Result<String> {
        self.twin(0).envoy_yaml(&WeirDefaults)
    }
}
