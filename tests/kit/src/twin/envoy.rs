//! A [`Twin`] as the equivalent Envoy bootstrap: one HTTP connection manager per listener
//! (its options through [`super::hcm`]), plugins as `envoy.filters.http.wasm` filters
//! (route-level chains as filters disabled per route), static clusters, TLS as transport
//! sockets (see [`super::tls`]), and `max_connections` as the listener's runtime connection
//! limit.

use std::net::SocketAddr;

use anyhow::Context;
use serde_json::{Map, Value, json};

use super::weir::weir_listener;
use super::{Cluster, Listener, ListenerDefaults, Plugin, Twin, envoy_route, hcm};

impl Twin {
    /// Envoy's bootstrap.
    pub fn envoy_yaml(&self, defaults: &dyn ListenerDefaults) -> anyhow::Result<String> {
        serde_norway::to_string(&self.envoy_json(defaults)?).context("envoy config")
    }

    /// Envoy's bootstrap for the twin, plus a copy of its first listener named `name` on
    /// `port` whose first HTTP filter is `native` (one of Envoy's own filters, the behaviour
    /// reference for a Wasm filter on the first listener). `reference` then edits the copy's
    /// connection manager (per-filter configs on its routes); returns the bootstrap as YAML.
    pub fn envoy_yaml_with_reference(
        &self,
        name: &str,
        port: u16,
        native: Value,
        reference: impl FnOnce(&mut Value),
    ) -> anyhow::Result<String> {
        let mut bootstrap = self.envoy_json(&super::AsWritten)?;
        let listeners = bootstrap["static_resources"]["listeners"].as_array_mut().context("no listeners")?;
        let mut copy = listeners.first().context("no listener to copy")?.clone();
        copy["name"] = json!(name);
        copy["address"]["socket_address"]["port_value"] = json!(port);
        let hcm = &mut copy["filter_chains"][0]["filters"][0]["typed_config"];
        hcm["stat_prefix"] = json!(name);
        let filters = hcm["http_filters"].as_array_mut().context("no http_filters")?;
        *filters.first_mut().context("no HTTP filter to replace")? = native;
        reference(hcm);
        listeners.push(copy);
        serde_norway::to_string(&bootstrap).context("envoy config")
    }

    /// Envoy's bootstrap as JSON.
    pub fn envoy_json(&self, defaults: &dyn ListenerDefaults) -> anyhow::Result<Value> {
        let mut listeners = Vec::new();
        let mut runtime = Map::new();
        for l in &self.listeners {
            listeners.push(self.envoy_listener(l, defaults)?);
            if let Some(n) = l.options.get("max_connections") {
                runtime
                    .insert(format!("envoy.resource_limits.listener.{}.connection_limit", l.name), n.clone());
            }
        }
        let clusters: Vec<Value> = self.clusters.iter().map(envoy_cluster).collect();
        let mut bootstrap = json!({
            "admin": {"address": socket(local(self.admin_port))},
            "static_resources": {"listeners": listeners, "clusters": clusters},
        });
        if !runtime.is_empty() {
            bootstrap["layered_runtime"] = json!({"layers": [{"name": "static", "static_layer": runtime}]});
        }
        if let Some(node) = &self.node {
            bootstrap["node"] = node.clone();
        }
        Ok(bootstrap)
    }

    fn envoy_listener(&self, l: &Listener, defaults: &dyn ListenerDefaults) -> anyhow::Result<Value> {
        let chain: Vec<&Plugin> =
            l.http_filters.iter().map(|name| self.plugin(name)).collect::<anyhow::Result<_>>()?;
        // Plugins only some routes run: in the chain after the listener's, and disabled on every
        // route that does not run them (Envoy's Wasm filter has no per-route config to enable
        // one with).
        let mut named = Vec::new();
        for l_route in l.routes() {
            named.extend(l_route.own_chain()?.unwrap_or_default());
        }
        let route_level: Vec<&Plugin> = self
            .plugins
            .iter()
            .filter(|p| named.contains(&p.name) && !l.http_filters.contains(&p.name))
            .collect();
        let all: Vec<&Plugin> = chain.iter().chain(route_level.iter()).copied().collect();
        let mut filters: Vec<Value> = all.iter().map(|p| wasm_filter(p)).collect();
        filters.push(json!({"name": "envoy.filters.http.router", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
        }}));
        let mut virtual_hosts = Vec::new();
        for v in &l.virtual_hosts {
            let mut routes = Vec::new();
            for r in &v.routes {
                let off: Vec<&str> = match r.own_chain()? {
                    Some(own) => {
                        all.iter().filter(|p| !own.contains(&p.name)).map(|p| p.name.as_str()).collect()
                    }
                    None => route_level.iter().map(|p| p.name.as_str()).collect(),
                };
                routes.push(envoy_route::route(r, &off)?);
            }
            virtual_hosts.push(json!({"name": v.name, "domains": v.domains, "routes": routes}));
        }
        let mut hcm = json!({
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": l.name,
            "route_config": {"name": l.name, "virtual_hosts": virtual_hosts},
            "http_filters": filters,
        });
        let completed =
            defaults.complete(&weir_listener(l)).with_context(|| format!("listener {}", l.name))?;
        if let Some(fields) = hcm.as_object_mut() {
            fields.extend(hcm::fields(&completed)?);
        }
        let mut chain = json!({"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": hcm,
        }]});
        let mut listener = json!({"name": l.name, "address": socket(local(l.port))});
        if let Some(tls) = &l.tls {
            chain["transport_socket"] = tls.envoy();
            listener["listener_filters"] = json!([super::tls::tls_inspector()]);
        }
        listener["filter_chains"] = json!([chain]);
        Ok(listener)
    }
}

/// Envoy's Wasm HTTP filter running `p`.
fn wasm_filter(p: &Plugin) -> Value {
    let mut vm_config = json!({
        "vm_id": p.vm_id,
        "runtime": "envoy.wasm.runtime.v8",
        "code": {"local": {"filename": p.wasm}},
    });
    if let Some(c) = &p.vm_configuration {
        vm_config["configuration"] = string_value(c);
    }
    if let Some(env) = &p.environment_variables {
        vm_config["environment_variables"] = env.clone();
    }
    let mut config = json!({
        "name": p.name,
        "root_id": p.root_id,
        "vm_config": vm_config,
        "failure_policy": p.failure_policy.as_deref().unwrap_or("FAIL_CLOSED"),
    });
    if let Some(c) = &p.configuration {
        config["configuration"] = string_value(c);
    }
    if p.allow_on_headers_stop_iteration {
        config["allow_on_headers_stop_iteration"] = json!(true);
    }
    json!({"name": p.name, "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
        "config": config,
    }})
}

/// A static Envoy cluster with its endpoints, in order.
fn envoy_cluster(c: &Cluster) -> Value {
    let endpoints: Vec<Value> = std::iter::once(&c.endpoint)
        .chain(&c.more_endpoints)
        .map(|e| json!({"endpoint": {"address": socket(*e)}}))
        .collect();
    let mut cluster = json!({
        "name": c.name,
        "type": "STATIC",
        "connect_timeout": "5s",
        "load_assignment": {
            "cluster_name": c.name,
            "endpoints": [{"lb_endpoints": endpoints}]
        }
    });
    if let Some(metadata) = &c.metadata {
        cluster["metadata"] = metadata.clone();
    }
    if let Some(policy) = &c.lb_policy {
        cluster["lb_policy"] = json!(policy.to_ascii_uppercase());
    }
    if let Some(tls) = &c.tls {
        cluster["transport_socket"] = tls.envoy();
    }
    let explicit = match (c.http2, c.http1_trailers) {
        (true, _) => Some(json!({"http2_protocol_options": {}})),
        (false, true) => Some(json!({"http_protocol_options": {"enable_trailers": true}})),
        (false, false) => None,
    };
    if let Some(explicit) = explicit {
        cluster["typed_extension_protocol_options"] = json!({
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": explicit
            }
        });
    }
    cluster
}

/// A `google.protobuf.StringValue` in an `Any`.
fn string_value(value: &str) -> Value {
    json!({"@type": "type.googleapis.com/google.protobuf.StringValue", "value": value})
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// An Envoy `address`.
fn socket(addr: SocketAddr) -> Value {
    json!({"socket_address": {"address": addr.ip().to_string(), "port_value": addr.port()}})
}
