//! A [`Twin`] as `weir.yaml`.

use anyhow::Context;
use serde_json::{Value, json};

use super::{Cluster, Listener, Plugin, Twin};

impl Twin {
    /// `weir.yaml`.
    pub fn weir_yaml(&self) -> anyhow::Result<String> {
        serde_norway::to_string(&self.weir_json()).context("weir config")
    }

    /// `weir.yaml` as JSON.
    pub fn weir_json(&self) -> Value {
        let mut config = json!({
            "admin": {"address": format!("127.0.0.1:{}", self.admin_port)},
            "listeners": self.listeners.iter().map(weir_listener_with_tls).collect::<Vec<_>>(),
            "clusters": self.clusters.iter().map(weir_cluster).collect::<Vec<_>>(),
            "plugins": self.plugins.iter().map(weir_plugin).collect::<Vec<_>>(),
        });
        if let Some(node) = &self.node {
            config["node"] = node.clone();
        }
        config
    }
}

/// A listener as `weir.yaml` has it, with its `tls`.
fn weir_listener_with_tls(l: &Listener) -> Value {
    let mut listener = weir_listener(l);
    if let Some(tls) = &l.tls {
        listener["tls"] = tls.weir();
    }
    listener
}

/// A listener as `weir.yaml` has it, without its `tls` (what Envoy's connection manager is
/// built from).
pub(super) fn weir_listener(l: &Listener) -> Value {
    let mut listener = json!({
        "name": l.name,
        "address": format!("127.0.0.1:{}", l.port),
        "http_filters": l.http_filters,
        "virtual_hosts": l.virtual_hosts.iter().map(|v| json!({
            "name": v.name,
            "domains": v.domains,
            "routes": v.routes.iter().map(super::Route::weir).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    if let Some(fields) = listener.as_object_mut() {
        fields.extend(l.options.clone());
    }
    listener
}

fn weir_cluster(c: &Cluster) -> Value {
    let endpoints: Vec<String> =
        std::iter::once(&c.endpoint).chain(&c.more_endpoints).map(|e| e.to_string()).collect();
    let mut cluster = json!({"name": c.name, "endpoints": endpoints, "http2": c.http2});
    if let Some(metadata) = &c.metadata {
        cluster["metadata"] = metadata.clone();
    }
    if let Some(policy) = &c.lb_policy {
        cluster["lb_policy"] = json!(policy);
    }
    if c.internal {
        cluster["internal"] = json!(true);
    }
    if c.http1_trailers {
        cluster["http_protocol_options"] = json!({"enable_trailers": true});
    }
    if let Some(tls) = &c.tls {
        cluster["tls"] = tls.weir();
    }
    cluster
}

fn weir_plugin(p: &Plugin) -> Value {
    let mut plugin = json!({"name": p.name, "wasm": p.wasm, "root_id": p.root_id, "vm_id": p.vm_id});
    let optional = [
        ("configuration", p.configuration.as_ref().map(|c| json!(c))),
        ("vm_configuration", p.vm_configuration.as_ref().map(|c| json!(c))),
        ("failure_policy", p.failure_policy.as_ref().map(|c| json!(c))),
        ("allow_on_headers_stop_iteration", p.allow_on_headers_stop_iteration.then_some(Value::Bool(true))),
        ("environment_variables", p.environment_variables.clone()),
        ("limits", p.limits.clone()),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            plugin[key] = value;
        }
    }
    plugin
}
