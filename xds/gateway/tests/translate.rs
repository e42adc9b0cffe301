//! Manifests → Envoy resources and status, on the objects of the upstream conformance base
//! (`gateway-conformance-infra`): what each route becomes and why some are refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use weir_gateway::{Manifests, Translation, translate};

fn service(ns: &str, name: &str, ip: &str) -> String {
    format!(
        r#"---
apiVersion: v1
kind: Service
metadata: {{ name: {name}, namespace: {ns} }}
spec: {{ ports: [ {{ name: http, port: 8080 }} ] }}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{ name: {name}-1, namespace: {ns}, labels: {{ kubernetes.io/service-name: {name} }} }}
addressType: IPv4
ports: [ {{ name: http, port: 3000 }} ]
endpoints: [ {{ addresses: [ "{ip}" ] }}, {{ addresses: [ "10.9.9.9" ], conditions: {{ ready: false }} }} ]
"#
    )
}

fn base() -> String {
    let mut text = String::from(
        r#"
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: weir }
spec: { controllerName: weir.dev/gateway-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: other }
spec: { controllerName: example.com/other }
---
apiVersion: v1
kind: Namespace
metadata: { name: gateway-conformance-web-backend, labels: { team: web } }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: same-namespace, namespace: gateway-conformance-infra, generation: 3 }
spec:
  gatewayClassName: weir
  addresses: [ { type: IPAddress, value: 127.0.0.1 } ]
  listeners:
  - { name: http, port: 8081, protocol: HTTP, allowedRoutes: { namespaces: { from: Same } } }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: selected, namespace: gateway-conformance-infra }
spec:
  gatewayClassName: weir
  listeners:
  - { name: web, port: 8082, protocol: HTTP, allowedRoutes: { namespaces: { from: Selector, selector: { matchLabels: { team: web } } } } }
  - { name: tls, port: 8443, protocol: HTTPS }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: theirs, namespace: gateway-conformance-infra }
spec:
  gatewayClassName: other
  listeners: [ { name: http, port: 80, protocol: HTTP } ]
"#,
    );
    for (name, ip) in
        [("infra-backend-v1", "10.0.0.1"), ("infra-backend-v2", "10.0.0.2"), ("infra-backend-v3", "10.0.0.3")]
    {
        text.push_str(&service("gateway-conformance-infra", name, ip));
    }
    text.push_str(&service("gateway-conformance-web-backend", "web-backend", "10.0.1.1"));
    text
}

fn run(routes: &str) -> Translation {
    translate(&Manifests::parse(&format!("{}---\n{routes}", base())).unwrap())
}

fn gateway<'a>(t: &'a Translation, name: &str) -> &'a weir_gateway::GatewayResources {
    t.gateways.iter().find(|g| g.key.name == name).unwrap()
}

/// The route status conditions of `route` for its first parent: `{type: reason}`.
fn route_conditions(t: &Translation, route: &str) -> Vec<(String, String, String)> {
    let status = serde_json::to_value(&t.status).unwrap();
    let r = status["httpRoutes"].as_array().unwrap().iter().find(|r| r["name"] == route).unwrap();
    r["parents"][0]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap().into(),
                c["status"].as_str().unwrap().into(),
                c["reason"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn has(conditions: &[(String, String, String)], kind: &str, status: &str, reason: &str) -> bool {
    conditions.iter().any(|(k, s, r)| k == kind && s == status && r == reason)
}

fn vhost<'a>(g: &'a weir_gateway::GatewayResources, name: &str) -> &'a Value {
    g.routes[0]["virtual_hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no vhost {name}: {:#}", g.routes[0]))
}

const MATCHING: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: matching, namespace: gateway-conformance-infra }
spec:
  parentRefs: [ { name: same-namespace } ]
  rules:
  - matches: [ { path: { type: PathPrefix, value: / } } ]
    backendRefs: [ { name: infra-backend-v1, port: 8080 } ]
  - matches: [ { path: { type: PathPrefix, value: /v2/ }, headers: [ { name: Version, value: two } ] } ]
    backendRefs: [ { name: infra-backend-v2, port: 8080 } ]
  - matches: [ { path: { type: Exact, value: /exact } } ]
    backendRefs: [ { name: infra-backend-v3, port: 8080 } ]
  - matches: [ { path: { type: PathPrefix, value: /v2 }, method: POST, queryParams: [ { name: q, value: "1" } ] } ]
    backendRefs: [ { name: infra-backend-v3, port: 8080, weight: 3 }, { name: infra-backend-v1, port: 8080, weight: 1 } ]
"#;

#[test]
fn a_gateway_is_a_listener_a_route_configuration_and_eds_clusters() {
    let t = run(MATCHING);
    let g = gateway(&t, "same-namespace");
    assert_eq!(g.listeners.len(), 1);
    let l = &g.listeners[0];
    assert_eq!(l["name"], "gateway-conformance-infra:same-namespace:8081");
    assert_eq!(l["address"]["socket_address"], json!({"address": "127.0.0.1", "port_value": 8081}));
    let names: Vec<&str> = g.clusters.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "gateway-conformance-infra:infra-backend-v1:8080",
            "gateway-conformance-infra:infra-backend-v2:8080",
            "gateway-conformance-infra:infra-backend-v3:8080"
        ]
    );
    // The ready endpoint on the EndpointSlice's port, not the one that is not ready.
    let lb = &g.endpoints[0]["endpoints"][0]["lb_endpoints"];
    assert_eq!(
        lb,
        &json!([{"endpoint": {"address": {"socket_address": {"address": "10.0.0.1", "port_value": 3000}}}}])
    );
    // The other class's Gateway is not translated.
    assert!(t.gateways.iter().all(|g| g.key.name != "theirs"));
}

#[test]
fn routes_are_ordered_by_the_spec_precedence() {
    let t = run(MATCHING);
    let routes = vhost(gateway(&t, "same-namespace"), "*")["routes"].as_array().unwrap().clone();
    let matches: Vec<Value> = routes.iter().map(|r| r["match"].clone()).collect();
    assert_eq!(matches[0], json!({"path": "/exact"}));
    // The longer prefix as written (`/v2/`, served as `/v2` and below) before `/v2` with a
    // method match.
    assert_eq!(matches[1]["path_separated_prefix"], "/v2");
    assert_eq!(matches[1]["headers"], json!([{"name": "version", "string_match": {"exact": "two"}}]));
    assert_eq!(matches[2]["path_separated_prefix"], "/v2");
    assert_eq!(matches[2]["headers"], json!([{"name": ":method", "string_match": {"exact": "POST"}}]));
    assert_eq!(matches[2]["query_parameters"], json!([{"name": "q", "string_match": {"exact": "1"}}]));
    assert_eq!(matches[3], json!({"prefix": "/"}));
    assert_eq!(
        routes[2]["route"]["weighted_clusters"]["clusters"],
        json!([{"name": "gateway-conformance-infra:infra-backend-v3:8080", "weight": 3}, {"name": "gateway-conformance-infra:infra-backend-v1:8080", "weight": 1}])
    );
    let c = route_conditions(&t, "matching");
    assert!(
        has(&c, "Accepted", "True", "Accepted") && has(&c, "ResolvedRefs", "True", "ResolvedRefs"),
        "{c:?}"
    );
}

#[test]
fn invalid_backends_get_500_and_their_reason() {
    let t = run(r#"
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: invalid, namespace: gateway-conformance-infra }
spec:
  parentRefs: [ { name: same-namespace } ]
  rules:
  - matches: [ { path: { value: /missing } } ]
    backendRefs: [ { name: does-not-exist, port: 8080 } ]
  - matches: [ { path: { value: /half } } ]
    backendRefs: [ { name: infra-backend-v1, port: 8080 }, { name: infra-backend-v1, port: 9999 } ]
  - matches: [ { path: { value: /none } } ]
"#);
    let routes = vhost(gateway(&t, "same-namespace"), "*")["routes"].as_array().unwrap().clone();
    let by_path = |p: &str| routes.iter().find(|r| r["match"]["path_separated_prefix"] == p).unwrap().clone();
    assert_eq!(by_path("/missing")["direct_response"], json!({"status": 500}));
    assert_eq!(by_path("/none")["direct_response"], json!({"status": 500}));
    let half = &by_path("/half")["route"];
    assert_eq!(half["cluster_not_found_response_code"], "INTERNAL_SERVER_ERROR");
    assert_eq!(
        half["weighted_clusters"]["clusters"][1],
        json!({"name": "weir-gateway/invalid-backend", "weight": 1})
    );
    let c = route_conditions(&t, "invalid");
    assert!(
        has(&c, "Accepted", "True", "Accepted") && has(&c, "ResolvedRefs", "False", "BackendNotFound"),
        "{c:?}"
    );
}

#[test]
fn cross_namespace_backends_need_a_reference_grant() {
    let route = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: cross, namespace: gateway-conformance-infra }
spec:
  parentRefs: [ { name: same-namespace } ]
  rules: [ { backendRefs: [ { name: web-backend, namespace: gateway-conformance-web-backend, port: 8080 } ] } ]
"#;
    let t = run(route);
    assert!(has(&route_conditions(&t, "cross"), "ResolvedRefs", "False", "RefNotPermitted"));
    assert_eq!(vhost(gateway(&t, "same-namespace"), "*")["routes"][0]["direct_response"]["status"], 500);
    let grant = r#"
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: { name: allow, namespace: gateway-conformance-web-backend }
spec:
  from: [ { group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: gateway-conformance-infra } ]
  to: [ { group: "", kind: Service, name: web-backend } ]
"#;
    let t = run(&format!("{route}{grant}"));
    assert!(has(&route_conditions(&t, "cross"), "ResolvedRefs", "True", "ResolvedRefs"));
    assert_eq!(
        vhost(gateway(&t, "same-namespace"), "*")["routes"][0]["route"]["cluster"],
        "gateway-conformance-web-backend:web-backend:8080"
    );
}

#[test]
fn attachment_is_refused_for_the_reasons_the_spec_names() {
    let t = run(r#"
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: other-namespace, namespace: gateway-conformance-web-backend }
spec: { parentRefs: [ { name: same-namespace, namespace: gateway-conformance-infra } ] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: selected, namespace: gateway-conformance-web-backend }
spec: { parentRefs: [ { name: selected, namespace: gateway-conformance-infra, sectionName: web } ] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: no-section, namespace: gateway-conformance-infra }
spec: { parentRefs: [ { name: same-namespace, sectionName: nope } ] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: unsupported, namespace: gateway-conformance-infra }
spec:
  parentRefs: [ { name: same-namespace } ]
  rules: [ { filters: [ { type: RequestMirror, requestMirror: { backendRef: { name: infra-backend-v1, port: 8080 } } } ] } ]
"#);
    assert!(has(&route_conditions(&t, "other-namespace"), "Accepted", "False", "NotAllowedByListeners"));
    assert!(has(&route_conditions(&t, "selected"), "Accepted", "True", "Accepted"));
    assert!(has(&route_conditions(&t, "no-section"), "Accepted", "False", "NoMatchingParent"));
    assert!(has(&route_conditions(&t, "unsupported"), "Accepted", "False", "UnsupportedValue"));
    let status = serde_json::to_value(&t.status).unwrap();
    let selected = status["gateways"].as_array().unwrap().iter().find(|g| g["name"] == "selected").unwrap();
    assert_eq!(selected["listeners"][0]["attachedRoutes"], 1);
    let tls = &selected["listeners"][1]["conditions"];
    assert!(tls.as_array().unwrap().iter().any(|c| c["reason"] == "UnsupportedProtocol"), "{tls}");
    let same = status["gateways"].as_array().unwrap().iter().find(|g| g["name"] == "same-namespace").unwrap();
    assert_eq!(same["conditions"][0]["observedGeneration"], 3);
    assert_eq!(status["gatewayClasses"].as_array().unwrap().len(), 1);
}

#[test]
fn hostnames_intersect_into_virtual_hosts() {
    let t = run(r#"
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: hosts, namespace: gateway-conformance-infra }
spec:
  gatewayClassName: weir
  listeners:
  - { name: wildcard, port: 8090, protocol: HTTP, hostname: "*.example.com" }
  - { name: exact, port: 8090, protocol: HTTP, hostname: "very.specific.com" }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: hosts, namespace: gateway-conformance-infra }
spec:
  parentRefs: [ { name: hosts } ]
  hostnames: [ "foo.example.com", "*.specific.com", "other.org" ]
  rules: [ { backendRefs: [ { name: infra-backend-v1, port: 8080 } ] } ]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: nowhere, namespace: gateway-conformance-infra }
spec:
  parentRefs: [ { name: hosts } ]
  hostnames: [ "other.org" ]
"#);
    let g = gateway(&t, "hosts");
    let names: Vec<&str> = g.routes[0]["virtual_hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["*.example.com", "foo.example.com", "very.specific.com"]);
    assert_eq!(vhost(g, "foo.example.com")["domains"], json!(["foo.example.com", "foo.example.com:*"]));
    assert_eq!(vhost(g, "*.example.com")["routes"], json!([]));
    assert!(has(&route_conditions(&t, "nowhere"), "Accepted", "False", "NoMatchingListenerHostname"));
}

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
