//! Conversions envoy-types does not provide: `google.protobuf.Struct` ↔ JSON and `Any`
//! packing with type-URL checks.

mod any;
mod struct_json;

pub use any::{AnyError, pack, unpack};
pub use struct_json::{json_to_struct, json_to_value, struct_to_json, value_to_json};
