//! The xDS run of a case: the same Envoy bootstrap the static run uses, split into what a
//! control plane serves — its listeners and clusters, as a `weir-cp apply -f` resource file —
//! and a bootstrap that takes them from weir-cp over ADS (LDS and CDS, state of the world or
//! delta). Envoy and weir both start from that bootstrap (weir reads Envoy's), so both are
//! configured by the control plane exactly alike.

use std::net::SocketAddr;

use anyhow::Context;
use serde_json::{Value, json};

/// `bootstrap` (YAML) split: the resource file (JSON) and the bootstrap over ADS (YAML).
pub fn split(bootstrap: &str, xds: SocketAddr, delta: bool) -> anyhow::Result<(String, String)> {
    let mut doc: Value = serde_norway::from_str(bootstrap).context("the case's Envoy bootstrap")?;
    let statics = doc.get_mut("static_resources").context("static_resources")?;
    let listeners = statics.get("listeners").cloned().unwrap_or(json!([]));
    let clusters = statics.get("clusters").cloned().unwrap_or(json!([]));
    let cp: Value = serde_norway::from_str(&crate::e2e::envoy_cp_cluster(xds))?;
    *statics = json!({ "clusters": cp });
    let ads = json!({ "ads": {}, "resource_api_version": "V3" });
    doc["dynamic_resources"] = json!({
        "ads_config": {
            "api_type": if delta { "DELTA_GRPC" } else { "GRPC" },
            "transport_api_version": "V3",
            "grpc_services": [{ "envoy_grpc": { "cluster_name": "weir-cp" } }],
        },
        "lds_config": ads,
        "cds_config": ads,
    });
    // ADS needs a node id and cluster (a case that names its node keeps it).
    let node = doc.as_object_mut().context("a bootstrap is a map")?.entry("node").or_insert(json!({}));
    for key in ["id", "cluster"] {
        if node.get(key).and_then(Value::as_str).is_none_or(str::is_empty) {
            node[key] = json!("conformance");
        }
    }
    let resources = json!({ "listeners": listeners, "clusters": clusters });
    Ok((resources.to_string(), serde_norway::to_string(&doc)?))
}
