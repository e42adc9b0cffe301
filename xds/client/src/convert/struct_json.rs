//! `google.protobuf.Struct` / `Value` ↔ `serde_json::Value`, as protobuf's JSON mapping defines
//! it (numbers are doubles; integers beyond 2^53 lose precision, as in protobuf).

use envoy_types::pb::google::protobuf::{ListValue, NullValue, Struct, Value, value::Kind};
use serde_json::{Map, Value as Json};

/// JSON → `Value`.
pub fn json_to_value(json: &Json) -> Value {
    let kind = match json {
        Json::Null => Kind::NullValue(NullValue::NullValue as i32),
        Json::Bool(b) => Kind::BoolValue(*b),
        Json::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        Json::String(s) => Kind::StringValue(s.clone()),
        Json::Array(items) => {
            Kind::ListValue(ListValue { values: items.iter().map(json_to_value).collect() })
        }
        Json::Object(map) => Kind::StructValue(object_to_struct(map)),
    };
    Value { kind: Some(kind) }
}

fn object_to_struct(map: &Map<String, Json>) -> Struct {
    Struct { fields: map.iter().map(|(k, v)| (k.clone(), json_to_value(v))).collect() }
}

/// A JSON object → `Struct` (`None` if `json` is not an object).
pub fn json_to_struct(json: &Json) -> Option<Struct> {
    match json {
        Json::Object(map) => Some(object_to_struct(map)),
        _ => None,
    }
}

/// `Value` → JSON. Whole numbers come back as integers (`10`, not `10.0`).
pub fn value_to_json(value: &Value) -> Json {
    match &value.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(*b),
        Some(Kind::NumberValue(n)) => weir_runtime::struct_number(*n),
        Some(Kind::StringValue(s)) => Json::String(s.clone()),
        Some(Kind::ListValue(list)) => Json::Array(list.values.iter().map(value_to_json).collect()),
        Some(Kind::StructValue(s)) => struct_to_json(s),
    }
}

/// `Struct` → JSON object (keys sorted).
pub fn struct_to_json(s: &Struct) -> Json {
    let mut keys: Vec<&String> = s.fields.keys().collect();
    keys.sort();
    Json::Object(keys.into_iter().map(|k| (k.clone(), value_to_json(&s.fields[k]))).collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Golden: a layer survives the round trip, integers stay integers.
    #[test]
    fn round_trip() {
        let layer = json!({
            "a": {"b": 1, "c": [true, "x", 2.5, null]},
            "big": 9007199254740993u64,
            "s": "text",
            "neg": -4
        });
        let s = json_to_struct(&layer).unwrap();
        let back = struct_to_json(&s);
        assert_eq!(back["a"], json!({"b": 1, "c": [true, "x", 2.5, null]}));
        assert_eq!(back["s"], "text");
        assert_eq!(back["neg"], -4);
        // Beyond 2^53 a double cannot hold the integer: it comes back as a float.
        assert!(back["big"].is_f64());
        assert!(json_to_struct(&json!([1])).is_none());
    }

    #[test]
    fn encoded_struct_matches_protobuf_wire_format() {
        use prost::Message;
        let s = json_to_struct(&json!({"k": "v"})).unwrap();
        // fields map entry: field 1 (map entry) { key=1:"k", value=2: Value{string_value=3:"v"} }
        assert_eq!(s.encode_to_vec(), vec![0x0a, 0x08, 0x0a, 0x01, b'k', 0x12, 0x03, 0x1a, 0x01, b'v']);
    }
}
