//! Manifests → Envoy resources and status, on the objects of the upstream conformance base
//! (`gateway-conformance-infra`): listeners, clusters, precedence, backends, attachment.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{gateway, has, route_conditions, run, vhost};
use serde_json::{Value, json};

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
fn a_hostname_goes_to_the_most_specific_listener_only() {
    let t = run(r#"
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: layered, namespace: gateway-conformance-infra }
spec:
  gatewayClassName: weir
  listeners:
  - { name: any, port: 8095, protocol: HTTP, allowedRoutes: { kinds: [] } }
  - { name: wildcard, port: 8095, protocol: HTTP, hostname: "*.bar.com" }
  - { name: exact, port: 8095, protocol: HTTP, hostname: foo.bar.com }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: broad, namespace: gateway-conformance-infra }
spec:
  parentRefs: [ { name: layered, sectionName: any }, { name: layered, sectionName: any } ]
  hostnames: [ foo.bar.com, baz.bar.com, other.org ]
  rules: [ { backendRefs: [ { name: infra-backend-v1, port: 8080 } ] } ]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: exact, namespace: gateway-conformance-infra }
spec:
  parentRefs: [ { name: layered, sectionName: exact } ]
  rules: [ { backendRefs: [ { name: infra-backend-v2, port: 8080 } ] } ]
"#);
    let g = gateway(&t, "layered");
    let cluster = |host: &str| {
        vhost(g, host)["routes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["route"]["cluster"].clone())
            .collect::<Vec<Value>>()
    };
    // foo.bar.com is listener `exact`'s; baz.bar.com is `wildcard`'s (with no route there);
    // other.org only `any` matches.
    assert_eq!(cluster("foo.bar.com"), [json!("gateway-conformance-infra:infra-backend-v2:8080")]);
    assert!(cluster("*.bar.com").is_empty());
    assert!(g.routes[0]["virtual_hosts"].as_array().unwrap().iter().all(|v| v["name"] != "baz.bar.com"));
    assert_eq!(cluster("other.org"), [json!("gateway-conformance-infra:infra-backend-v1:8080")]);
    // Two parentRefs to one listener: attached once.
    let status = serde_json::to_value(&t.status).unwrap();
    let layered = status["gateways"].as_array().unwrap().iter().find(|g| g["name"] == "layered").unwrap();
    assert_eq!(layered["listeners"][0]["attachedRoutes"], 1);
    assert_eq!(layered["listeners"][0]["supportedKinds"][0]["kind"], "HTTPRoute");
}
