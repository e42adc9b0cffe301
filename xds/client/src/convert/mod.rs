//! Conversions envoy-types does not provide: `google.protobuf.Struct` ↔ JSON and `Any`
//! packing with type-URL checks, Envoy's JSON/YAML form of its protos.

mod any;
pub mod envoy_json;
mod struct_json;

pub use any::{AnyError, pack, unpack};
pub use struct_json::{json_to_struct, json_to_value, struct_to_json, value_to_json};
