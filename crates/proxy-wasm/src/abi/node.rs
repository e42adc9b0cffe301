//! The `xds.node` properties: this proxy's identity (weir's `node`, Envoy's bootstrap `node`)
//! with Envoy's encodings. `xds.node` is the serialized `envoy.config.core.v3.Node`;
//! `xds.node.id` and `xds.node.cluster` are strings; `xds.node.metadata[.key...]` walks the
//! metadata `Struct`: strings raw, numbers as 8-byte little-endian doubles, booleans one
//! byte, structs as a header map (the pairs encoding, values encoded the same way inside),
//! lists as a header map of (element, empty) pairs; a null (anywhere in the value) is
//! `SerializationFailure`. All as Envoy 1.40 answers (the `node-properties` case).

use bytes::Bytes;
use prost::Message;
use serde_json::Value;

use weir_abi::Status;

use crate::services::NodeIdentity;

/// The value of `xds.node` followed by `rest` (the segments after `node`).
pub(super) fn property(node: &NodeIdentity, rest: &[&str]) -> Result<Bytes, Status> {
    match rest {
        [] => Ok(Bytes::from(node_proto(node).encode_to_vec())),
        ["id"] => Ok(Bytes::from(node.id.clone())),
        ["cluster"] => Ok(Bytes::from(node.cluster.clone())),
        ["metadata", path @ ..] => {
            let mut value = &node.metadata;
            for key in path {
                value = value.get(key).ok_or(Status::NotFound)?;
            }
            encode(value)
        }
        _ => Err(Status::NotFound),
    }
}

fn node_proto(node: &NodeIdentity) -> envoy_types::pb::envoy::config::core::v3::Node {
    envoy_types::pb::envoy::config::core::v3::Node {
        id: node.id.clone(),
        cluster: node.cluster.clone(),
        metadata: weir_xds::convert::json_to_struct(&node.metadata),
        user_agent_name: "weir".into(),
        ..Default::default()
    }
}

/// One metadata value as Envoy gives it to a plugin.
fn encode(value: &Value) -> Result<Bytes, Status> {
    let pairs = |pairs: Vec<(Bytes, Bytes)>| {
        let mut out = Vec::new();
        weir_abi::encode_pairs(&pairs, &mut out);
        Bytes::from(out)
    };
    match value {
        Value::String(s) => Ok(Bytes::from(s.clone())),
        Value::Number(n) => {
            n.as_f64().map(|f| Bytes::copy_from_slice(&f.to_le_bytes())).ok_or(Status::SerializationFailure)
        }
        Value::Bool(b) => Ok(Bytes::from(vec![u8::from(*b)])),
        Value::Object(map) => Ok(pairs(
            map.iter()
                .map(|(k, v)| Ok((Bytes::from(k.clone()), encode(v)?)))
                .collect::<Result<_, Status>>()?,
        )),
        Value::Array(list) => {
            Ok(pairs(list.iter().map(|v| Ok((encode(v)?, Bytes::new()))).collect::<Result<_, Status>>()?))
        }
        Value::Null => Err(Status::SerializationFailure),
    }
}
