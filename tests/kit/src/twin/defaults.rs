//! What Envoy gets for the weir listener fields a description leaves unset: Envoy's own
//! defaults ([`AsWritten`]), weir's path and forwarding defaults ([`SafePaths`]), or every
//! weir default (an implementation backed by weir's own config schema, in the suites).

use serde_json::{Value, json};

/// Fills in the weir listener fields a description leaves unset before they become Envoy
/// connection-manager fields, so Envoy gets weir's defaults (where they differ from Envoy's)
/// and not its own.
pub trait ListenerDefaults {
    /// `listener` (as `weir.yaml` has it) with every field it leaves unset at weir's default.
    fn complete(&self, listener: &Value) -> anyhow::Result<Value>;
}

/// Gives Envoy only the listener fields the description sets: Envoy's defaults for the rest.
#[derive(Debug, Clone, Copy, Default)]
pub struct AsWritten;

impl ListenerDefaults for AsWritten {
    fn complete(&self, listener: &Value) -> anyhow::Result<Value> {
        Ok(listener.clone())
    }
}

/// Gives Envoy weir's path handling and forwarding defaults where the description says
/// nothing (`docs/security.md`): paths normalised, slashes merged, escaped slashes unescaped
/// and redirected, the peer's address trusted as the client's. Envoy's defaults for the rest
/// (timeouts, limits): what the demo and the benchmark compare.
#[derive(Debug, Clone, Copy, Default)]
pub struct SafePaths;

/// The fields [`SafePaths`] fills in, at weir's defaults.
fn safe_paths() -> [(&'static str, Value); 4] {
    [
        ("normalize_path", json!(true)),
        ("merge_slashes", json!(true)),
        ("path_with_escaped_slashes_action", json!("UNESCAPE_AND_REDIRECT")),
        ("use_remote_address", json!(true)),
    ]
}

impl ListenerDefaults for SafePaths {
    fn complete(&self, listener: &Value) -> anyhow::Result<Value> {
        let mut out = listener.clone();
        let fields = out.as_object_mut().ok_or_else(|| anyhow::anyhow!("a listener is a map"))?;
        for (key, value) in safe_paths() {
            fields.entry(key).or_insert(value);
        }
        Ok(out)
    }
}
