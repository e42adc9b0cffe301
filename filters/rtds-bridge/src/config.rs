//! The plugin configuration (JSON in the Wasm service's `configuration`), validated in
//! `on_configure`: a bad configuration fails it with a message naming the field, and Envoy
//! refuses to start.

use serde::Deserialize;
use weir_runtime::Layer;

/// Which xDS service the stream uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// `envoy.service.runtime.v3.RuntimeDiscoveryService/StreamRuntime`.
    #[default]
    Rtds,
    /// `envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources`,
    /// subscribing to the `Runtime` type only.
    Ads,
}

impl Api {
    /// The gRPC service name.
    pub fn service(self) -> &'static str {
        match self {
            Api::Rtds => "envoy.service.runtime.v3.RuntimeDiscoveryService",
            Api::Ads => "envoy.service.discovery.v3.AggregatedDiscoveryService",
        }
    }

    /// The streaming method.
    pub fn method(self) -> &'static str {
        match self {
            Api::Rtds => "StreamRuntime",
            Api::Ads => "StreamAggregatedResources",
        }
    }
}

/// The name of the static layer in the published snapshot's `layers`.
pub const STATIC_LAYER: &str = "static";

/// The configuration as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// See [`Config::cluster`].
    cluster: String,
    /// See [`Config::api`].
    #[serde(default)]
    api: Api,
    /// See [`Config::layers`].
    #[serde(default = "default_layers")]
    layers: Vec<String>,
    /// See [`Config::static_layer`]; given nested or dotted, as in Envoy's `static_layer`.
    #[serde(default)]
    static_layer: Option<serde_json::Value>,
    /// See [`Config::node_id`].
    #[serde(default = "default_node")]
    node_id: String,
    /// See [`Config::node_cluster`].
    #[serde(default = "default_node")]
    node_cluster: String,
}

fn default_layers() -> Vec<String> {
    vec!["rtds".to_string()]
}

fn default_node() -> String {
    "envoy".to_string()
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawConfig")]
pub struct Config {
    /// The Envoy cluster that reaches the control plane (it must speak HTTP/2). Required.
    pub cluster: String,
    /// `rtds` (default: the RTDS service) or `ads` (the aggregated service).
    pub api: Api,
    /// The RTDS layers (`Runtime` resource names) subscribed to, lowest precedence first.
    /// Default `["rtds"]`; names are unique and non-empty.
    pub layers: Vec<String>,
    /// Values of the lowest layer (named `static`), flattened as Envoy flattens a
    /// `static_layer`; lists and nulls are refused. Default: no static layer.
    pub static_layer: Option<Layer>,
    /// `node.id` sent to the control plane. Default `envoy`; give the bridge its own id when
    /// Envoy's own xDS uses the same control plane, so its status shows them apart.
    pub node_id: String,
    /// `node.cluster` sent to the control plane. Default `envoy`.
    pub node_cluster: String,
}

impl TryFrom<RawConfig> for Config {
    type Error = String;

    fn try_from(raw: RawConfig) -> Result<Config, String> {
        if raw.cluster.trim().is_empty() {
            return Err("`cluster` must name the Envoy cluster of the control plane".into());
        }
        if raw.layers.is_empty() {
            return Err("`layers` must name at least one RTDS layer".into());
        }
        for (i, name) in raw.layers.iter().enumerate() {
            if name.is_empty() {
                return Err(format!("`layers[{i}]` is empty"));
            }
            if raw.layers[..i].contains(name) {
                return Err(format!("`layers[{i}]`: `{name}` is listed twice"));
            }
            if raw.static_layer.is_some() && name == STATIC_LAYER {
                return Err(format!("`layers[{i}]`: `{STATIC_LAYER}` is the name of the static layer"));
            }
        }
        let static_layer = match &raw.static_layer {
            None => None,
            Some(values) => Some(weir_runtime::flatten(values).map_err(|e| {
                if e.key.is_empty() {
                    "`static_layer` must be an object".to_string()
                } else {
                    format!("`static_layer`: {e}")
                }
            })?),
        };
        if raw.node_id.is_empty() {
            return Err("`node_id` is empty".into());
        }
        Ok(Config {
            cluster: raw.cluster,
            api: raw.api,
            layers: raw.layers,
            static_layer,
            node_id: raw.node_id,
            node_cluster: raw.node_cluster,
        })
    }
}

impl Config {
    /// Parses the plugin configuration bytes.
    pub fn parse(bytes: &[u8]) -> Result<Config, String> {
        weir_sdk::config::parse_config(bytes).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_and_full_form() {
        let c = Config::parse(br#"{"cluster": "weir-cp"}"#).unwrap();
        assert_eq!(c.api, Api::Rtds);
        assert_eq!(c.layers, vec!["rtds"]);
        assert_eq!((c.node_id.as_str(), c.node_cluster.as_str()), ("envoy", "envoy"));
        assert!(c.static_layer.is_none());
        assert_eq!(
            (c.api.service(), c.api.method()),
            ("envoy.service.runtime.v3.RuntimeDiscoveryService", "StreamRuntime")
        );

        let c = Config::parse(
            br#"{"cluster": "cp", "api": "ads", "layers": ["base", "ops"], "node_id": "edge-1",
                 "node_cluster": "edge", "static_layer": {"a": {"b": 1}, "c.d": "x"}}"#,
        )
        .unwrap();
        assert_eq!(c.api.method(), "StreamAggregatedResources");
        let static_layer = c.static_layer.unwrap();
        assert_eq!(static_layer["a.b"], json!(1));
        assert_eq!(static_layer["c.d"], json!("x"));
    }

    #[test]
    fn refusals_name_the_field() {
        let err = |text: &str| Config::parse(text.as_bytes()).unwrap_err();
        assert!(err("").contains("cluster"), "{}", err(""));
        assert!(err(r#"{"cluster": " "}"#).contains("`cluster`"));
        assert!(err(r#"{"cluster": "cp", "layers": []}"#).contains("`layers`"));
        assert!(err(r#"{"cluster": "cp", "layers": ["a", "a"]}"#).contains("`layers[1]`"));
        assert!(err(r#"{"cluster": "cp", "layers": [""]}"#).contains("`layers[0]`"));
        assert!(
            err(r#"{"cluster": "cp", "layers": ["static"], "static_layer": {}}"#).contains("static layer")
        );
        let list = err(r#"{"cluster": "cp", "static_layer": {"a": {"b": [1]}}}"#);
        assert!(list.contains("`static_layer`") && list.contains("a.b"), "{list}");
        assert!(err(r#"{"cluster": "cp", "static_layer": 5}"#).contains("must be an object"));
        assert!(err(r#"{"cluster": "cp", "api": "delta"}"#).contains("unknown variant"));
        assert!(err(r#"{"cluster": "cp", "colour": 1}"#).contains("colour"));
        assert!(err(r#"{"cluster": "cp", "node_id": ""}"#).contains("node_id"));
    }
}
