//! Generates the weir config and the Envoy bootstrap of a case from one description, so both
//! hosts run the same filters, routes and clusters.

use std::net::SocketAddr;

use anyhow::Context;
use serde_json::{Value, json};

use super::{Case, ClusterTarget};

fn default_vhosts() -> Value {
    json!([{
        "name": "all",
        "domains": ["*"],
        "routes": [{"name": "default", "match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]
    }])
}

/// Where a case's clusters point.
#[derive(Debug, Clone)]
pub struct Targets {
    /// The echo server.
    pub echo: SocketAddr,
    /// A closed port.
    pub dead: SocketAddr,
    /// The gRPC test server, when the case uses one.
    pub grpc: Option<SocketAddr>,
    /// Tagged echo servers by cluster name.
    pub tagged: Vec<(String, SocketAddr)>,
}

fn clusters(case: &Case, targets: &Targets) -> Vec<(String, SocketAddr, bool)> {
    let mut out = vec![("upstream".to_string(), targets.echo, false)];
    for c in &case.clusters {
        let (addr, http2) = match c.target {
            ClusterTarget::Echo => (targets.echo, c.http2),
            ClusterTarget::Dead => (targets.dead, c.http2),
            ClusterTarget::Grpc => (targets.grpc.unwrap_or(targets.dead), true),
            ClusterTarget::Tagged => {
                let addr =
                    targets.tagged.iter().find(|(n, _)| *n == c.name).map_or(targets.dead, |(_, a)| *a);
                (addr, c.http2)
            }
        };
        out.push((c.name.clone(), addr, http2));
    }
    out
}

fn config_string(value: &Option<Value>) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    }
}

/// weir's `weir.yaml` for the case.
pub fn weir_config(case: &Case, targets: &Targets) -> anyhow::Result<String> {
    let mut plugins = Vec::new();
    for p in &case.plugins {
        let mut plugin = json!({
            "name": p.name(),
            "wasm": crate::paths::filter(&p.filter)?,
            "root_id": p.root_id,
            "vm_id": p.vm_id,
        });
        if let Some(c) = config_string(&p.configuration) {
            plugin["configuration"] = Value::String(c);
        }
        if let Some(c) = config_string(&p.vm_configuration) {
            plugin["vm_configuration"] = Value::String(c);
        }
        if let Some(policy) = &p.failure_policy {
            plugin["failure_policy"] = Value::String(policy.clone());
        }
        if p.allow_on_headers_stop_iteration {
            plugin["allow_on_headers_stop_iteration"] = Value::Bool(true);
        }
        if let Some(env) = &p.environment_variables {
            plugin["environment_variables"] = env.clone();
        }
        plugins.push(plugin);
    }
    let mut config = json!({
        "admin": {"address": "127.0.0.1:0"},
        "listeners": [weir_listener(case)],
        "clusters": clusters(case, targets).into_iter().map(|(name, addr, http2)| json!({
            "name": name, "endpoints": [addr.to_string()], "http2": http2,
        })).collect::<Vec<_>>(),
        "plugins": plugins,
    });
    if let Some(node) = &case.node {
        config["node"] = node.clone();
    }
    serde_norway::to_string(&config).context("weir config")
}

/// The case's weir listener.
fn weir_listener(case: &Case) -> Value {
    let mut listener = json!({
        "name": "main",
        "address": "127.0.0.1:0",
        "http_filters": case.plugins.iter().map(|p| p.name()).collect::<Vec<_>>(),
        "virtual_hosts": case.virtual_hosts.clone().unwrap_or_else(default_vhosts),
    });
    if let (Some(fields), Some(extra)) = (listener.as_object_mut(), &case.listener) {
        fields.extend(extra.clone());
    }
    listener
}

/// Envoy's bootstrap for the case.
pub fn envoy_config(case: &Case, targets: &Targets) -> anyhow::Result<String> {
    let mut filters = Vec::new();
    for p in &case.plugins {
        let wasm = crate::paths::filter(&p.filter)?;
        let mut vm_config = json!({
            "vm_id": p.vm_id,
            "runtime": "envoy.wasm.runtime.v8",
            "code": {"local": {"filename": wasm}},
        });
        if let Some(c) = config_string(&p.vm_configuration) {
            vm_config["configuration"] = string_value(&c);
        }
        if let Some(env) = &p.environment_variables {
            vm_config["environment_variables"] = env.clone();
        }
        let mut config = json!({
            "name": p.name(),
            "root_id": p.root_id,
            "vm_config": vm_config,
            "failure_policy": p.failure_policy.clone().unwrap_or_else(|| "FAIL_CLOSED".into()),
        });
        if p.allow_on_headers_stop_iteration {
            config["allow_on_headers_stop_iteration"] = Value::Bool(true);
        }
        if let Some(c) = config_string(&p.configuration) {
            config["configuration"] = string_value(&c);
        }
        filters.push(json!({
            "name": p.name(),
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                "config": config,
            }
        }));
    }
    filters.push(json!({
        "name": "envoy.filters.http.router",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}
    }));
    let vhosts = case.virtual_hosts.clone().unwrap_or_else(default_vhosts);
    let vhosts: Vec<Value> = vhosts
        .as_array()
        .context("virtual_hosts must be a list")?
        .iter()
        .map(envoy_vhost)
        .collect::<anyhow::Result<_>>()?;
    let clusters: Vec<Value> = clusters(case, targets)
        .into_iter()
        .map(|(name, addr, http2)| envoy_cluster(&name, addr, http2))
        .collect();
    let mut hcm = json!({
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "main",
        "route_config": {"name": "local_route", "virtual_hosts": vhosts},
        "http_filters": filters,
    });
    crate::hcm::apply(&weir_listener(case), &mut hcm)?;
    let mut bootstrap = json!({
        "admin": {"address": socket(SocketAddr::from(([127, 0, 0, 1], 0)))},
        "static_resources": {
            "listeners": [{
                "name": "main",
                "address": socket(SocketAddr::from(([127, 0, 0, 1], 0))),
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": hcm,
                }]}]
            }],
            "clusters": clusters,
        }
    });
    if let Some(node) = &case.node {
        bootstrap["node"] = node.clone();
    }
    serde_norway::to_string(&bootstrap).context("envoy config")
}

/// A `google.protobuf.StringValue` in an `Any`.
pub fn string_value(value: &str) -> Value {
    json!({"@type": "type.googleapis.com/google.protobuf.StringValue", "value": value})
}

/// An Envoy `address` for `addr`.
pub fn socket(addr: SocketAddr) -> Value {
    json!({"socket_address": {"address": addr.ip().to_string(), "port_value": addr.port()}})
}

/// A static Envoy cluster with one endpoint.
pub fn envoy_cluster(name: &str, addr: SocketAddr, http2: bool) -> Value {
    let mut cluster = json!({
        "name": name,
        "type": "STATIC",
        "connect_timeout": "5s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": socket(addr)}}]}]
        }
    });
    if http2 {
        cluster["typed_extension_protocol_options"] = json!({
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}}
            }
        });
    }
    cluster
}

/// Translates one weir virtual host into Envoy's schema.
pub fn envoy_vhost(vhost: &Value) -> anyhow::Result<Value> {
    let routes: Vec<Value> =
        vhost["routes"].as_array().context("routes must be a list")?.iter().map(envoy_route).collect();
    Ok(json!({"name": vhost["name"], "domains": vhost["domains"], "routes": routes}))
}

fn envoy_route(route: &Value) -> Value {
    let m = &route["match"];
    let mut matcher = json!({});
    if let Some(p) = m.get("prefix") {
        matcher["prefix"] = p.clone();
    } else if let Some(p) = m.get("path") {
        matcher["path"] = p.clone();
    } else if let Some(r) = m.get("regex") {
        matcher["safe_regex"] = json!({"regex": r});
    }
    if let Some(headers) = m.get("headers").and_then(Value::as_array) {
        matcher["headers"] = Value::Array(headers.iter().map(envoy_header_matcher).collect());
    }
    let mut out = json!({"match": matcher});
    if let Some(name) = route.get("name") {
        out["name"] = name.clone();
    }
    if let Some(action) = route.get("route") {
        let mut r = json!({});
        for key in ["cluster", "cluster_header", "timeout", "prefix_rewrite"] {
            if let Some(v) = action.get(key) {
                r[key] = v.clone();
            }
        }
        if let Some(v) = action.get("host_rewrite") {
            r["host_rewrite_literal"] = v.clone();
        }
        out["route"] = r;
    }
    if let Some(direct) = route.get("direct_response") {
        out["direct_response"] = json!({
            "status": direct["status"],
            "body": {"inline_string": direct.get("body").cloned().unwrap_or(json!(""))}
        });
    }
    out
}

fn envoy_header_matcher(h: &Value) -> Value {
    let mut out = json!({"name": h["name"]});
    if let Some(v) = h.get("exact") {
        out["string_match"] = json!({"exact": v});
    } else if let Some(v) = h.get("prefix") {
        out["string_match"] = json!({"prefix": v});
    } else if let Some(v) = h.get("regex") {
        out["string_match"] = json!({"safe_regex": {"regex": v}});
    } else if let Some(v) = h.get("present") {
        out["present_match"] = v.clone();
    }
    if let Some(v) = h.get("invert") {
        out["invert_match"] = v.clone();
    }
    out
}
