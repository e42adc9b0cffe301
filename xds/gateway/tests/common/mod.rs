//! The objects of the upstream conformance base (`gateway-conformance-infra`) and helpers to
//! read a translation.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use weir_gateway::{Manifests, Translation, translate};

pub fn service(ns: &str, name: &str, ip: &str) -> String {
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

pub fn base() -> String {
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

pub fn run(routes: &str) -> Translation {
    translate(&Manifests::parse(&format!("{}---\n{routes}", base())).unwrap())
}

pub fn gateway<'a>(t: &'a Translation, name: &str) -> &'a weir_gateway::GatewayResources {
    t.gateways.iter().find(|g| g.key.name == name).unwrap()
}

/// The route status conditions of `route` for its first parent: `{type: reason}`.
pub fn route_conditions(t: &Translation, route: &str) -> Vec<(String, String, String)> {
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

pub fn has(conditions: &[(String, String, String)], kind: &str, status: &str, reason: &str) -> bool {
    conditions.iter().any(|(k, s, r)| k == kind && s == status && r == reason)
}

pub fn vhost<'a>(g: &'a weir_gateway::GatewayResources, name: &str) -> &'a Value {
    g.routes[0]["virtual_hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no vhost {name}: {:#}", g.routes[0]))
}
