//! Envoy's `metadata` on listeners, routes and clusters: `filter_metadata`, values by filter
//! namespace, which filters read as the `xds.listener_metadata`, `xds.route_metadata` and
//! `xds.cluster_metadata` properties (the `envoy.config.core.v3.Metadata` message, serialized,
//! as Envoy hands it to Wasm filters).

use std::collections::BTreeMap;

use bytes::Bytes;
use envoy_types::pb::envoy::config::core::v3::Metadata as PbMetadata;
use prost::Message;
use serde::{Deserialize, Serialize};

/// `metadata: { filter_metadata: { NAMESPACE: { key: value, ... } } }`, as in Envoy.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// Values by namespace (conventionally a filter's name); each a JSON object.
    #[serde(default)]
    pub filter_metadata: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
}

impl Metadata {
    /// The serialized `envoy.config.core.v3.Metadata`, as filters read it.
    pub fn encode(&self) -> Bytes {
        let filter_metadata = self
            .filter_metadata
            .iter()
            .filter_map(|(ns, values)| {
                let value = serde_json::Value::Object(values.clone());
                weir_xds::convert::json_to_struct(&value).map(|s| (ns.clone(), s))
            })
            .collect();
        Bytes::from(PbMetadata { filter_metadata, ..PbMetadata::default() }.encode_to_vec())
    }
}

/// The serialized metadata of an optional `metadata` (empty when there is none, as Envoy's
/// empty message).
pub fn encoded(metadata: Option<&Metadata>) -> Bytes {
    metadata.map(Metadata::encode).unwrap_or_default()
}
