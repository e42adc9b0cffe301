//! The Envoy HTTP connection manager fields equivalent to a weir listener's own settings, so
//! that the Envoy bootstraps the tests generate treat requests as the weir config beside them
//! does (weir's defaults differ from Envoy's where Envoy's are unsafe, e.g. path
//! normalization): path handling, forwarding headers, request header limits and the
//! connection and stream timeouts.

use std::time::Duration;

use anyhow::Context;
use serde_json::{Map, Value, json};
use weir_host::config::{EscapedSlashesAction, ListenerConfig};

/// Adds to `hcm` (an Envoy `HttpConnectionManager` as JSON) the fields that make it behave as
/// `listener` (a weir listener as JSON, defaults applied by weir's own schema).
/// `max_connections` has no connection-manager field: it is the listener's runtime limit
/// (`envoy.resource_limits.listener.<name>.connection_limit`), set by the bootstrap.
pub fn apply(listener: &Value, hcm: &mut Value) -> anyhow::Result<()> {
    let listener: ListenerConfig =
        serde_json::from_value(listener.clone()).context("the weir listener of a generated config")?;
    let fields: &mut Map<String, Value> = hcm.as_object_mut().context("an HCM is a JSON object")?;
    fields.insert("normalize_path".into(), json!(listener.normalize_path));
    fields.insert("merge_slashes".into(), json!(listener.merge_slashes));
    let action = match listener.path_with_escaped_slashes_action {
        EscapedSlashesAction::KeepUnchanged => "KEEP_UNCHANGED",
        EscapedSlashesAction::RejectRequest => "REJECT_REQUEST",
        EscapedSlashesAction::UnescapeAndRedirect => "UNESCAPE_AND_REDIRECT",
        EscapedSlashesAction::UnescapeAndForward => "UNESCAPE_AND_FORWARD",
    };
    fields.insert("path_with_escaped_slashes_action".into(), json!(action));
    fields.insert("use_remote_address".into(), json!(listener.use_remote_address));
    fields.insert("preserve_external_request_id".into(), json!(listener.preserve_external_request_id));
    fields.insert("max_request_headers_kb".into(), json!(listener.max_request_headers_kb));
    fields.insert("request_headers_timeout".into(), json!(duration(listener.request_headers_timeout)));
    fields.insert("stream_idle_timeout".into(), json!(duration(listener.stream_idle_timeout)));
    fields.insert("request_timeout".into(), json!(duration(listener.request_timeout)));
    let common = fields.entry("common_http_protocol_options").or_insert_with(|| json!({}));
    common["idle_timeout"] = json!(duration(listener.idle_timeout));
    common["max_headers_count"] = json!(listener.max_request_headers);
    let http2 = fields.entry("http2_protocol_options").or_insert_with(|| json!({}));
    http2["max_concurrent_streams"] = json!(listener.http2_max_concurrent_streams);
    Ok(())
}

/// A protobuf JSON duration (`1.5s`).
fn duration(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}
