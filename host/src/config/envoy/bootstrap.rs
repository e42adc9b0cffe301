//! An Envoy bootstrap (`weir -c envoy.yaml`) as a weir config: `node`, `admin`,
//! `static_resources` (listeners, clusters), `dynamic_resources` (ADS, CDS and LDS, over ADS
//! or streams of their own), `layered_runtime` (static, RTDS and admin layers) and the
//! rtds-bridge among `bootstrap_extensions` (`extensions.rs`), through the same translations
//! xDS uses.
//! Every field weir does not support is refused with its path, all of them at once.

use envoy_types::pb::envoy::config::bootstrap::v3::bootstrap::DynamicResources;
use envoy_types::pb::envoy::config::bootstrap::v3::runtime_layer::LayerSpecifier;
use envoy_types::pb::envoy::config::bootstrap::v3::{Bootstrap, LayeredRuntime};
use envoy_types::pb::envoy::config::core::v3::{address, socket_address};
use serde_json::{Map, Value, json};
use weir_xds::convert::envoy_json::from_json;
use weir_xds::convert::struct_to_json;

use super::source::Sources;
use super::support::{Spec, check, duration_text, join};
use super::{Refusals, cluster, extensions, listener, route, tls};
use crate::config::{Config, ConfigError, XdsType};

/// What weir reads of a bootstrap (the listener, cluster and route parts have their own).
const SPEC: Spec = &[
    (
        "envoy.config.bootstrap.v3.Bootstrap",
        &[
            "node",
            "admin",
            "static_resources",
            "dynamic_resources",
            "layered_runtime",
            "bootstrap_extensions",
        ],
    ),
    ("envoy.config.core.v3.Node", &["id", "cluster", "metadata"]),
    ("envoy.config.bootstrap.v3.Admin", &["address"]),
    ("envoy.config.bootstrap.v3.Bootstrap.StaticResources", &["listeners", "clusters"]),
    ("envoy.config.bootstrap.v3.Bootstrap.DynamicResources", &["ads_config", "cds_config", "lds_config"]),
    ("envoy.config.bootstrap.v3.LayeredRuntime", &["layers"]),
    ("envoy.config.bootstrap.v3.RuntimeLayer", &["name", "static_layer", "rtds_layer", "admin_layer"]),
    ("envoy.config.bootstrap.v3.RuntimeLayer.AdminLayer", &[]),
    ("envoy.config.bootstrap.v3.RuntimeLayer.RtdsLayer", &["name", "rtds_config"]),
];

/// Whether a YAML/JSON document is an Envoy bootstrap rather than a `weir.yaml`.
pub fn is_bootstrap(document: &Value) -> bool {
    document
        .as_object()
        .is_some_and(|o| o.contains_key("static_resources") || o.contains_key("dynamic_resources"))
}

/// Translates a bootstrap (Envoy's JSON/YAML form) into a weir config (not yet validated).
pub fn bootstrap(document: &Value, origin: &str) -> Result<Config, ConfigError> {
    let pb: Bootstrap = from_json(document)
        .map_err(|e| ConfigError::Parse { origin: origin.to_string(), message: e.to_string() })?;
    let mut refusals = Refusals::default();
    let specs = [
        SPEC,
        listener::SPEC,
        cluster::SPEC,
        route::SPEC,
        tls::SPEC,
        extensions::SPEC,
        super::tcp_proxy::SPEC,
        super::access_log::SPEC,
    ];
    check(&pb, &specs, "", &mut refusals);
    let mut out = Map::new();
    if let Some(node) = &pb.node {
        let metadata = node.metadata.as_ref().map_or(json!({}), struct_to_json);
        out.insert("node".into(), json!({"id": node.id, "cluster": node.cluster, "metadata": metadata}));
    }
    if let Some(admin) = pb.admin.as_ref().and_then(|a| a.address.as_ref()) {
        match &admin.address {
            Some(address::Address::SocketAddress(s)) => match &s.port_specifier {
                Some(socket_address::PortSpecifier::PortValue(port)) => {
                    out.insert("admin".into(), json!({"address": format!("{}:{port}", s.address)}));
                }
                _ => refusals.add("admin.address", "a port_value is required by weir"),
            },
            _ => refusals.add("admin.address", "a socket_address is required by weir"),
        }
    }
    let mut plugins = Vec::new();
    let mut listeners = Vec::new();
    let mut clusters = Vec::new();
    let mut sources = Sources::default();
    if let Some(resources) = &pb.static_resources {
        for (i, l) in resources.listeners.iter().enumerate() {
            let at = format!("static_resources.listeners[{i}]");
            listeners.extend(listener::listener(l, &at, &mut plugins, Some(&mut sources), &mut refusals));
        }
        for (i, c) in resources.clusters.iter().enumerate() {
            let at = format!("static_resources.clusters[{i}]");
            let c = cluster::translate(c, &at, &mut refusals);
            match c.eds_service {
                Some(_) => refusals.add(
                    &join(&at, "type"),
                    "EDS clusters must come from CDS in weir (dynamic_resources.cds_config)",
                ),
                None => clusters.push(c.config),
            }
        }
    }
    out.insert("listeners".into(), serde_json::to_value(&listeners).unwrap_or_default());
    out.insert("clusters".into(), serde_json::to_value(&clusters).unwrap_or_default());
    out.insert("plugins".into(), serde_json::to_value(&plugins).unwrap_or_default());
    if let Some(runtime) = &pb.layered_runtime {
        out.insert("runtime".into(), json!({"layers": layers(runtime, &mut sources, &mut refusals)}));
    }
    if let Some(xds) = xds(pb.dynamic_resources.as_ref(), sources, &mut refusals) {
        out.insert("xds".into(), xds);
    }
    extensions::check(&pb, &out, &mut refusals);
    let config = refusals.into_result(Value::Object(out))?;
    serde_json::from_value(config).map_err(|e| ConfigError::invalid("", e.to_string()))
}

/// `layered_runtime`: static, RTDS and admin layers.
fn layers(runtime: &LayeredRuntime, sources: &mut Sources, refusals: &mut Refusals) -> Vec<Value> {
    let mut layers = Vec::new();
    for (i, layer) in runtime.layers.iter().enumerate() {
        match &layer.layer_specifier {
            Some(LayerSpecifier::StaticLayer(s)) => {
                layers.push(json!({"name": layer.name, "static_layer": struct_to_json(s)}));
            }
            Some(LayerSpecifier::RtdsLayer(rtds)) => {
                if let Some(source) = &rtds.rtds_config {
                    let at = format!("layered_runtime.layers[{i}].rtds_layer.rtds_config");
                    sources.take(XdsType::Rtds, source, &at, refusals);
                }
                layers.push(json!({"name": layer.name, "rtds_layer": {"name": rtds.name}}));
            }
            Some(LayerSpecifier::AdminLayer(_)) => {
                layers.push(json!({"name": layer.name, "admin_layer": {}}));
            }
            // Other layers are refused by the field check.
            _ => {}
        }
    }
    layers
}

/// weir's `xds` section: the control plane of every config source, CDS and LDS.
fn xds(dynamic: Option<&DynamicResources>, mut sources: Sources, refusals: &mut Refusals) -> Option<Value> {
    let at = "dynamic_resources";
    if let Some(ads) = dynamic.and_then(|d| d.ads_config.as_ref()) {
        sources.ads_config(ads, &format!("{at}.ads_config"), refusals);
    }
    let cds = dynamic.and_then(|d| d.cds_config.as_ref());
    let lds = dynamic.and_then(|d| d.lds_config.as_ref());
    if let Some(source) = cds {
        sources.take(XdsType::Cds, source, &format!("{at}.cds_config"), refusals);
    }
    if let Some(source) = lds {
        sources.take(XdsType::Lds, source, &format!("{at}.lds_config"), refusals);
    }
    let Some(mut xds) = sources.xds(refusals) else {
        if dynamic.is_some() {
            refusals.add(at, "weir needs ads_config or an api_config_source to reach the control plane");
        }
        return None;
    };
    xds["cds"] = json!(cds.is_some());
    xds["lds"] = json!(lds.is_some());
    if let Some(timeout) = cds.and_then(|c| c.initial_fetch_timeout) {
        xds["initial_fetch_timeout"] = json!(duration_text(&timeout));
    }
    Some(xds)
}

#[cfg(test)]
#[path = "bootstrap_tests.rs"]
mod tests;
