//! Envoy's `RouteConfiguration` (RDS, or a connection manager's `route_config`) as weir
//! virtual hosts.
//!
//! Each message is checked against what weir reads (every other field set is refused with its
//! path), then written in weir's schema: most of a route has the same fields and shape in
//! both (header changes, query matchers, redirects, weighted clusters, `regex_rewrite`,
//! retries); the rest is mapped here (`safe_regex`, header matchers, `hash_policy`,
//! `host_rewrite_literal`, `direct_response`, `typed_per_filter_config` disabling a filter).

use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use serde_json::{Map, Value, json};
use weir_xds::convert::envoy_json::to_json;

use super::Refusals;
use super::support::{Spec, check, join};
use crate::config::{ConfigError, VirtualHostConfig};

const FILTER_CONFIG: &str = "envoy.config.route.v3.FilterConfig";

/// What weir reads of a route configuration.
pub(super) const SPEC: Spec = &[
    ("envoy.config.route.v3.RouteConfiguration", &["name", "virtual_hosts", "validate_clusters"]),
    ("envoy.config.route.v3.VirtualHost", &["name", "domains", "routes"]),
    (
        "envoy.config.route.v3.Route",
        &[
            "name",
            "match",
            "route",
            "redirect",
            "direct_response",
            "request_headers_to_add",
            "request_headers_to_remove",
            "response_headers_to_add",
            "response_headers_to_remove",
            "typed_per_filter_config",
            "metadata",
        ],
    ),
    ("envoy.config.core.v3.Metadata", &["filter_metadata", "typed_filter_metadata"]),
    (
        "envoy.config.route.v3.RouteMatch",
        &[
            "prefix",
            "path",
            "path_separated_prefix",
            "safe_regex",
            "headers",
            "query_parameters",
            "case_sensitive",
        ],
    ),
    ("envoy.type.matcher.v3.RegexMatcher", &["regex"]),
    ("envoy.config.route.v3.HeaderMatcher", &["name", "string_match", "present_match", "invert_match"]),
    ("envoy.config.route.v3.QueryParameterMatcher", &["name", "string_match", "present_match"]),
    (
        "envoy.type.matcher.v3.StringMatcher",
        &["exact", "prefix", "suffix", "contains", "safe_regex", "ignore_case"],
    ),
    (
        "envoy.config.route.v3.RouteAction",
        &[
            "cluster",
            "cluster_header",
            "weighted_clusters",
            "timeout",
            "idle_timeout",
            "prefix_rewrite",
            "regex_rewrite",
            "host_rewrite_literal",
            "retry_policy",
            "hash_policy",
            "cluster_not_found_response_code",
        ],
    ),
    ("envoy.config.route.v3.WeightedCluster", &["clusters"]),
    ("envoy.config.route.v3.WeightedCluster.ClusterWeight", &["name", "weight"]),
    ("envoy.type.matcher.v3.RegexMatchAndSubstitute", &["pattern", "substitution"]),
    (
        "envoy.config.route.v3.RetryPolicy",
        &["retry_on", "num_retries", "per_try_timeout", "retriable_status_codes"],
    ),
    (
        "envoy.config.route.v3.RouteAction.HashPolicy",
        &["header", "cookie", "query_parameter", "connection_properties"],
    ),
    ("envoy.config.route.v3.RouteAction.HashPolicy.Header", &["header_name"]),
    ("envoy.config.route.v3.RouteAction.HashPolicy.Cookie", &["name"]),
    ("envoy.config.route.v3.RouteAction.HashPolicy.QueryParameter", &["name"]),
    ("envoy.config.route.v3.RouteAction.HashPolicy.ConnectionProperties", &["source_ip"]),
    (
        "envoy.config.route.v3.RedirectAction",
        &[
            "https_redirect",
            "scheme_redirect",
            "host_redirect",
            "port_redirect",
            "path_redirect",
            "prefix_rewrite",
            "response_code",
            "strip_query",
        ],
    ),
    ("envoy.config.route.v3.DirectResponseAction", &["status", "body"]),
    ("envoy.config.core.v3.DataSource", &["inline_string"]),
    ("envoy.config.core.v3.HeaderValueOption", &["header", "append_action"]),
    ("envoy.config.core.v3.HeaderValue", &["key", "value"]),
    (FILTER_CONFIG, &["disabled"]),
];

/// Translates a route configuration. `filters` are the HTTP filters of the listener it serves
/// (a route's `typed_per_filter_config` may disable some of them); `at` is its path.
pub fn route_configuration(
    pb: &RouteConfiguration,
    filters: &[String],
    at: &str,
) -> Result<Vec<VirtualHostConfig>, ConfigError> {
    let mut refusals = Refusals::default();
    if !too_many(pb, at, &mut refusals) {
        check(pb, &[SPEC], at, &mut refusals);
    }
    if !refusals.is_empty() {
        return refusals.into_result(Vec::new());
    }
    let hosts = translate(pb, filters, at, &mut refusals);
    refusals.into_result(hosts)
}

/// Refuses a route configuration with more than [`super::MAX_ROUTES_PER_CONFIGURATION`]
/// routes (before any is translated).
fn too_many(pb: &RouteConfiguration, at: &str, refusals: &mut Refusals) -> bool {
    let count: usize = pb.virtual_hosts.iter().map(|v| v.routes.len()).sum();
    let over = count > super::MAX_ROUTES_PER_CONFIGURATION;
    if over {
        refusals.add(
            &join(at, "virtual_hosts"),
            format!(
                "{count} routes: weir takes at most {} per route configuration",
                super::MAX_ROUTES_PER_CONFIGURATION
            ),
        );
    }
    over
}

/// Translates a route configuration whose fields were checked; adds what it refuses to
/// `refusals`.
pub(super) fn translate(
    pb: &RouteConfiguration,
    filters: &[String],
    at: &str,
    refusals: &mut Refusals,
) -> Vec<VirtualHostConfig> {
    if too_many(pb, at, refusals) {
        return Vec::new();
    }
    let json = match to_json(pb) {
        Ok(json) => json,
        Err(e) => {
            refusals.add(at, e.to_string());
            return Vec::new();
        }
    };
    let mut hosts = Vec::new();
    for (i, vhost) in json["virtual_hosts"].as_array().into_iter().flatten().enumerate() {
        let at = format!("{}[{i}]", join(at, "virtual_hosts"));
        let mut routes = Vec::new();
        for (j, route) in vhost["routes"].as_array().into_iter().flatten().enumerate() {
            let at = format!("{}[{j}]", join(&at, "routes"));
            match weir_route(route, filters) {
                Ok(r) => routes.push(r),
                Err(reason) => refusals.add(&at, reason),
            }
        }
        let host = json!({"name": vhost["name"], "domains": vhost.get("domains").cloned().unwrap_or(json!([])), "routes": routes});
        match serde_json::from_value::<VirtualHostConfig>(host) {
            Ok(h) => hosts.push(h),
            Err(e) => refusals.add(&at, e.to_string()),
        }
    }
    hosts
}

/// One route in weir's schema.
fn weir_route(route: &Value, filters: &[String]) -> Result<Value, String> {
    let m = &route["match"];
    let mut matcher = Map::new();
    copy(m, &mut matcher, &["prefix", "path", "path_separated_prefix", "query_parameters", "case_sensitive"]);
    if let Some(regex) = m.get("safe_regex") {
        matcher.insert("regex".into(), regex["regex"].clone());
    }
    if let Some(headers) = m.get("headers").and_then(Value::as_array) {
        let headers = headers.iter().map(header_matcher).collect::<Result<Vec<_>, _>>()?;
        matcher.insert("headers".into(), Value::Array(headers));
    }
    if !["prefix", "path", "path_separated_prefix", "regex"].iter().any(|k| matcher.contains_key(*k)) {
        return Err(
            "match: one of prefix, path, path_separated_prefix and safe_regex is required by weir".into()
        );
    }
    let mut out = Map::new();
    out.insert("match".into(), Value::Object(matcher));
    // The same fields and shape in both schemas.
    let same = [
        "name",
        "redirect",
        "request_headers_to_add",
        "request_headers_to_remove",
        "response_headers_to_add",
        "response_headers_to_remove",
        "metadata",
    ];
    copy(route, &mut out, &same);
    if let Some(action) = route.get("route") {
        out.insert("route".into(), route_action(action)?);
    }
    if let Some(direct) = route.get("direct_response") {
        let body = direct.get("body").map_or(json!(""), |b| b["inline_string"].clone());
        out.insert("direct_response".into(), json!({"status": direct["status"], "body": body}));
    }
    if let Some(per_filter) = route.get("typed_per_filter_config").and_then(Value::as_object) {
        let mut enabled: Vec<String> = filters.to_vec();
        for (name, config) in per_filter {
            let kind = config["@type"].as_str().unwrap_or_default();
            if !kind.ends_with(FILTER_CONFIG) || config.get("disabled") != Some(&json!(true)) {
                return Err(format!(
                    "typed_per_filter_config[{name:?}]: weir takes only {FILTER_CONFIG} with disabled: true"
                ));
            }
            enabled.retain(|f| f != name);
        }
        out.insert("http_filters".into(), json!(enabled));
    }
    Ok(Value::Object(out))
}

fn route_action(action: &Value) -> Result<Value, String> {
    let mut out = Map::new();
    let same = [
        "cluster",
        "cluster_header",
        "weighted_clusters",
        "timeout",
        "idle_timeout",
        "prefix_rewrite",
        "regex_rewrite",
        "retry_policy",
        "cluster_not_found_response_code",
    ];
    copy(action, &mut out, &same);
    if let Some(host) = action.get("host_rewrite_literal") {
        out.insert("host_rewrite".into(), host.clone());
    }
    match action.get("hash_policy").and_then(Value::as_array).map(Vec::as_slice) {
        None | Some([]) => {}
        Some([policy]) => {
            let weir = if let Some(h) = policy.get("header") {
                json!({"header": h["header_name"]})
            } else if let Some(c) = policy.get("cookie") {
                json!({"cookie": c["name"]})
            } else if let Some(q) = policy.get("query_parameter") {
                json!({"query_parameter": q["name"]})
            } else {
                json!({"source_ip": policy["connection_properties"]["source_ip"] == json!(true)})
            };
            out.insert("hash_policy".into(), weir);
        }
        Some(_) => return Err("route.hash_policy: weir hashes on one policy per route".into()),
    }
    Ok(Value::Object(out))
}

/// Copies the `keys` `from` has into `to` (fields with the same name and shape in both
/// schemas).
fn copy(from: &Value, to: &mut Map<String, Value>, keys: &[&str]) {
    for key in keys {
        if let Some(v) = from.get(*key) {
            to.insert((*key).into(), v.clone());
        }
    }
}

fn header_matcher(h: &Value) -> Result<Value, String> {
    let mut out = json!({"name": h["name"]});
    if let Some(m) = h.get("string_match") {
        match (m.get("exact"), m.get("prefix"), m.get("safe_regex")) {
            (Some(v), None, None) => out["exact"] = v.clone(),
            (None, Some(v), None) => out["prefix"] = v.clone(),
            (None, None, Some(r)) => out["regex"] = r["regex"].clone(),
            _ => return Err("match.headers: weir matches a header by exact, prefix or safe_regex".into()),
        }
        if m.get("ignore_case").is_some() {
            return Err("match.headers: ignore_case is not supported by weir on headers".into());
        }
    } else if let Some(v) = h.get("present_match") {
        out["present"] = v.clone();
    }
    if let Some(v) = h.get("invert_match") {
        out["invert"] = v.clone();
    }
    Ok(out)
}

#[cfg(test)]
#[path = "route_tests.rs"]
mod tests;
