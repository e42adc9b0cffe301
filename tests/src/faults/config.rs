//! One description of a scenario's two listeners — `faulty` and `healthy`, each with an
//! optional plugin, its own upstream, routes and listener options — plus extra clusters and
//! route-level plugins, rendered as `weir.yaml` here and as an equivalent Envoy bootstrap in
//! [`super::envoy_config`], so both proxies run the same `.wasm` the same way.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use serde_json::{Map, Value, json};

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
            wasm: crate::paths::filter("abi-probe")?,
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
    /// equivalents from `crate::hcm` (and `max_connections` as its listener runtime limit).
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
    pub(super) fn routes(&self) -> Vec<RouteDef> {
        if self.routes.is_empty() { vec![RouteDef::prefix("default", "/")] } else { self.routes.clone() }
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

    pub(super) fn sides(&self) -> [(&'static str, &Side); 2] {
        [("faulty", &self.faulty), ("healthy", &self.healthy)]
    }

    /// `weir.yaml` with the admin server on `admin_port`.
    pub fn weir(&self, admin_port: u16) -> anyhow::Result<String> {
        let mut listeners = Vec::new();
        let mut clusters = Vec::new();
        let mut plugins: Vec<Value> = self.route_plugins.iter().map(weir_plugin).collect();
        for (name, side) in self.sides() {
            listeners.push(weir_listener(name, side));
            clusters.push(json!({"name": name, "endpoints": [side.upstream.to_string()]}));
            plugins.extend(side.plugin.iter().map(weir_plugin));
        }
        for c in &self.clusters {
            clusters.push(json!({
                "name": c.name, "endpoints": [c.addr.to_string()], "http2": c.http2, "internal": c.internal,
            }));
        }
        let config = json!({
            "admin": {"address": format!("127.0.0.1:{admin_port}")},
            "listeners": listeners, "clusters": clusters, "plugins": plugins,
        });
        serde_norway::to_string(&config).context("weir config")
    }
}

fn weir_plugin(p: &PluginDef) -> Value {
    json!({
        "name": p.name, "wasm": p.wasm, "vm_id": p.name,
        "configuration": p.configuration, "failure_policy": p.failure_policy,
        "limits": p.limits,
    })
}

/// The weir listener of one side.
pub(super) fn weir_listener(name: &str, side: &Side) -> Value {
    let routes: Vec<Value> = side
        .routes()
        .iter()
        .map(|r| {
            let mut action = match &r.cluster_header {
                Some(header) => json!({"cluster_header": header}),
                None => json!({"cluster": r.cluster.as_deref().unwrap_or(name)}),
            };
            if let Some(t) = &side.route_timeout {
                action["timeout"] = json!(t);
            }
            let mut route = json!({"name": r.name, "match": {"prefix": r.prefix}, "route": action});
            if let Some(plugins) = &r.plugins {
                route["http_filters"] = json!(plugins);
            }
            route
        })
        .collect();
    let mut listener = json!({
        "name": name,
        "address": "127.0.0.1:0",
        "http_filters": side.plugin.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
        "virtual_hosts": [{"name": "all", "domains": ["*"], "routes": routes}],
    });
    for (key, value) in [
        ("request_headers_timeout", &side.request_headers_timeout),
        ("request_timeout", &side.request_timeout),
    ] {
        if let Some(v) = value {
            listener[key] = json!(v);
        }
    }
    for (key, value) in &side.options {
        listener[key] = value.clone();
    }
    listener
}
