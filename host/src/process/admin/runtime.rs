//! `GET /runtime` (Envoy's format: layers, and per key its final value and its value in each
//! layer, as strings), `POST /runtime_modify`'s parameters and `GET /xds` (the xDS client's
//! status).

use serde_json::{Map, Value, json};

use crate::process::ProcessControl;

/// Envoy's `/runtime` document, plus the published runtime-values snapshot's `version`.
pub fn runtime(state: &dyn ProcessControl) -> Value {
    let generation = state.generation();
    let runtime = &generation.process.runtime_values;
    let layers = runtime.layers();
    let merged = runtime.snapshot();
    let mut entries = Map::new();
    for (key, value) in &merged.values {
        let layer_values: Vec<Value> = layers
            .iter()
            .map(|(_, values)| Value::String(values.get(key).map(text).unwrap_or_default()))
            .collect();
        entries.insert(key.clone(), json!({"final_value": text(value), "layer_values": layer_values}));
    }
    json!({
        "layers": layers.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>(),
        "version": merged.version,
        "entries": entries,
    })
}

/// `POST /runtime_modify`'s query (`key=value&…`, percent-decoded; `+` is a space as in a
/// form), in order.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    let decode =
        |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

/// A runtime value as Envoy prints it: strings bare, numbers and booleans as text, a
/// fractional percent as its JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The xDS client's status (`null` when weir runs without xDS).
pub fn xds(state: &dyn ProcessControl) -> Value {
    state.xds_status().and_then(|s| serde_json::to_value(s).ok()).unwrap_or(Value::Null)
}
