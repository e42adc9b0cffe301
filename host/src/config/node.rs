//! `node`: who this proxy is, as Envoy's bootstrap `node` says it. The control plane sees it
//! (the xDS client sends it), and plugins read it through `proxy_get_property` (`node.*`,
//! `xds.node.*`, with Envoy's encodings).

use serde::{Deserialize, Serialize};

/// This proxy's identity.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Node id (Envoy's `node.id`): how the control plane knows this proxy. Default `weir`.
    #[serde(default = "default_name")]
    pub id: String,
    /// Node cluster (Envoy's `node.cluster`): the group of proxies it belongs to. Default
    /// `weir`.
    #[serde(default = "default_name")]
    pub cluster: String,
    /// Free-form metadata (Envoy's `node.metadata`, a `Struct`): a map of JSON values. Plugins
    /// read it as `xds.node.metadata` (and `node.metadata`), the control plane receives it.
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

fn default_name() -> String {
    "weir".to_string()
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig { id: default_name(), cluster: default_name(), metadata: serde_json::Map::new() }
    }
}
