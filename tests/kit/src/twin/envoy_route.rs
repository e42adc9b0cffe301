//! A weir route in Envoy's schema.

use anyhow::Context;
use serde_json::{Map, Value, json};

use super::Route;
use super::hcm::duration;

/// `route` for Envoy, with the plugins in `off` disabled on it.
pub(super) fn route(route: &Route, off: &[&str]) -> anyhow::Result<Value> {
    let m = route.get("match").context("a route has a `match`")?;
    let mut matcher = json!({});
    if let Some(p) = m.get("prefix") {
        matcher["prefix"] = p.clone();
    } else if let Some(p) = m.get("path") {
        matcher["path"] = p.clone();
    } else if let Some(r) = m.get("regex") {
        matcher["safe_regex"] = json!({"regex": r});
    }
    // The same fields and shape in both schemas.
    for key in ["path_separated_prefix", "query_parameters", "case_sensitive"] {
        if let Some(v) = m.get(key) {
            matcher[key] = v.clone();
        }
    }
    if let Some(headers) = m.get("headers").and_then(Value::as_array) {
        matcher["headers"] = Value::Array(headers.iter().map(header_matcher).collect());
    }
    let mut out = json!({"match": matcher});
    if let Some(name) = route.get("name") {
        out["name"] = name.clone();
    }
    // Header changes and metadata: the same fields and shape in both schemas.
    for key in [
        "metadata",
        "request_headers_to_add",
        "request_headers_to_remove",
        "response_headers_to_add",
        "response_headers_to_remove",
    ] {
        if let Some(v) = route.get(key) {
            out[key] = v.clone();
        }
    }
    if let Some(action) = route.get("route") {
        let mut r = json!({});
        let same = [
            "cluster",
            "cluster_header",
            "prefix_rewrite",
            "weighted_clusters",
            "regex_rewrite",
            "cluster_not_found_response_code",
        ];
        for key in same {
            if let Some(v) = action.get(key) {
                r[key] = v.clone();
            }
        }
        for key in ["timeout", "idle_timeout"] {
            if let Some(t) = action.get(key) {
                r[key] = json!(duration(t.as_str().with_context(|| format!("a route `{key}` is text"))?)?);
            }
        }
        // weir's one-key hash policy as Envoy's list of one.
        if let Some(policy) = action.get("hash_policy") {
            let envoy = if let Some(name) = policy.get("header") {
                json!({"header": {"header_name": name}})
            } else if let Some(name) = policy.get("cookie") {
                json!({"cookie": {"name": name}})
            } else if let Some(name) = policy.get("query_parameter") {
                json!({"query_parameter": {"name": name}})
            } else {
                json!({"connection_properties": {"source_ip": policy.get("source_ip") == Some(&json!(true))}})
            };
            r["hash_policy"] = json!([envoy]);
        }
        if let Some(v) = action.get("host_rewrite") {
            r["host_rewrite_literal"] = v.clone();
        }
        out["route"] = r;
    }
    if let Some(redirect) = route.get("redirect") {
        // The same fields and shape in both schemas.
        out["redirect"] = redirect.clone();
    }
    if let Some(direct) = route.get("direct_response") {
        out["direct_response"] = json!({
            "status": direct["status"],
            "body": {"inline_string": direct.get("body").cloned().unwrap_or(json!(""))}
        });
    }
    if !off.is_empty() {
        let disabled =
            json!({"@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig", "disabled": true});
        let per_filter: Map<String, Value> = off.iter().map(|p| (p.to_string(), disabled.clone())).collect();
        out["typed_per_filter_config"] = Value::Object(per_filter);
    }
    Ok(out)
}

fn header_matcher(h: &Value) -> Value {
    let mut out = json!({"name": h["name"]});
    if let Some(v) = h.get("exact") {
        out["string_match"] = json!({"exact": v});
    } else if let Some(v) = h.get("prefix") {
        out["string_match"] = json!({"prefix": v});
    } else if let Some(v) = h.get("regex") {
        out["string_match"] = json!({"safe_regex": {"regex": v}});
    } else if let Some(v) = h.get("present") {
        out["present_match"] = v.clone();
    }
    if let Some(v) = h.get("invert") {
        out["invert_match"] = v.clone();
    }
    out
}
