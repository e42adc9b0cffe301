//! The Envoy HTTP connection manager fields equivalent to a weir listener's settings, so the
//! bootstrap treats requests as the `weir.yaml` beside it does: path handling, forwarding
//! headers, request header limits, connection and stream timeouts. Only the fields the
//! listener has are given (see [`super::ListenerDefaults`] for weir's defaults).

use anyhow::Context;
use serde_json::{Map, Value, json};

/// weir listener fields that are connection-manager fields of the same name and value.
const SAME: [&str; 7] = [
    "normalize_path",
    "merge_slashes",
    "path_with_escaped_slashes_action",
    "use_remote_address",
    "preserve_external_request_id",
    "max_request_headers_kb",
    "http_protocol_options",
];

/// weir listener durations that are connection-manager durations of the same name.
const DURATIONS: [&str; 3] = ["request_headers_timeout", "stream_idle_timeout", "request_timeout"];

/// The connection-manager fields for `listener` (as `weir.yaml` has it).
pub(super) fn fields(listener: &Value) -> anyhow::Result<Map<String, Value>> {
    let l = listener.as_object().context("a listener is a map")?;
    let text = |key: &str, v: &Value| -> anyhow::Result<String> {
        duration(v.as_str().with_context(|| format!("listener `{key}` is a duration"))?)
    };
    let mut out = Map::new();
    for key in SAME {
        if let Some(v) = l.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    for key in DURATIONS {
        if let Some(v) = l.get(key) {
            out.insert(key.into(), json!(text(key, v)?));
        }
    }
    let mut common = Map::new();
    if let Some(v) = l.get("idle_timeout") {
        common.insert("idle_timeout".into(), json!(text("idle_timeout", v)?));
    }
    if let Some(v) = l.get("max_request_headers") {
        common.insert("max_headers_count".into(), v.clone());
    }
    if !common.is_empty() {
        out.insert("common_http_protocol_options".into(), Value::Object(common));
    }
    if let Some(v) = l.get("http2_max_concurrent_streams") {
        out.insert("http2_protocol_options".into(), json!({"max_concurrent_streams": v}));
    }
    Ok(out)
}

/// weir's `250ms` / `2s` / `1h` as a protobuf JSON duration (`0.25s`, `2s`, `3600s`).
pub(super) fn duration(text: &str) -> anyhow::Result<String> {
    let d = weir_plugin_spec::duration::parse(text).map_err(anyhow::Error::msg)?;
    Ok(format!("{}s", d.as_secs_f64()))
}
