//! Editing runtime layers. A layer is stored as the JSON object served in its `Runtime` resource
//! (`google.protobuf.Struct`). Edits of single keys work on the flattened view and store the
//! layer with dotted top-level keys, which Envoy flattens to the same values as the nested form.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::StoreError;
use super::keys;

/// A layer flattened leniently: like Envoy's flattening, but lists and nulls (which only an
/// unchecked layer can hold) are kept as leaves instead of failing, so such layers can still be
/// shown and edited.
pub fn flatten_lenient(layer: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    if let Value::Object(fields) = layer {
        for (k, v) in fields {
            walk(v, k, &mut out);
        }
    }
    out
}

fn walk(value: &Value, prefix: &str, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(fields)
            if !(fields.is_empty()
                || fields.contains_key("numerator")
                || fields.contains_key("denominator")) =>
        {
            for (k, v) in fields {
                walk(v, &format!("{prefix}.{k}"), out);
            }
        }
        _ => {
            out.insert(prefix.to_string(), value.clone());
        }
    }
}

/// Whether two layers flatten to the same values (then serving one or the other is the same).
pub fn same_values(a: &Value, b: &Value) -> bool {
    flatten_lenient(a) == flatten_lenient(b)
}

/// The flattened map back as a layer object with dotted top-level keys.
fn to_object(flat: BTreeMap<String, Value>) -> Value {
    Value::Object(flat.into_iter().collect::<Map<String, Value>>())
}

/// `layer` with `key` set to `value` (both checked). Refused when the layer still holds an invalid
/// (unchecked) entry afterwards: that must be fixed by replacing the layer or deleting the entry.
pub fn set(layer: &Value, key: &str, value: Value) -> Result<Value, StoreError> {
    keys::check_key(key)?;
    keys::check_value(key, &value)?;
    let mut flat = flatten_lenient(layer);
    flat.insert(key.to_string(), value);
    let next = to_object(flat);
    if let Err(e) = weir_runtime::flatten(&next) {
        return Err(StoreError::Conflict(format!(
            "the layer holds an invalid entry pushed unchecked ({e}); delete that key or replace the layer"
        )));
    }
    Ok(next)
}

/// `layer` without `key`; `NotFound` if the key is not set.
pub fn unset(layer: &Value, key: &str) -> Result<Value, StoreError> {
    keys::check_key(key)?;
    let mut flat = flatten_lenient(layer);
    if flat.remove(key).is_none() {
        return Err(StoreError::NotFound(format!("key `{key}`")));
    }
    Ok(to_object(flat))
}

/// `update` merged over `layer`, key by key (flattened).
pub fn merge(layer: &Value, update: &Value) -> Value {
    let mut flat = flatten_lenient(layer);
    flat.extend(flatten_lenient(update));
    to_object(flat)
}

/// Checks a layer given whole (`POST /runtime/{layer}`). It must be an object; with `checked`,
/// also every key and value (see [`keys::check_layer`]). Unchecked layers may hold lists and
/// nulls, to test that clients NACK them.
pub fn check_whole(layer: &Value, checked: bool) -> Result<(), StoreError> {
    if !layer.is_object() {
        return Err(StoreError::InvalidLayer("a layer must be a JSON/YAML object".into()));
    }
    if checked {
        keys::check_layer(layer)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn set_and_unset_on_nested_layers() {
        let layer = json!({"a": {"b": 1, "c": {"numerator": 5}}});
        let next = set(&layer, "a.d", json!("x")).unwrap();
        assert_eq!(next, json!({"a.b": 1, "a.c": {"numerator": 5}, "a.d": "x"}));
        assert!(same_values(&layer, &unset(&next, "a.d").unwrap()));
        assert!(matches!(unset(&layer, "a.zz"), Err(StoreError::NotFound(_))));
        assert!(matches!(set(&layer, "a b", json!(1)), Err(StoreError::InvalidKey { .. })));
        assert!(matches!(set(&layer, "a.b", json!([1])), Err(StoreError::InvalidValue { .. })));
    }

    #[test]
    fn invalid_entries_block_sets_but_not_unsets() {
        let layer = json!({"bad": [1, 2], "ok": 1});
        assert_eq!(flatten_lenient(&layer)["bad"], json!([1, 2]));
        let err = set(&layer, "ok", json!(2)).unwrap_err().to_string();
        assert!(err.contains("bad") && err.contains("unchecked"), "{err}");
        assert_eq!(unset(&layer, "bad").unwrap(), json!({"ok": 1}));
    }

    #[test]
    fn merge_and_check() {
        let merged = merge(&json!({"a": {"b": 1, "c": 2}}), &json!({"a": {"c": 3}, "d": true}));
        assert_eq!(merged, json!({"a.b": 1, "a.c": 3, "d": true}));
        check_whole(&json!({"x": null}), false).unwrap();
        assert!(check_whole(&json!({"x": null}), true).is_err());
        assert!(check_whole(&json!([1]), false).is_err());
    }
}
