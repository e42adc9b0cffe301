//! The few protobuf messages the bridge speaks, written by hand with the official field tags
//! (the generated `envoy-types` crate is far too large to build into a filter). Only the fields
//! the bridge reads or writes are declared; protobuf skips the others on decode.
//!
//! Tags are those of `envoy/service/discovery/v3/discovery.proto`,
//! `envoy/config/core/v3/base.proto` (`Node`), `envoy/service/runtime/v3/rtds.proto`,
//! `google/protobuf/{any,struct}.proto` and `google/rpc/status.proto`; the tests check them
//! against the generated types.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

/// `type_url` of `envoy.service.runtime.v3.Runtime`.
pub const RUNTIME_TYPE_URL: &str = "type.googleapis.com/envoy.service.runtime.v3.Runtime";

/// The full name of `envoy.service.runtime.v3.Runtime` (an `Any` may use another host prefix).
pub const RUNTIME_TYPE: &str = "envoy.service.runtime.v3.Runtime";

/// `google.rpc.Code.INTERNAL`, the code Envoy puts in a NACK's `error_detail`.
pub const CODE_INTERNAL: i32 = 13;

/// `envoy.service.discovery.v3.DiscoveryRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DiscoveryRequest {
    /// The version last accepted (empty before the first ACK).
    #[prost(string, tag = "1")]
    pub version_info: String,
    /// Who is asking.
    #[prost(message, optional, tag = "2")]
    pub node: Option<Node>,
    /// The resources subscribed to (the layer names).
    #[prost(string, repeated, tag = "3")]
    pub resource_names: Vec<String>,
    /// The resource type.
    #[prost(string, tag = "4")]
    pub type_url: String,
    /// The nonce of the response this request answers (empty on a stream's first request).
    #[prost(string, tag = "5")]
    pub response_nonce: String,
    /// Set on a NACK: why the response was rejected.
    #[prost(message, optional, tag = "6")]
    pub error_detail: Option<Status>,
}

/// `envoy.service.discovery.v3.DiscoveryResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DiscoveryResponse {
    /// The version of this response.
    #[prost(string, tag = "1")]
    pub version_info: String,
    /// The resources, each an `Any`.
    #[prost(message, repeated, tag = "2")]
    pub resources: Vec<Any>,
    /// The resource type.
    #[prost(string, tag = "4")]
    pub type_url: String,
    /// To be echoed in the ACK or NACK.
    #[prost(string, tag = "5")]
    pub nonce: String,
}

/// `envoy.config.core.v3.Node` (the fields a control plane needs to tell us apart).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Node {
    /// `node.id`.
    #[prost(string, tag = "1")]
    pub id: String,
    /// `node.cluster`.
    #[prost(string, tag = "2")]
    pub cluster: String,
    /// `user_agent_name`.
    #[prost(string, tag = "6")]
    pub user_agent_name: String,
    /// `user_agent_version` (a member of the `user_agent_version_type` oneof; alone, it is
    /// the same on the wire).
    #[prost(string, tag = "7")]
    pub user_agent_version: String,
}

/// `google.rpc.Status`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Status {
    /// A `google.rpc.Code`.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// The reason, for people.
    #[prost(string, tag = "2")]
    pub message: String,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Any {
    /// `type.googleapis.com/<full name>`.
    #[prost(string, tag = "1")]
    pub type_url: String,
    /// The encoded message.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `envoy.service.runtime.v3.Runtime`: one runtime layer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Runtime {
    /// The layer (resource) name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The values.
    #[prost(message, optional, tag = "2")]
    pub layer: Option<Struct>,
}

/// `google.protobuf.Struct`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Struct {
    /// The fields.
    #[prost(btree_map = "string, message", tag = "1")]
    pub fields: BTreeMap<String, Value>,
}

/// `google.protobuf.Value`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Value {
    /// The value; `None` is a value with no kind set, which Envoy rejects like a null.
    #[prost(oneof = "Kind", tags = "1, 2, 3, 4, 5, 6")]
    pub kind: Option<Kind>,
}

/// `google.protobuf.Value.kind`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Kind {
    /// `null_value` (the `NullValue` enum; its only value is 0).
    #[prost(int32, tag = "1")]
    NullValue(i32),
    /// `number_value`.
    #[prost(double, tag = "2")]
    NumberValue(f64),
    /// `string_value`.
    #[prost(string, tag = "3")]
    StringValue(String),
    /// `bool_value`.
    #[prost(bool, tag = "4")]
    BoolValue(bool),
    /// `struct_value`.
    #[prost(message, tag = "5")]
    StructValue(Struct),
    /// `list_value`.
    #[prost(message, tag = "6")]
    ListValue(ListValue),
}

/// `google.protobuf.ListValue`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListValue {
    /// The items.
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<Value>,
}

/// `Struct` → JSON object, as protobuf's JSON mapping (and weir's xDS client) does it: numbers
/// are doubles, whole ones below 2^53 become integers (`10`, not `10.0`); a value without a
/// kind, and a number that is not finite, become `null` (which the flattening rejects).
pub fn struct_to_json(s: &Struct) -> Json {
    Json::Object(s.fields.iter().map(|(k, v)| (k.clone(), value_to_json(v))).collect::<Map<_, _>>())
}

fn value_to_json(value: &Value) -> Json {
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(*b),
        Some(Kind::NumberValue(n)) => weir_runtime::struct_number(*n),
        Some(Kind::StringValue(s)) => Json::String(s.clone()),
        Some(Kind::ListValue(list)) => Json::Array(list.values.iter().map(value_to_json).collect()),
        Some(Kind::StructValue(s)) => struct_to_json(s),
    }
}

/// JSON → `Struct` (for tests and tools; `None` unless `json` is an object).
pub fn json_to_struct(json: &Json) -> Option<Struct> {
    match json {
        Json::Object(map) => {
            Some(Struct { fields: map.iter().map(|(k, v)| (k.clone(), json_to_value(v))).collect() })
        }
        _ => None,
    }
}

fn json_to_value(json: &Json) -> Value {
    let kind = match json {
        Json::Null => Kind::NullValue(0),
        Json::Bool(b) => Kind::BoolValue(*b),
        Json::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        Json::String(s) => Kind::StringValue(s.clone()),
        Json::Array(items) => {
            Kind::ListValue(ListValue { values: items.iter().map(json_to_value).collect() })
        }
        Json::Object(_) => Kind::StructValue(json_to_struct(json).unwrap_or_default()),
    };
    Value { kind: Some(kind) }
}

#[cfg(test)]
#[path = "proto_tests.rs"]
mod tests;
