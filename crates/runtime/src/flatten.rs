//! Flattening a runtime layer (a `google.protobuf.Struct`, here as JSON) into dotted keys,
//! exactly as Envoy's `ProtoLayer` walks it:
//!
//! - a nested object's fields become `prefix.field`;
//! - strings, numbers and booleans are leaves;
//! - an empty object, or an object with a `numerator` or `denominator` field (a fractional
//!   percent), is one leaf holding the object;
//! - lists and nulls are invalid: the whole layer is rejected.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// Flattened values of one layer.
pub type Layer = BTreeMap<String, Value>;

/// A layer Envoy would reject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlattenError {
    /// The dotted key of the bad entry.
    pub key: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl fmt::Display for FlattenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Invalid runtime entry value for {}: {}", self.key, self.reason)
    }
}

impl std::error::Error for FlattenError {}

/// Flattens a layer (a JSON object). A non-object layer is an error.
pub fn flatten(layer: &Value) -> Result<Layer, FlattenError> {
    let Value::Object(fields) = layer else {
        return Err(FlattenError { key: String::new(), reason: "a layer must be an object" });
    };
    let mut out = Layer::new();
    for (k, v) in fields {
        walk(v, k, &mut out)?;
    }
    Ok(out)
}

fn walk(value: &Value, prefix: &str, out: &mut Layer) -> Result<(), FlattenError> {
    match value {
        Value::Null => Err(FlattenError { key: prefix.to_string(), reason: "null is not a runtime value" }),
        Value::Array(_) => {
            Err(FlattenError { key: prefix.to_string(), reason: "lists are not runtime values" })
        }
        Value::String(_) | Value::Number(_) | Value::Bool(_) => {
            out.insert(prefix.to_string(), value.clone());
            Ok(())
        }
        Value::Object(fields) => {
            if fields.is_empty() || fields.contains_key("numerator") || fields.contains_key("denominator") {
                out.insert(prefix.to_string(), value.clone());
                return Ok(());
            }
            for (k, v) in fields {
                walk(v, &format!("{prefix}.{k}"), out)?;
            }
            Ok(())
        }
    }
}

/// Merges layers, later ones overriding earlier ones key by key.
pub fn merge<'a>(layers: impl IntoIterator<Item = &'a Layer>) -> Layer {
    let mut merged = Layer::new();
    for layer in layers {
        merged.extend(layer.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    merged
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Golden: the flattening Envoy applies to a representative layer.
    #[test]
    fn golden_layer() {
        let layer = json!({
            "shuffle_sharding": {
                "total_hosts": 10,
                "customer": {"customer-A": {"shard_size": 5}, "customer-B.eu": {"shard_size": "3"}}
            },
            "feature.enabled": true,
            "health_check": {"percent": {"numerator": 5, "denominator": "HUNDRED"}},
            "empty": {},
            "ratio": 0.25,
            "name": "blue"
        });
        let flat = flatten(&layer).unwrap();
        let expected: Layer = [
            ("empty", json!({})),
            ("feature.enabled", json!(true)),
            ("health_check.percent", json!({"numerator": 5, "denominator": "HUNDRED"})),
            ("name", json!("blue")),
            ("ratio", json!(0.25)),
            ("shuffle_sharding.customer.customer-A.shard_size", json!(5)),
            ("shuffle_sharding.customer.customer-B.eu.shard_size", json!("3")),
            ("shuffle_sharding.total_hosts", json!(10)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        assert_eq!(flat, expected);
    }

    #[test]
    fn lists_and_nulls_reject_the_layer() {
        let err = flatten(&json!({"a": {"b": [1, 2]}})).unwrap_err();
        assert_eq!(err.key, "a.b");
        assert!(err.to_string().starts_with("Invalid runtime entry value for a.b"));
        assert_eq!(flatten(&json!({"x": null})).unwrap_err().key, "x");
        assert!(flatten(&json!([1])).is_err());
    }

    #[test]
    fn later_layers_win() {
        let base = flatten(&json!({"a": 1, "b": 2})).unwrap();
        let over = flatten(&json!({"b": 3})).unwrap();
        let merged = merge([&base, &over]);
        assert_eq!(merged["a"], json!(1));
        assert_eq!(merged["b"], json!(3));
    }
}
