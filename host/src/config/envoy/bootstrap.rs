//! An Envoy bootstrap (`weir -c envoy.yaml`) as a weir config: `node`, `admin`,
//! `static_resources` (listeners, clusters), `dynamic_resources` (ADS, CDS and LDS over ADS) and
//! `layered_runtime` (static and RTDS layers), through the same translations xDS uses.
//! Every field weir does not support is refused with its path, all of them at once.

use envoy_types::pb::envoy::config::bootstrap::v3::Bootstrap;
use envoy_types::pb::envoy::config::bootstrap::v3::runtime_layer::LayerSpecifier;
use envoy_types::pb::envoy::config::core::v3::{
    address, api_config_source::ApiType, grpc_service, socket_address,
};
use serde_json::{Map, Value, json};
use weir_xds::convert::envoy_json::from_json;
use weir_xds::convert::struct_to_json;

use super::support::{Spec, check, duration_text, join};
use super::{Refusals, cluster, listener, route, tls};
use crate::config::{Config, ConfigError};

/// What weir reads of a bootstrap (the listener, cluster and route parts have their own).
const SPEC: Spec = &[
    (
        "envoy.config.bootstrap.v3.Bootstrap",
        &["node", "admin", "static_resources", "dynamic_resources", "layered_runtime"],
    ),
    ("envoy.config.core.v3.Node", &["id", "cluster", "metadata"]),
    ("envoy.config.bootstrap.v3.Admin", &["address"]),
    ("envoy.config.bootstrap.v3.Bootstrap.StaticResources", &["listeners", "clusters"]),
    ("envoy.config.bootstrap.v3.Bootstrap.DynamicResources", &["ads_config", "cds_config", "lds_config"]),
    ("envoy.config.core.v3.ApiConfigSource", &["api_type", "transport_api_version", "grpc_services"]),
    ("envoy.config.core.v3.GrpcService", &["envoy_grpc"]),
    ("envoy.config.core.v3.GrpcService.EnvoyGrpc", &["cluster_name"]),
    ("envoy.config.bootstrap.v3.LayeredRuntime", &["layers"]),
    ("envoy.config.bootstrap.v3.RuntimeLayer", &["name", "static_layer", "rtds_layer"]),
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
    check(&pb, &[SPEC, listener::SPEC, cluster::SPEC, route::SPEC, tls::SPEC], "", &mut refusals);
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
    if let Some(resources) = &pb.static_resources {
        for (i, l) in resources.listeners.iter().enumerate() {
            let at = format!("static_resources.listeners[{i}]");
            listeners.extend(listener::listener(l, &at, &mut plugins, &mut refusals));
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
    if let Some(dynamic) = &pb.dynamic_resources {
        xds(dynamic, &mut out, &mut refusals);
    }
    if let Some(runtime) = &pb.layered_runtime {
        let mut layers = Vec::new();
        for layer in &runtime.layers {
            match &layer.layer_specifier {
                Some(LayerSpecifier::StaticLayer(s)) => {
                    layers.push(json!({"name": layer.name, "static_layer": struct_to_json(s)}));
                }
                Some(LayerSpecifier::RtdsLayer(rtds)) => {
                    layers.push(json!({"name": layer.name, "rtds_layer": {"name": rtds.name}}));
                }
                // Other layers are refused by the field check.
                _ => {}
            }
        }
        out.insert("runtime".into(), json!({"layers": layers}));
    }
    let config = refusals.into_result(Value::Object(out))?;
    serde_json::from_value(config).map_err(|e| ConfigError::invalid("", e.to_string()))
}

/// `dynamic_resources`: the ADS stream, and CDS over it.
fn xds(
    dynamic: &envoy_types::pb::envoy::config::bootstrap::v3::bootstrap::DynamicResources,
    out: &mut Map<String, Value>,
    refusals: &mut Refusals,
) {
    let Some(ads) = &dynamic.ads_config else {
        refusals.add(
            "dynamic_resources.ads_config",
            "weir takes its dynamic resources over ADS: ads_config is required",
        );
        return;
    };
    let api_type = match ApiType::try_from(ads.api_type) {
        Ok(ApiType::Grpc | ApiType::AggregatedGrpc) => "GRPC",
        Ok(ApiType::DeltaGrpc | ApiType::AggregatedDeltaGrpc) => "DELTA_GRPC",
        _ => {
            refusals.add("dynamic_resources.ads_config.api_type", "GRPC or DELTA_GRPC is required by weir");
            "GRPC"
        }
    };
    let cluster = match ads.grpc_services.as_slice() {
        [service] => match &service.target_specifier {
            Some(grpc_service::TargetSpecifier::EnvoyGrpc(g)) => g.cluster_name.clone(),
            _ => String::new(),
        },
        _ => String::new(),
    };
    if cluster.is_empty() {
        refusals
            .add("dynamic_resources.ads_config.grpc_services", "one envoy_grpc service is required by weir");
    }
    let mut xds = json!({
        "cluster": cluster,
        "api_type": api_type,
        "cds": dynamic.cds_config.is_some(),
        "lds": dynamic.lds_config.is_some(),
    });
    if let Some(timeout) = dynamic.cds_config.as_ref().and_then(|c| c.initial_fetch_timeout) {
        xds["initial_fetch_timeout"] = json!(duration_text(&timeout));
    }
    out.insert("xds".into(), xds);
}

#[cfg(test)]
#[path = "bootstrap_tests.rs"]
mod tests;
