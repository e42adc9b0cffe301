//! Envoy's protos from and to their JSON form (what Envoy's YAML configs are written in),
//! through reflection over Envoy's API descriptors (compiled by this crate's build script
//! from the protos envoy-types bundles). `Any` fields carry `"@type"` as in Envoy's YAML.
//!
//! Errors name the JSON path of the offending field (`clusters[0].lb_policy: unknown variant…`).

use std::sync::OnceLock;

use prost::{Message, Name};
use prost_reflect::{DescriptorPool, DeserializeOptions, DynamicMessage, SerializeOptions};
use serde_json::Value;

static DESCRIPTORS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/envoy_descriptors.bin"));

/// Envoy proto files the descriptors leave out (protox cannot compile them), with the reason:
/// configs using their types are refused as unknown types.
pub const LEFT_OUT: &[&str] = include!(concat!(env!("OUT_DIR"), "/envoy_left_out.rs"));

/// A config that is not a valid instance of the Envoy message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}{sep}{reason}", sep = if path.is_empty() { "" } else { ": " })]
pub struct JsonError {
    /// Where, as a JSON path (`static_resources.clusters[0].type`); empty for the whole value.
    pub path: String,
    /// Why.
    pub reason: String,
}

impl JsonError {
    fn whole(reason: impl Into<String>) -> JsonError {
        JsonError { path: String::new(), reason: reason.into() }
    }
}

/// The descriptor pool (decoded once, on first use).
pub fn pool() -> Result<&'static DescriptorPool, JsonError> {
    static POOL: OnceLock<Result<DescriptorPool, String>> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(DESCRIPTORS).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| JsonError::whole(format!("Envoy API descriptors: {e}")))
}

/// Parses `value` (Envoy's JSON/YAML form) as message `M`. Unknown fields are refused.
pub fn from_json<M: Message + Name + Default>(value: &Value) -> Result<M, JsonError> {
    let descriptor = pool()?.get_message_by_name(&M::full_name()).ok_or_else(|| {
        JsonError::whole(format!("{} is not in weir's Envoy API descriptors", M::full_name()))
    })?;
    let options = DeserializeOptions::new().deny_unknown_fields(true);
    let mut track = serde_path_to_error::Track::new();
    let deserializer = serde_path_to_error::Deserializer::new(value, &mut track);
    let message =
        DynamicMessage::deserialize_with_options(descriptor, deserializer, &options).map_err(|e| {
            JsonError { path: track.path().to_string().trim_start_matches('.').into(), reason: e.to_string() }
        })?;
    message.transcode_to::<M>().map_err(|e| JsonError::whole(format!("{}: {e}", M::full_name())))
}

/// `message` in Envoy's JSON form (proto field names, defaults left out).
pub fn to_json<M: Message + Name>(message: &M) -> Result<Value, JsonError> {
    let descriptor = pool()?.get_message_by_name(&M::full_name()).ok_or_else(|| {
        JsonError::whole(format!("{} is not in weir's Envoy API descriptors", M::full_name()))
    })?;
    let mut dynamic = DynamicMessage::new(descriptor);
    dynamic.transcode_from(message).map_err(|e| JsonError::whole(e.to_string()))?;
    let options = SerializeOptions::new().use_proto_field_name(true);
    dynamic
        .serialize_with_options(serde_json::value::Serializer, &options)
        .map_err(|e| JsonError::whole(e.to_string()))
}

#[cfg(test)]
mod tests {
    use envoy_types::pb::envoy::config::cluster::v3::Cluster;
    use envoy_types::pb::envoy::config::cluster::v3::cluster::{DiscoveryType, LbPolicy};

    use super::*;

    fn yaml(text: &str) -> Value {
        serde_norway::from_str(text).unwrap()
    }

    #[test]
    fn parses_an_envoy_cluster_with_typed_options() {
        let cluster: Cluster = from_json(&yaml(
            r#"
name: backend
type: STRICT_DNS
lb_policy: MAGLEV
connect_timeout: 0.25s
load_assignment:
  cluster_name: backend
  endpoints:
  - lb_endpoints:
    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8080 } } }
typed_extension_protocol_options:
  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
    explicit_http_config: { http2_protocol_options: {} }
"#,
        ))
        .unwrap();
        assert_eq!(cluster.lb_policy(), LbPolicy::Maglev);
        assert!(matches!(
            cluster.cluster_discovery_type,
            Some(envoy_types::pb::envoy::config::cluster::v3::cluster::ClusterDiscoveryType::Type(t))
                if t == DiscoveryType::StrictDns as i32
        ));
        assert_eq!(cluster.connect_timeout.unwrap().nanos, 250_000_000);
        let any = &cluster.typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];
        assert!(any.type_url.ends_with("HttpProtocolOptions") && !any.value.is_empty());
        // And back.
        let json = to_json(&cluster).unwrap();
        assert_eq!(json["lb_policy"], "MAGLEV");
        assert_eq!(from_json::<Cluster>(&json).unwrap(), cluster);
    }

    #[test]
    fn errors_name_the_field() {
        let e = from_json::<Cluster>(&yaml("name: a\nlb_policy: SOMETIMES")).unwrap_err();
        assert_eq!(e.path, "lb_policy", "{e}");
        let e = from_json::<Cluster>(&yaml("name: a\nload_assignment: { endpoints: [ { bogus: 1 } ] }"))
            .unwrap_err();
        assert_eq!(e.to_string(), "load_assignment.endpoints[0]: unrecognized field name 'bogus'");
        let e = from_json::<Cluster>(&yaml(
            "name: a\ntyped_extension_protocol_options: { x: { '@type': type.googleapis.com/no.Such } }",
        ))
        .unwrap_err();
        assert!(e.reason.contains("no.Such"), "{e}");
    }

    #[test]
    fn only_known_protos_are_left_out() {
        assert!(LEFT_OUT.len() <= 2, "{LEFT_OUT:?}");
    }
}
