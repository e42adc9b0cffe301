//! Filters, weir's WasmPlugin policy and the limits a hostile manifest meets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{gateway, has, route_conditions, run, vhost};
use serde_json::json;

#[test]
fn filters_become_route_fields() {
    let t = run(r#"
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: filters, namespace: gateway-conformance-infra }
spec:
  parentRefs: [ { name: same-namespace } ]
  rules:
  - matches: [ { path: { value: /headers } } ]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: { set: [ { name: X-Set, value: "50%" } ], add: [ { name: X-Add, value: a } ], remove: [ X-Gone ] }
    - type: ResponseHeaderModifier
      responseHeaderModifier: { set: [ { name: X-Out, value: o } ] }
    backendRefs: [ { name: infra-backend-v1, port: 8080 } ]
  - matches: [ { path: { value: /redirect } } ]
    filters: [ { type: RequestRedirect, requestRedirect: { hostname: example.org, statusCode: 301, path: { type: ReplacePrefixMatch, replacePrefixMatch: /new/ } } } ]
  - matches: [ { path: { value: /rewrite } } ]
    filters: [ { type: URLRewrite, urlRewrite: { hostname: internal, path: { type: ReplacePrefixMatch, replacePrefixMatch: /v2 } } } ]
    backendRefs: [ { name: infra-backend-v1, port: 8080 } ]
"#);
    let routes = vhost(gateway(&t, "same-namespace"), "*")["routes"].as_array().unwrap().clone();
    let headers = routes.iter().find(|r| r["match"]["path_separated_prefix"] == "/headers").unwrap();
    assert_eq!(
        headers["request_headers_to_add"],
        json!([
            {"header": {"key": "x-set", "value": "50%%"}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"},
            {"header": {"key": "x-add", "value": "a"}, "append_action": "APPEND_IF_EXISTS_OR_ADD"}
        ])
    );
    assert_eq!(headers["request_headers_to_remove"], json!(["x-gone"]));
    assert_eq!(headers["response_headers_to_add"][0]["header"]["key"], "x-out");
    // A prefix replaced by one ending in `/`: the prefix itself, then what is below it.
    let exact = routes.iter().find(|r| r["match"]["path"] == "/redirect").unwrap();
    assert_eq!(
        exact["redirect"],
        json!({"host_redirect": "example.org", "response_code": "MOVED_PERMANENTLY", "path_redirect": "/new/"})
    );
    let below = routes.iter().find(|r| r["match"]["prefix"] == "/redirect/").unwrap();
    assert_eq!(below["redirect"]["prefix_rewrite"], "/new/");
    let rewrite = routes.iter().find(|r| r["match"]["path_separated_prefix"] == "/rewrite").unwrap();
    assert_eq!(rewrite["route"]["host_rewrite_literal"], "internal");
    assert_eq!(rewrite["route"]["prefix_rewrite"], "/v2");
}

#[test]
fn a_prefix_change_needs_a_prefix_match() {
    let t = run(r#"
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: bad, namespace: gateway-conformance-infra }
spec:
  parentRefs: [ { name: same-namespace } ]
  rules:
  - matches: [ { path: { type: Exact, value: /x } } ]
    filters: [ { type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /y } } } ]
    backendRefs: [ { name: infra-backend-v1, port: 8080 } ]
"#);
    assert!(has(&route_conditions(&t, "bad"), "Accepted", "False", "UnsupportedValue"));
    assert_eq!(vhost(gateway(&t, "same-namespace"), "*")["routes"], json!([]));
}

#[test]
fn a_wasm_plugin_runs_on_the_routes_it_targets() {
    let t = run(r#"
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: a, namespace: gateway-conformance-infra }
spec:
  parentRefs: [ { name: same-namespace } ]
  rules: [ { matches: [ { path: { value: /a } } ], backendRefs: [ { name: infra-backend-v1, port: 8080 } ] } ]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: b, namespace: gateway-conformance-infra }
spec:
  parentRefs: [ { name: same-namespace } ]
  rules: [ { matches: [ { path: { value: /b } } ], backendRefs: [ { name: infra-backend-v1, port: 8080 } ] } ]
---
apiVersion: weir.dev/v1alpha1
kind: WasmPlugin
metadata: { name: auth, namespace: gateway-conformance-infra }
spec:
  targetRefs: [ { group: gateway.networking.k8s.io, kind: HTTPRoute, name: a } ]
  module: /filters/auth.wasm
  rootId: auth
  configuration: { keys: [ k ] }
  failurePolicy: FailOpen
---
apiVersion: weir.dev/v1alpha1
kind: WasmPlugin
metadata: { name: relative, namespace: gateway-conformance-infra }
spec:
  targetRefs: [ { group: gateway.networking.k8s.io, kind: Gateway, name: same-namespace } ]
  module: auth.wasm
"#);
    let g = gateway(&t, "same-namespace");
    let filters = &g.listeners[0]["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"];
    assert_eq!(filters[0]["name"], "wasm:gateway-conformance-infra:auth");
    let config = &filters[0]["typed_config"]["config"];
    assert_eq!(config["vm_config"]["code"]["local"]["filename"], "/filters/auth.wasm");
    assert_eq!(config["configuration"]["value"], r#"{"keys":["k"]}"#);
    assert_eq!(config["failure_policy"], "FAIL_OPEN");
    assert_eq!(filters[1]["name"], "envoy.filters.http.router");
    let routes = vhost(g, "*")["routes"].as_array().unwrap().clone();
    let on = |path: &str| routes.iter().find(|r| r["match"]["path_separated_prefix"] == path).unwrap();
    assert!(on("/a").get("typed_per_filter_config").is_none());
    assert_eq!(on("/b")["typed_per_filter_config"]["wasm:gateway-conformance-infra:auth"]["disabled"], true);
    // Requests no route takes end on a last 404 route, the plugin off there too.
    let last = routes.last().unwrap();
    assert_eq!(last["direct_response"]["status"], 404);
    assert_eq!(last["typed_per_filter_config"]["wasm:gateway-conformance-infra:auth"]["disabled"], true);
    let status = serde_json::to_value(&t.status).unwrap();
    let plugins = status["wasmPlugins"].as_array().unwrap();
    assert_eq!(plugins[0]["gateways"], json!(["gateway-conformance-infra/same-namespace"]));
    assert_eq!(plugins[1]["conditions"][0]["reason"], "Invalid");
}

#[test]
fn values_the_crds_refuse_make_the_route_unsupported() {
    let route = |rule: &str| {
        format!(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{ name: r, namespace: gateway-conformance-infra }}\n\
             spec:\n  parentRefs: [ {{ name: same-namespace }} ]\n  rules:\n  - {rule}\n"
        )
    };
    for rule in [
        "backendRefs: [ { name: infra-backend-v1, port: 8080, weight: 1000001 } ]",
        "filters: [ { type: RequestRedirect, requestRedirect: { port: 0 } } ]",
        "filters: [ { type: RequestRedirect, requestRedirect: { hostname: \"*.example.com\" } } ]",
        "filters: [ { type: URLRewrite, urlRewrite: { hostname: \"a b\" } } ]",
        "matches: [ { path: { type: RegularExpression, value: \"/[a-z&&[^x]]\" } } ]",
    ] {
        let t = run(&route(rule));
        assert!(has(&route_conditions(&t, "r"), "Accepted", "False", "UnsupportedValue"), "{rule}");
    }
    // An empty prefix replacement is `/`.
    let t = run(&route(
        "matches: [ { path: { value: /strip } } ]\n    filters: [ { type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: \"\" } } } ]\n    backendRefs: [ { name: infra-backend-v1, port: 8080 } ]",
    ));
    let routes = vhost(gateway(&t, "same-namespace"), "*")["routes"].clone();
    assert_eq!(
        routes[0]["route"]["regex_rewrite"],
        json!({"pattern": {"regex": "^/strip/*"}, "substitution": "/"}),
        "{routes:#} {}",
        serde_json::to_string(&t.status).unwrap()
    );
}

#[test]
fn a_gateway_serves_a_bounded_number_of_route_entries() {
    // 16 rules × 64 matches × 16 hostnames: 16,384 entries per route.
    let matches: Vec<String> = (0..64).map(|i| format!("{{ path: {{ value: /m{i} }} }}")).collect();
    let rules: Vec<String> = (0..16)
        .map(|_| {
            format!(
                "  - {{ matches: [ {} ], backendRefs: [ {{ name: infra-backend-v1, port: 8080 }} ] }}",
                matches.join(", ")
            )
        })
        .collect();
    let hosts: Vec<String> = (0..16).map(|i| format!("h{i}.example.com")).collect();
    let route = |name: &str| {
        format!(
            "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{ name: {name}, namespace: gateway-conformance-infra }}\n\
             spec:\n  parentRefs: [ {{ name: same-namespace }} ]\n  hostnames: [ {} ]\n  rules:\n{}\n",
            hosts.join(", "),
            rules.join("\n")
        )
    };
    let t = run(&format!("{}{}", route("big-1"), route("big-2")));
    assert!(has(&route_conditions(&t, "big-1"), "Accepted", "True", "Accepted"));
    let c = route_conditions(&t, "big-2");
    assert!(has(&c, "Accepted", "False", "UnsupportedValue"), "{c:?}");
    // More than the CRD allows is refused with the manifest, as the API server would.
    let too_many: Vec<String> = (0..17).map(|i| format!("h{i}.example.com")).collect();
    let text = route("r").replace(&hosts.join(", "), &too_many.join(", "));
    let e = weir_gateway::Manifests::parse(&text).unwrap_err();
    assert_eq!(e.path, "spec.hostnames", "{e}");
    let e = weir_gateway::Manifests::parse(&route("r").replace("name: r,", "name: \"a:b\",")).unwrap_err();
    assert_eq!(e.path, "metadata.name", "{e}");
}
