//! `bootstrap_extensions`. The one weir takes is the rtds-bridge (`filters/rtds-bridge`): the
//! Envoy side of the runtime-values contract (`docs/runtime-values.md`), a singleton Wasm
//! service that holds an RTDS stream of its own and publishes the merged layers into the
//! filters' shared data. weir's own xDS client publishes exactly that from `layered_runtime`,
//! so the bridge is not run; it is checked to say the same thing instead: its `layers` must be
//! the bootstrap's RTDS layers in order, its `static_layer` the bootstrap's static layers
//! merged, its `cluster` the control plane's. Any other extension is refused.

use envoy_types::pb::envoy::config::bootstrap::v3::Bootstrap;
use envoy_types::pb::envoy::extensions::wasm::v3::WasmService;
use serde::Deserialize;
use serde_json::{Map, Value};
use weir_xds::convert::unpack;

use super::Refusals;
use super::support::join;

const WASM_SERVICE: &str = "type.googleapis.com/envoy.extensions.wasm.v3.WasmService";

/// What weir reads of the extensions (the Wasm plugin config itself is the listener's spec).
pub(super) const SPEC: super::support::Spec = &[
    ("envoy.config.core.v3.TypedExtensionConfig", &["name", "typed_config"]),
    ("envoy.extensions.wasm.v3.WasmService", &["config", "singleton"]),
];

/// The rtds-bridge's configuration (its `configuration` string), as the bridge reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Bridge {
    cluster: String,
    #[serde(default, rename = "api")]
    _api: Option<String>,
    #[serde(default = "default_layers")]
    layers: Vec<String>,
    #[serde(default)]
    static_layer: Option<Value>,
    #[serde(default, rename = "node_id")]
    _node_id: Option<String>,
    #[serde(default, rename = "node_cluster")]
    _node_cluster: Option<String>,
}

fn default_layers() -> Vec<String> {
    vec!["rtds".to_string()]
}

/// Checks `bootstrap_extensions` against the translated config `out` (its `runtime` and
/// `xds`): each must be an rtds-bridge saying what weir publishes already.
pub(super) fn check(pb: &Bootstrap, out: &Map<String, Value>, refusals: &mut Refusals) {
    for (i, extension) in pb.bootstrap_extensions.iter().enumerate() {
        let at = format!("bootstrap_extensions[{i}]");
        if let Err(reason) = bridge(extension.typed_config.as_ref(), out) {
            refusals.add(&join(&at, "typed_config"), reason);
        }
    }
}

fn bridge(
    any: Option<&envoy_types::pb::google::protobuf::Any>,
    out: &Map<String, Value>,
) -> Result<(), String> {
    let refused = "weir runs no bootstrap extensions; it takes the rtds-bridge Wasm service alone (it publishes runtime values itself)";
    let any = any.filter(|a| a.type_url == WASM_SERVICE).ok_or(refused)?;
    let service: WasmService = unpack(any).map_err(|e| e.to_string())?;
    let config = service.config.and_then(|c| c.configuration).ok_or(refused)?;
    let text = super::wasm::configuration_text(&config)?;
    let bridge: Bridge = serde_json::from_str(&text).map_err(|_| refused.to_string())?;
    let runtime = out.get("runtime").and_then(|r| r["layers"].as_array()).cloned().unwrap_or_default();
    let rtds: Vec<&str> = runtime.iter().filter_map(|l| l["rtds_layer"]["name"].as_str()).collect();
    if bridge.layers != rtds {
        return Err(format!(
            "the rtds-bridge's layers {:?} are not layered_runtime's RTDS layers {rtds:?}: weir publishes layered_runtime",
            bridge.layers
        ));
    }
    let statics: Vec<weir_runtime::Layer> = runtime
        .iter()
        .filter_map(|l| l.get("static_layer"))
        .map(|v| weir_runtime::flatten(v).unwrap_or_default())
        .collect();
    let merged = weir_runtime::merge(statics.iter());
    let own =
        bridge.static_layer.as_ref().map(weir_runtime::flatten).transpose().map_err(|e| e.to_string())?;
    if own.unwrap_or_default() != merged {
        return Err(
            "the rtds-bridge's static_layer is not layered_runtime's static layers merged: weir publishes layered_runtime"
                .into(),
        );
    }
    let cluster = out.get("xds").and_then(|x| x["cluster"].as_str()).unwrap_or_default();
    if bridge.cluster != cluster {
        return Err(format!(
            "the rtds-bridge's cluster `{}` is not the control plane's (`{cluster}`): weir takes runtime values from the latter",
            bridge.cluster
        ));
    }
    Ok(())
}
