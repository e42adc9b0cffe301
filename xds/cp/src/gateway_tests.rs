use super::*;

const MANIFESTS: &str = r#"
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: weir }
spec: { controllerName: weir.dev/gateway-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: edge, namespace: infra }
spec:
  gatewayClassName: weir
  listeners: [ { name: http, port: 8080, protocol: HTTP } ]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web, namespace: infra }
spec:
  parentRefs: [ { name: edge } ]
  rules: [ { backendRefs: [ { name: web, port: 80 } ] } ]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: infra }
spec: { ports: [ { port: 80 } ] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: infra, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [ { port: 8081 } ]
endpoints: [ { addresses: [ 10.1.2.3 ] } ]
"#;

#[test]
fn each_gateway_is_a_node_group_replaced_as_a_whole() {
    let store = Store::in_memory();
    let state = GatewayState::default();
    let applied = apply(&store, &state, MANIFESTS).unwrap();
    let edge = &applied.gateways["infra/edge"];
    assert_eq!(
        (edge.group.as_str(), edge.node_cluster.as_str(), edge.changed),
        ("gateway:infra:edge", "infra/edge", true)
    );
    let groups = store.groups();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].1.cluster.as_deref(), Some("infra/edge"));
    let snapshot = store.snapshot();
    let group = &snapshot.groups["gateway:infra:edge"];
    assert_eq!(group.listeners.resources.keys().collect::<Vec<_>>(), ["infra:edge:8080"]);
    assert_eq!(group.clusters.resources.keys().collect::<Vec<_>>(), ["infra:web:80"]);
    assert!(state.status().is_some_and(|s| s.routes.len() == 1));
    // The same manifests again: nothing changes.
    assert!(!apply(&store, &state, MANIFESTS).unwrap().gateways["infra/edge"].changed);
    // The Gateway gone: its group is removed, other groups stay.
    store
        .apply_resources(
            ResourceSet::default(),
            Some(GroupSpec {
                name: "canary".into(),
                nodes: NodeSelector { cluster: Some("c".into()), ..Default::default() },
            }),
        )
        .unwrap();
    let without = MANIFESTS.replace("kind: Gateway\n", "kind: Unknown\n");
    let applied = apply(&store, &state, &without).unwrap();
    assert_eq!(applied.removed, ["gateway:infra:edge"]);
    assert_eq!(store.groups().into_iter().map(|(n, _)| n).collect::<Vec<_>>(), ["canary"]);
}

#[test]
fn invalid_manifests_change_nothing() {
    let store = Store::in_memory();
    let state = GatewayState::default();
    apply(&store, &state, MANIFESTS).unwrap();
    let generation = store.generation();
    let e = apply(&store, &state, &MANIFESTS.replace("parentRefs:", "parentRef:")).unwrap_err();
    assert!(e.to_string().contains("spec.parentRef: unknown field"), "{e}");
    assert_eq!(store.generation(), generation);
}
