//! The Envoy bootstrap equivalent to a [`Layout`]'s `weir.yaml`: one HTTP connection manager
//! per side (listener options through `crate::hcm`), its plugin as a Wasm filter, route-level
//! chains as per-route filter configs (a plugin only some routes run is in the chain and
//! disabled on the others), extra clusters, and `max_connections` as the listener's runtime
//! connection limit.

use std::net::SocketAddr;

use anyhow::Context;
use serde_json::{Map, Value, json};

use super::config::{Layout, PluginDef, Side, weir_listener};

impl Layout {
    /// Envoy's bootstrap (admin and listeners on ephemeral ports).
    pub fn envoy(&self) -> anyhow::Result<String> {
        let mut listeners = Vec::new();
        let mut clusters = Vec::new();
        let mut runtime = Map::new();
        for (name, side) in self.sides() {
            listeners.push(self.envoy_listener(name, side)?);
            clusters.push(cluster(name, side.upstream, false));
            if let Some(n) = side.options.get("max_connections") {
                runtime.insert(format!("envoy.resource_limits.listener.{name}.connection_limit"), n.clone());
            }
        }
        clusters.extend(self.clusters.iter().map(|c| cluster(&c.name, c.addr, c.http2)));
        let mut bootstrap = json!({
            "admin": {"address": socket(SocketAddr::from(([127, 0, 0, 1], 0)))},
            "static_resources": {"listeners": listeners, "clusters": clusters},
        });
        if !runtime.is_empty() {
            bootstrap["layered_runtime"] = json!({"layers": [{"name": "static", "static_layer": runtime}]});
        }
        serde_norway::to_string(&bootstrap).context("envoy config")
    }

    fn envoy_listener(&self, name: &str, side: &Side) -> anyhow::Result<Value> {
        let routes = side.routes();
        // Route-level plugins this side's routes name: in the chain, and disabled on every
        // route that does not name them (Envoy cannot enable a Wasm filter per route without
        // a per-route config, which the Wasm filter has not).
        let named: Vec<&PluginDef> = self
            .route_plugins
            .iter()
            .filter(|p| routes.iter().any(|r| r.plugins.as_ref().is_some_and(|l| l.contains(&p.name))))
            .collect();
        let chain: Vec<&PluginDef> = side.plugin.iter().chain(named.iter().copied()).collect();
        let mut filters: Vec<Value> = chain.iter().map(|p| wasm_filter(p)).collect();
        filters.push(json!({"name": "envoy.filters.http.router", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
        }}));
        let mut envoy_routes = Vec::new();
        for r in &routes {
            let mut action = match &r.cluster_header {
                Some(header) => json!({"cluster_header": header}),
                None => json!({"cluster": r.cluster.as_deref().unwrap_or(name)}),
            };
            if let Some(t) = &side.route_timeout {
                action["timeout"] = json!(duration(t));
            }
            let mut route = json!({"name": r.name, "match": {"prefix": r.prefix}, "route": action});
            // Off on this route: what its own chain leaves out, or (with the listener's
            // chain) the route-level plugins.
            let off: Vec<&&PluginDef> = match &r.plugins {
                Some(own) => chain.iter().filter(|p| !own.contains(&p.name)).collect(),
                None => named.iter().collect(),
            };
            if !off.is_empty() {
                let disabled = json!({"@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig", "disabled": true});
                let per_filter: Map<String, Value> =
                    off.iter().map(|p| (p.name.clone(), disabled.clone())).collect();
                route["typed_per_filter_config"] = Value::Object(per_filter);
            }
            envoy_routes.push(route);
        }
        let mut hcm = json!({
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": name,
            "route_config": {"name": name, "virtual_hosts": [{
                "name": "all", "domains": ["*"], "routes": envoy_routes,
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
        Ok(json!({
            "name": name,
            "address": socket(SocketAddr::from(([127, 0, 0, 1], 0))),
            "filter_chains": [{"filters": [{
                "name": "envoy.filters.network.http_connection_manager",
                "typed_config": hcm,
            }]}],
        }))
    }
}

/// Envoy's Wasm HTTP filter running `p`.
fn wasm_filter(p: &PluginDef) -> Value {
    json!({"name": p.name, "typed_config": {
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
    }})
}

fn cluster(name: &str, addr: SocketAddr, http2: bool) -> Value {
    let mut cluster = json!({
        "name": name, "type": "STATIC", "connect_timeout": "5s",
        "load_assignment": {"cluster_name": name, "endpoints": [
            {"lb_endpoints": [{"endpoint": {"address": socket(addr)}}]}
        ]},
    });
    if http2 {
        cluster["typed_extension_protocol_options"] = json!({
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        });
    }
    cluster
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
