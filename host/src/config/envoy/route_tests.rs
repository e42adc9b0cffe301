use std::time::Duration;

use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use weir_xds::convert::envoy_json::from_json;

use super::*;

fn translate(yaml: &str, filters: &[&str]) -> Result<Vec<VirtualHostConfig>, ConfigError> {
    let pb: RouteConfiguration = from_json(&serde_norway::from_str(yaml).unwrap()).unwrap();
    let filters: Vec<String> = filters.iter().map(|f| f.to_string()).collect();
    route_configuration(&pb, &filters, "route_config")
}

#[test]
fn a_route_configuration_with_what_weir_reads() {
    let hosts = translate(
        r#"
name: main
validate_clusters: false
virtual_hosts:
- name: api
  domains: ["api.example.com", "*"]
  routes:
  - name: weighted
    match:
      prefix: /v1
      case_sensitive: false
      headers: [ { name: x-tenant, string_match: { exact: a } }, { name: x-debug, present_match: true, invert_match: true } ]
      query_parameters: [ { name: q, string_match: { prefix: x } } ]
    route:
      weighted_clusters: { clusters: [ { name: blue, weight: 90 }, { name: green, weight: 10 } ] }
      timeout: 2.5s
      idle_timeout: 0.250s
      retry_policy: { retry_on: "5xx,reset", num_retries: 2, per_try_timeout: 1s }
      hash_policy: [ { header: { header_name: x-user } } ]
      host_rewrite_literal: backend.internal
      regex_rewrite: { pattern: { regex: "^/v1/(.*)$" }, substitution: "/\\1" }
    request_headers_to_add: [ { header: { key: x-a, value: "1" }, append_action: OVERWRITE_IF_EXISTS_OR_ADD } ]
    response_headers_to_remove: [ server ]
    typed_per_filter_config:
      auth: { "@type": type.googleapis.com/envoy.config.route.v3.FilterConfig, disabled: true }
  - match: { safe_regex: { regex: "/old/.*" } }
    redirect: { https_redirect: true, path_redirect: /new, response_code: FOUND }
  - match: { path: /health }
    direct_response: { status: 200, body: { inline_string: ok } }
"#,
        &["auth", "shard"],
    )
    .unwrap();
    assert_eq!(hosts.len(), 1);
    let host = &hosts[0];
    assert_eq!(host.domains, ["api.example.com", "*"]);
    let r = &host.routes[0];
    assert_eq!(r.name, "weighted");
    assert_eq!(r.matcher.prefix.as_deref(), Some("/v1"));
    assert!(!r.matcher.case_sensitive);
    assert_eq!(r.matcher.headers.len(), 2);
    assert!(r.matcher.headers[1].invert && r.matcher.headers[1].present == Some(true));
    assert_eq!(r.matcher.query_parameters[0].name, "q");
    let action = r.route.as_ref().unwrap();
    let weighted = action.weighted_clusters.as_ref().unwrap();
    assert_eq!((weighted.clusters[0].weight, weighted.clusters[1].name.as_str()), (90, "green"));
    assert_eq!(action.timeout, Duration::from_millis(2500));
    assert_eq!(action.idle_timeout, Some(Duration::from_millis(250)));
    assert_eq!(action.retry_policy.as_ref().unwrap().num_retries, 2);
    assert_eq!(action.hash_policy.as_ref().unwrap().header.as_deref(), Some("x-user"));
    assert_eq!(action.host_rewrite.as_deref(), Some("backend.internal"));
    assert_eq!(action.regex_rewrite.as_ref().unwrap().substitution, "/\\1");
    assert_eq!(r.request_headers_to_add[0].header.key, "x-a");
    assert_eq!(r.response_headers_to_remove, ["server"]);
    assert_eq!(r.http_filters.as_deref(), Some(&["shard".to_string()][..]));
    let redirect = host.routes[1].redirect.as_ref().unwrap();
    assert!(redirect.https_redirect);
    assert_eq!(host.routes[1].matcher.regex.as_deref(), Some("/old/.*"));
    assert_eq!(host.routes[2].direct_response.as_ref().unwrap().body, "ok");
}

#[test]
fn every_unsupported_field_is_refused_with_its_path() {
    let e = translate(
        r#"
virtual_hosts:
- name: a
  domains: ["*"]
  cors: { allow_origin_string_match: [ { exact: x } ] }
  routes:
  - match: { prefix: /, grpc: {} }
    route: { cluster: c, request_mirror_policies: [ { cluster: m } ] }
    typed_per_filter_config:
      lua: { "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute, disabled: true }
"#,
        &[],
    )
    .unwrap_err()
    .to_string();
    for expected in [
        "route_config.virtual_hosts[0].cors: ",
        "route_config.virtual_hosts[0].routes[0].match.grpc: ",
        "route_config.virtual_hosts[0].routes[0].route.request_mirror_policies: ",
        "route_config.virtual_hosts[0].routes[0].typed_per_filter_config[\"lua\"]: envoy.extensions.filters.http.lua.v3.LuaPerRoute is not supported",
    ] {
        assert!(e.contains(expected), "missing `{expected}` in:\n{e}");
    }
}

#[test]
fn two_hash_policies_and_an_enabled_filter_config_are_refused() {
    let e = translate(
        "virtual_hosts: [ { name: a, domains: ['*'], routes: [ { match: { prefix: / }, route: { cluster: c, hash_policy: [ { header: { header_name: a } }, { header: { header_name: b } } ] } } ] } ]",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("one policy per route"), "{e}");
    let e = translate(
        "virtual_hosts: [ { name: a, domains: ['*'], routes: [ { match: { prefix: / }, route: { cluster: c }, typed_per_filter_config: { f: { '@type': type.googleapis.com/envoy.config.route.v3.FilterConfig, disabled: false } } } ] } ]",
        &["f"],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("disabled: true"), "{e}");
}

#[test]
fn a_route_configuration_over_the_cap_is_refused() {
    use envoy_types::pb::envoy::config::route::v3::{Route, VirtualHost};
    let host = VirtualHost {
        name: "a".into(),
        domains: vec!["*".into()],
        routes: vec![Route::default(); crate::config::envoy::MAX_ROUTES_PER_CONFIGURATION + 1],
        ..VirtualHost::default()
    };
    let pb = RouteConfiguration { virtual_hosts: vec![host], ..RouteConfiguration::default() };
    let e = route_configuration(&pb, &[], "").unwrap_err().to_string();
    assert!(e.contains("10001 routes: weir takes at most 10000"), "{e}");
}
