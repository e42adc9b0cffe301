//! Envoy's `metadata` on listeners, routes and clusters: `filter_metadata` (values by filter
//! namespace) and `typed_filter_metadata` (a typed message by namespace), which filters read
//! as the `xds.listener_metadata`, `xds.route_metadata` and `xds.cluster_metadata` properties
//! (the `envoy.config.core.v3.Metadata` message, serialized, as Envoy hands it to Wasm
//! filters).

use std::collections::BTreeMap;

use bytes::Bytes;
use envoy_types::pb::envoy::config::core::v3::Metadata as PbMetadata;
use envoy_types::pb::google::protobuf::Any;
use prost::Message;
use serde::{Deserialize, Deserializer, Serialize};
use weir_xds::convert::envoy_json;

/// `metadata: { filter_metadata: { NAMESPACE: { key: value, ... } } }`, as in Envoy.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// Values by namespace (conventionally a filter's name); each a JSON object.
    #[serde(default)]
    pub filter_metadata: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    /// A typed message by namespace, in Envoy's JSON form (`{"@type":
    /// "type.googleapis.com/…", …}`); its type must be one of Envoy's API (weir encodes it with
    /// Envoy's descriptors), else the config is refused.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "typed")]
    pub typed_filter_metadata: BTreeMap<String, serde_json::Value>,
}

/// `typed_filter_metadata`, each value checked to encode.
fn typed<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, serde_json::Value>, D::Error> {
    let map = BTreeMap::<String, serde_json::Value>::deserialize(d)?;
    for (namespace, value) in &map {
        envoy_json::from_json::<Any>(value)
            .map_err(|e| serde::de::Error::custom(format!("typed_filter_metadata.{namespace}: {e}")))?;
    }
    Ok(map)
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
        // Checked when the config was read.
        let typed_filter_metadata = self
            .typed_filter_metadata
            .iter()
            .filter_map(|(ns, value)| envoy_json::from_json::<Any>(value).ok().map(|any| (ns.clone(), any)))
            .collect();
        Bytes::from(PbMetadata { filter_metadata, typed_filter_metadata }.encode_to_vec())
    }
}

/// The serialized metadata of an optional `metadata` (empty when there is none, as Envoy's
/// empty message).
pub fn encoded(metadata: Option<&Metadata>) -> Bytes {
    metadata.map(Metadata::encode).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn typed_metadata_of_envoy_types_is_encoded_and_others_are_refused() {
        let typed = json!({"typed_filter_metadata": {"envoy.lb": {
            "@type": "type.googleapis.com/google.protobuf.StringValue", "value": "canary"}}});
        let metadata: Metadata = serde_json::from_value(typed).unwrap();
        let pb = PbMetadata::decode(metadata.encode()).unwrap();
        let any = &pb.typed_filter_metadata["envoy.lb"];
        assert_eq!(any.type_url, "type.googleapis.com/google.protobuf.StringValue");
        let value: envoy_types::pb::google::protobuf::StringValue = weir_xds::convert::unpack(any).unwrap();
        assert_eq!(value.value, "canary");
        let unknown = json!({"typed_filter_metadata": {"x": {"@type": "type.googleapis.com/acme.Thing"}}});
        let e = serde_json::from_value::<Metadata>(unknown).unwrap_err().to_string();
        assert!(e.contains("typed_filter_metadata.x"), "{e}");
    }
}
