//! Envoy resources: a listener per Gateway port (HTTP connection manager, routes over RDS),
//! and the routes of one match of a rule (its action, its filters' changes).

use std::net::IpAddr;

use serde_json::{Value, json};

use crate::backends::Backend;
use crate::filters::{Filters, PathChange};
use crate::matches::Match;

/// The cluster the share of requests meant for invalid backends is sent to: it never exists,
/// and the route answers such requests 500 (`cluster_not_found_response_code`), as the spec
/// requires.
pub(crate) const INVALID_BACKEND: &str = "weir-gateway/invalid-backend";

/// A listener on `address:port` whose routes are route configuration `name` (over ADS),
/// running `filters` (HTTP filters) before the router.
pub(crate) fn listener(name: &str, address: IpAddr, port: u16, filters: &[Value]) -> Value {
    let router = json!({
        "name": "envoy.filters.http.router",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}
    });
    let http_filters: Vec<Value> = filters.iter().cloned().chain(std::iter::once(router)).collect();
    json!({
        "name": name,
        "address": {"socket_address": {"address": address.to_string(), "port_value": port}},
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": "gateway",
                "rds": {"route_config_name": name, "config_source": {"ads": {}, "resource_api_version": "V3"}},
                "http_filters": http_filters
            }
        }]}]
    })
}

/// What a rule does with a request its filters do not answer: forward to its backends by
/// weight (invalid ones' share answered 500), or answer 500 when none can take it.
pub(crate) fn action(backends: &[Backend]) -> Result<Value, Value> {
    let mut clusters: Vec<(String, u32)> = Vec::new();
    let mut failing = 0u32;
    for b in backends {
        match b {
            Backend::Cluster { weight: 0, .. } | Backend::Fails { weight: 0 } => {}
            Backend::Cluster { name, weight } => match clusters.iter_mut().find(|(n, _)| n == name) {
                Some((_, w)) => *w = w.saturating_add(*weight),
                None => clusters.push((name.clone(), *weight)),
            },
            Backend::Fails { weight } => failing = failing.saturating_add(*weight),
        }
    }
    let internal_error = json!({"status": 500});
    match (clusters.as_slice(), failing) {
        ([], _) => Err(internal_error),
        ([(name, _)], 0) => Ok(json!({"cluster": name})),
        _ => {
            let mut weighted: Vec<Value> =
                clusters.iter().map(|(name, weight)| json!({"name": name, "weight": weight})).collect();
            if failing > 0 {
                weighted.push(json!({"name": INVALID_BACKEND, "weight": failing}));
            }
            Ok(json!({
                "weighted_clusters": {"clusters": weighted},
                "cluster_not_found_response_code": "INTERNAL_SERVER_ERROR"
            }))
        }
    }
}

/// The Envoy routes for one match: one, or two when a redirect replaces a prefix with one
/// ending in `/` (the prefix itself, and what is below it).
pub(crate) fn routes(
    name: &str,
    m: &Match,
    filters: &Filters,
    action: &Result<Value, Value>,
) -> Result<Vec<Value>, String> {
    let mut route = json!({"name": name, "match": m.envoy});
    for (k, v) in &filters.headers {
        route[k] = v.clone();
    }
    if let Some((redirect, path)) = &filters.redirect {
        let mut redirect = redirect.clone();
        match path {
            None => {}
            Some(PathChange::Full(p)) => redirect["path_redirect"] = json!(p),
            Some(PathChange::Prefix(new)) => {
                let prefix = m.prefix.as_deref().ok_or("ReplacePrefixMatch needs a PathPrefix match")?;
                if prefix == "/" {
                    redirect["prefix_rewrite"] = json!(with_slash(new));
                } else if new.ends_with('/') {
                    // `/p` → `new`, `/p/x` → `new` + `x`.
                    let mut exact = route.clone();
                    exact["match"] = retarget(&m.envoy, "path", prefix);
                    let mut exact_redirect = redirect.clone();
                    exact_redirect["path_redirect"] = json!(new);
                    exact["redirect"] = exact_redirect;
                    route["match"] = retarget(&m.envoy, "prefix", &format!("{prefix}/"));
                    redirect["prefix_rewrite"] = json!(new);
                    route["redirect"] = redirect;
                    return Ok(vec![exact, route]);
                } else {
                    redirect["prefix_rewrite"] = json!(new);
                }
            }
        }
        route["redirect"] = redirect;
        return Ok(vec![route]);
    }
    let mut forward = match action {
        Ok(forward) => forward.clone(),
        Err(direct) => {
            route["direct_response"] = direct.clone();
            return Ok(vec![route]);
        }
    };
    if let Some((host, path)) = &filters.rewrite {
        if let Some(host) = host {
            forward["host_rewrite_literal"] = json!(host);
        }
        match path {
            None => {}
            Some(PathChange::Full(p)) => {
                forward["regex_rewrite"] =
                    json!({"pattern": {"regex": "^/.*$"}, "substitution": escape_substitution(p)});
            }
            Some(PathChange::Prefix(new)) => {
                let prefix = m.prefix.as_deref().ok_or("ReplacePrefixMatch needs a PathPrefix match")?;
                if prefix == "/" {
                    let substitution = escape_substitution(&with_slash(new));
                    forward["regex_rewrite"] =
                        json!({"pattern": {"regex": "^/"}, "substitution": substitution});
                } else if new.ends_with('/') {
                    let pattern = format!("^{}/*", regex::escape(prefix));
                    forward["regex_rewrite"] =
                        json!({"pattern": {"regex": pattern}, "substitution": escape_substitution(new)});
                } else {
                    forward["prefix_rewrite"] = json!(new);
                }
            }
        }
    }
    route["route"] = forward;
    Ok(vec![route])
}

/// Disables the HTTP filters `names` on `route` (Envoy's per-route `FilterConfig`).
pub(crate) fn disable(route: &mut Value, names: &[&str]) {
    if names.is_empty() {
        return;
    }
    let off = json!({"@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig", "disabled": true});
    let per_filter: serde_json::Map<String, Value> =
        names.iter().map(|n| ((*n).to_string(), off.clone())).collect();
    route["typed_per_filter_config"] = Value::Object(per_filter);
}

/// `m` with its path condition replaced by `kind: value`.
fn retarget(m: &Value, kind: &str, value: &str) -> Value {
    let mut out = m.clone();
    if let Some(map) = out.as_object_mut() {
        for k in ["path", "prefix", "path_separated_prefix", "safe_regex"] {
            map.remove(k);
        }
        map.insert(kind.into(), json!(value));
    }
    out
}

fn with_slash(path: &str) -> String {
    match path.ends_with('/') {
        true => path.to_string(),
        false => format!("{path}/"),
    }
}

/// A literal for Envoy's substitution, where `\N` is a group.
fn escape_substitution(text: &str) -> String {
    text.replace('\\', "\\\\")
}
