//! Validation of what operators type: runtime keys, layer and resource names, runtime values.
//!
//! - A **key** is a dotted name (`shuffle_sharding.customer.customer-A.shard_size`): non-empty
//!   segments, no whitespace or control characters.
//! - A **name** (runtime layer, ECDS resource) is non-empty, without whitespace, control
//!   characters or `/`.
//! - A **value** is a string, a number, a boolean, or a fractional percent
//!   `{"numerator": N, "denominator": "HUNDRED" | "TEN_THOUSAND" | "MILLION"}` (the denominator
//!   defaults to `HUNDRED`). Lists, nulls and other objects are refused: Envoy rejects lists and
//!   nulls, and would flatten any other object into several keys.

use serde_json::Value;

use super::error::StoreError;

/// The denominators Envoy's `FractionalPercent` accepts.
const DENOMINATORS: [&str; 3] = ["HUNDRED", "TEN_THOUSAND", "MILLION"];

/// Checks a dotted runtime key.
pub fn check_key(key: &str) -> Result<(), StoreError> {
    let bad = |reason: &str| StoreError::InvalidKey { key: key.to_string(), reason: reason.to_string() };
    if key.is_empty() {
        return Err(bad("a key must not be empty"));
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("a key must not contain whitespace or control characters"));
    }
    if key.split('.').any(str::is_empty) {
        return Err(bad("every dot-separated segment of a key must be non-empty"));
    }
    Ok(())
}

/// Checks a layer or resource name.
pub fn check_name(what: &'static str, name: &str) -> Result<(), StoreError> {
    let bad =
        |reason: &str| StoreError::InvalidName { what, name: name.to_string(), reason: reason.to_string() };
    if name.is_empty() {
        return Err(bad("must not be empty"));
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("must not contain whitespace or control characters"));
    }
    if name.contains('/') {
        return Err(bad("must not contain `/`"));
    }
    Ok(())
}

/// Checks one runtime value (a leaf) stored under `key`.
pub fn check_value(key: &str, value: &Value) -> Result<(), StoreError> {
    let bad = |reason: String| StoreError::InvalidValue { key: key.to_string(), reason };
    match value {
        Value::String(_) | Value::Bool(_) => Ok(()),
        Value::Number(n) => {
            if n.as_f64().is_some_and(f64::is_finite) {
                Ok(())
            } else {
                Err(bad("numbers must be finite".into()))
            }
        }
        Value::Null => Err(bad("null is not a runtime value".into())),
        Value::Array(_) => Err(bad("lists are not runtime values".into())),
        Value::Object(fields) => check_fraction(fields).map_err(bad),
    }
}

/// A fractional percent: `numerator` (a whole number ≥ 0) and an optional `denominator`.
fn check_fraction(fields: &serde_json::Map<String, Value>) -> Result<(), String> {
    const SHAPE: &str = "objects are not runtime values, except a fractional percent \
                         {\"numerator\": N, \"denominator\": \"HUNDRED\"|\"TEN_THOUSAND\"|\"MILLION\"}";
    if fields.is_empty() || fields.keys().any(|k| k != "numerator" && k != "denominator") {
        return Err(SHAPE.into());
    }
    match fields.get("numerator") {
        Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n <= u64::from(u32::MAX)) => {}
        Some(_) => return Err("`numerator` must be a whole number between 0 and 4294967295".into()),
        None => return Err(format!("a fractional percent needs a `numerator`; {SHAPE}")),
    }
    match fields.get("denominator") {
        None => Ok(()),
        Some(Value::String(d)) if DENOMINATORS.contains(&d.as_str()) => Ok(()),
        Some(other) => Err(format!("`denominator` must be one of {DENOMINATORS:?}, not {other}")),
    }
}

/// Validates a whole layer the way the admin API does by default: Envoy's flattening must accept
/// it, and every flattened key and value must pass [`check_key`] / [`check_value`].
pub fn check_layer(layer: &Value) -> Result<(), StoreError> {
    let flat = weir_runtime::flatten(layer).map_err(|e| {
        if e.key.is_empty() {
            StoreError::InvalidLayer(e.reason.to_string())
        } else {
            StoreError::InvalidValue { key: e.key.clone(), reason: e.reason.to_string() }
        }
    })?;
    for (key, value) in &flat {
        check_key(key)?;
        check_value(key, value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys() {
        check_key("shuffle_sharding.customer.customer-A.shard_size").unwrap();
        check_key("a").unwrap();
        for bad in ["", "a..b", ".a", "a.", "a b", "a\tb", "a\u{1}"] {
            let err = check_key(bad).unwrap_err();
            assert!(matches!(err, StoreError::InvalidKey { .. }), "{bad:?}: {err}");
        }
    }

    #[test]
    fn names() {
        check_name("layer", "rtds").unwrap();
        check_name("layer", "my.layer-1").unwrap();
        for bad in ["", "a b", "a/b"] {
            assert!(check_name("layer", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn values() {
        for good in [json!(5), json!(-1.5), json!("x"), json!(true), json!({"numerator": 5})] {
            check_value("k", &good).unwrap();
        }
        check_value("k", &json!({"numerator": 5, "denominator": "MILLION"})).unwrap();
        let cases = [
            (json!(null), "null"),
            (json!([1]), "lists"),
            (json!({"a": 1}), "fractional percent"),
            (json!({}), "fractional percent"),
            (json!({"numerator": -1}), "numerator"),
            (json!({"numerator": 1, "denominator": "TEN"}), "denominator"),
            (json!({"denominator": "HUNDRED"}), "numerator"),
        ];
        for (value, needle) in cases {
            let err = check_value("a.b", &value).unwrap_err().to_string();
            assert!(err.contains("a.b") && err.contains(needle), "{value}: {err}");
        }
    }

    #[test]
    fn layers() {
        check_layer(&json!({"a": {"b": 1, "c": {"numerator": 1}}, "d.e": "x"})).unwrap();
        let err = check_layer(&json!({"a": {"b": [1]}})).unwrap_err().to_string();
        assert!(err.contains("a.b") && err.contains("lists"), "{err}");
        let err = check_layer(&json!({"a": {"b": {}}})).unwrap_err().to_string();
        assert!(err.contains("a.b"), "{err}");
        assert!(check_layer(&json!({"a b": 1})).is_err());
        assert!(matches!(check_layer(&json!([1])), Err(StoreError::InvalidLayer(_))));
    }
}
