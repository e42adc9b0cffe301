//! One description of a scenario's two listeners — `faulty` and `healthy`, each with an
//! optional plugin, its own upstream and timeouts — rendered as `weir.yaml` and as an
//! equivalent Envoy bootstrap, so both proxies run the same `.wasm` the same way.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use serde_json::{Value, json};

/// A proxy-wasm plugin on one listener.
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

/// One listener of the layout.
#[derive(Debug, Clone)]
pub struct Side {
    /// Its plugin, if any.
    pub plugin: Option<PluginDef>,
    /// Where its only route forwards.
    pub upstream: SocketAddr,
    /// The route's timeout (`500ms`); default: each proxy's default (15 s).
    pub route_timeout: Option<String>,
    /// Listener `request_headers_timeout` (Envoy: the connection manager's).
    pub request_headers_timeout: Option<String>,
    /// Listener `request_timeout` (Envoy: the connection manager's).
    pub request_timeout: Option<String>,
}

impl Side {
    /// A listener forwarding to `upstream`, with `plugin`.
    pub fn new(upstream: SocketAddr, plugin: Option<PluginDef>) -> Side {
        Side { plugin, upstream, route_timeout: None, request_headers_timeout: None, request_timeout: None }
    }
}

/// The two listeners.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `faulty`: where the fault is.
    pub faulty: Side,
    /// `healthy`: what must keep working.
    pub healthy: Side,
}

impl Layout {
    fn sides(&self) -> [(&'static str, &Side); 2] {
        [("faulty", &self.faulty), ("healthy", &self.healthy)]
    }

    /// `weir.yaml` with the admin server on `admin_port`.
    pub fn weir(&self, admin_port: u16) -> anyhow::Result<String> {
        let mut listeners = Vec::new();
        let mut clusters = Vec::new();
        let mut plugins = Vec::new();
        for (name, side) in self.sides() {
            let listener = weir_listener(name, side);
            listeners.push(listener);
            clusters.push(json!({"name": name, "endpoints": [side.upstream.to_string()]}));
            if let Some(p) = &side.plugin {
                plugins.push(json!({
                    "name": p.name, "wasm": p.wasm, "vm_id": p.name,
                    "configuration": p.configuration, "failure_policy": p.failure_policy,
                    "limits": p.limits,
                }));
            }
        }
        let config = json!({
            "admin": {"address": format!("127.0.0.1:{admin_port}")},
            "listeners": listeners, "clusters": clusters, "plugins": plugins,
        });
        serde_norway::to_string(&config).context("weir config")
    }

    /// Envoy's bootstrap (admin and listeners on ephemeral ports).
    pub fn envoy(&self) -> anyhow::Result<String> {
        let mut listeners = Vec::new();
        let mut clusters = Vec::new();
        for (name, side) in self.sides() {
            let mut filters = Vec::new();
            if let Some(p) = &side.plugin {
                filters.push(json!({"name": p.name, "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                    "config": {
                        "name": p.name,
                        "root_id": "",
                        "vm_config": {
                            "vm_id": p.name,
                            "runtime": "envoy.wasm.runtime.v8",
                            "code": {"local": {"filename": p.wasm}},
                        },
                        "configuration": {
                            "@type": "type.googleapis.com/google.protobuf.StringValue",
                            "value": p.configuration,
                        },
                        "failure_policy": p.failure_policy,
                    }
                }}));
            }
            filters.push(json!({"name": "envoy.filters.http.router", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
            }}));
            let mut route = json!({"cluster": name});
            if let Some(t) = &side.route_timeout {
                route["timeout"] = json!(duration(t));
            }
            let mut hcm = json!({
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": name,
                "route_config": {"name": name, "virtual_hosts": [{
                    "name": "all", "domains": ["*"],
                    "routes": [{"name": "default", "match": {"prefix": "/"}, "route": route}],
                }]},
                "http_filters": filters,
            });
            for (key, value) in [
                ("request_headers_timeout", &side.request_headers_timeout),
                ("request_timeout", &side.request_timeout),
            ] {
                if let Some(v) = value {
                    hcm[key] = json!(duration(v));
                }
            }
            crate::hcm::apply(&weir_listener(name, side), &mut hcm)?;
            listeners.push(json!({
                "name": name,
                "address": socket(SocketAddr::from(([127, 0, 0, 1], 0))),
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": hcm,
                }]}],
            }));
            clusters.push(json!({
                "name": name, "type": "STATIC", "connect_timeout": "5s",
                "load_assignment": {"cluster_name": name, "endpoints": [
                    {"lb_endpoints": [{"endpoint": {"address": socket(side.upstream)}}]}
                ]},
            }));
        }
        let bootstrap = json!({
            "admin": {"address": socket(SocketAddr::from(([127, 0, 0, 1], 0)))},
            "static_resources": {"listeners": listeners, "clusters": clusters},
        });
        serde_norway::to_string(&bootstrap).context("envoy config")
    }
}

/// The weir listener of one side.
fn weir_listener(name: &str, side: &Side) -> Value {
    let mut route = json!({"cluster": name});
    if let Some(t) = &side.route_timeout {
        route["timeout"] = json!(t);
    }
    let mut listener = json!({
        "name": name,
        "address": "127.0.0.1:0",
        "http_filters": side.plugin.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
        "virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
            {"name": "default", "match": {"prefix": "/"}, "route": route}
        ]}],
    });
    for (key, value) in [
        ("request_headers_timeout", &side.request_headers_timeout),
        ("request_timeout", &side.request_timeout),
    ] {
        if let Some(v) = value {
            listener[key] = json!(v);
        }
    }
    listener
}

/// An Envoy `address`.
fn socket(addr: SocketAddr) -> Value {
    json!({"socket_address": {"address": addr.ip().to_string(), "port_value": addr.port()}})
}

/// weir's `250ms` / `2s` as a protobuf JSON duration (`0.250s`).
fn duration(text: &str) -> String {
    match text.strip_suffix("ms").and_then(|n| n.parse::<f64>().ok()) {
        Some(ms) => format!("{}s", ms / 1000.0),
        None => text.to_string(),
    }
}
