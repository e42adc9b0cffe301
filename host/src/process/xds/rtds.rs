//! RTDS: `Runtime` resources turned into runtime layers, with Envoy's rules (a `Struct`
//! flattened to dotted keys; lists and nulls refuse the whole response).

use envoy_types::pb::envoy::service::runtime::v3::Runtime;
use envoy_types::pb::google::protobuf::Any;
use weir_runtime::Layer;
use weir_xds::convert::{self as any, self as struct_json};

/// Decodes one response: `(resource name, flattened values)` per resource, or why not.
/// `subscribed` are the resource names asked for; anything else is refused.
pub fn decode(resources: &[Any], subscribed: &[String]) -> Result<Vec<(String, Layer)>, String> {
    resources
        .iter()
        .map(|resource| {
            let runtime: Runtime = any::unpack(resource).map_err(|e| e.to_string())?;
            if !subscribed.contains(&runtime.name) {
                return Err(format!("runtime layer `{}` was not subscribed to", runtime.name));
            }
            let json = runtime
                .layer
                .as_ref()
                .map_or_else(|| serde_json::Value::Object(Default::default()), struct_json::struct_to_json);
            let layer =
                weir_runtime::flatten(&json).map_err(|e| format!("runtime layer `{}`: {e}", runtime.name))?;
            Ok((runtime.name, layer))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn runtime(name: &str, value: serde_json::Value) -> Any {
        any::pack(&Runtime { name: name.into(), layer: struct_json::json_to_struct(&value) })
    }

    #[test]
    fn flattens_and_refuses_lists_nulls_and_strangers() {
        let names = vec!["rtds".to_string()];
        let ok = decode(&[runtime("rtds", json!({"a": {"b": 5, "c": "x"}}))], &names).unwrap();
        assert_eq!(ok[0].1["a.b"], json!(5));
        let list = decode(&[runtime("rtds", json!({"a": [1]}))], &names).unwrap_err();
        assert!(list.contains("runtime layer `rtds`") && list.contains('a'), "{list}");
        assert!(decode(&[runtime("rtds", json!({"a": null}))], &names).is_err());
        assert!(decode(&[runtime("other", json!({}))], &names).unwrap_err().contains("not subscribed"));
    }
}
