use std::sync::Arc;
use std::time::Instant;

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::google::rpc::Status as RpcStatus;
use serde_json::json;

use super::*;
use crate::store::Store;
use weir_xds::types::RUNTIME;

fn request(names: &[&str], version: &str, nonce: &str, error: Option<&str>) -> DiscoveryRequest {
    DiscoveryRequest {
        version_info: version.into(),
        node: Some(Node { id: "n".into(), ..Node::default() }),
        resource_names: names.iter().map(|s| s.to_string()).collect(),
        type_url: RUNTIME.into(),
        response_nonce: nonce.into(),
        error_detail: error.map(|m| RpcStatus { code: 13, message: m.into(), details: vec![] }),
        ..DiscoveryRequest::default()
    }
}

fn shared() -> Shared {
    let shared = Shared::new(Arc::new(Store::in_memory()), 100, crate::status::DEFAULT_NODE_RETENTION);
    shared.store.set_value("rtds", "a", json!(1)).unwrap();
    shared
}

#[test]
fn ack_nack_stale_and_changes() {
    let shared = shared();
    let mut stream = StreamState::new(None, "peer".into());
    let r1 = stream.on_request_one(&shared, request(&["rtds"], "", "", None)).unwrap();
    assert_eq!(r1.version_info, "1");
    assert!(
        stream.on_request_one(&shared, request(&["rtds"], "1", &r1.nonce, None)).is_none(),
        "ACK: no resend"
    );
    assert!(stream.on_change(&shared, Instant::now()).is_empty(), "nothing changed");
    shared.store.set_value("other", "b", json!(1)).unwrap();
    assert!(stream.on_change(&shared, Instant::now()).is_empty(), "an unsubscribed layer changed");
    shared.store.set_value("rtds", "a", json!(2)).unwrap();
    let r2 = stream.on_change(&shared, Instant::now()).pop().unwrap();
    assert_eq!(r2.version_info, "3");
    assert!(stream.on_request_one(&shared, request(&["rtds"], "1", &r1.nonce, None)).is_none(), "stale");
    assert!(
        stream.on_request_one(&shared, request(&["rtds"], "1", &r2.nonce, Some("no"))).is_none(),
        "NACK: no resend"
    );
    assert!(stream.on_change(&shared, Instant::now()).is_empty(), "no resend after a NACK either");
    let (nodes, counters) = shared.status.snapshot();
    assert_eq!((counters.acks, counters.nacks, counters.stale, counters.pushes), (1, 1, 1, 2));
    assert_eq!(nodes[0].types["rtds"].nack.as_ref().unwrap().version, "3");
    // A fresh request (empty nonce) is always answered.
    let r3 = stream.on_request_one(&shared, request(&["rtds"], "3", "", None)).unwrap();
    assert_eq!(r3.version_info, "3");
    stream.close(&shared);
    assert!(!shared.status.snapshot().0[0].connected);
}

#[test]
fn single_type_services_and_unknown_types() {
    let shared = shared();
    let mut rtds = StreamState::new(Some(Kind::Rtds), "peer".into());
    let mut untyped = request(&["rtds"], "", "", None);
    untyped.type_url.clear();
    assert_eq!(rtds.on_request_one(&shared, untyped).unwrap().type_url, RUNTIME);
    let mut other = request(&["x"], "", "", None);
    other.type_url = weir_xds::types::EXTENSION_CONFIG.into();
    assert!(rtds.on_request_one(&shared, other).is_none());
    let mut ads = StreamState::new(None, "10.0.0.1:5".into());
    let mut anonymous = request(&["rtds"], "", "", None);
    anonymous.node = None;
    anonymous.type_url = "type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration".into();
    assert!(ads.on_request_one(&shared, anonymous).is_none());
    assert_eq!(ads.peer().node(), Some("peer:10.0.0.1:5"));
    assert_eq!(shared.status.snapshot().1.ignored, 2);
}

/// Two nodes, one in a node group: each gets its own clusters; changing the group's selector
/// moves the node back to everyone's, with a version never served for other content.
#[test]
fn node_groups_serve_their_own_clusters() {
    use crate::envoy_resource::{EnvoyResource, ResourceSet};
    use crate::groups::{GroupSpec, NodeSelector};
    let shared = shared();
    let cluster = |name: &str| EnvoyResource::parse(json!({"name": name, "connect_timeout": "1s"})).unwrap();
    let set = |name: &str| ResourceSet { clusters: Some(vec![cluster(name)]), ..ResourceSet::default() };
    shared.store.apply_resources(set("stable"), None).unwrap();
    let canary = |cluster: &str| GroupSpec {
        name: "canary".into(),
        nodes: NodeSelector { cluster: Some(cluster.into()), ..NodeSelector::default() },
    };
    shared.store.apply_resources(set("canary-only"), Some(canary("web-canary"))).unwrap();
    let cds = |id: &str, cluster: &str, version: &str, nonce: &str| DiscoveryRequest {
        node: Some(Node { id: id.into(), cluster: cluster.into(), ..Node::default() }),
        type_url: weir_xds::types::CLUSTER.into(),
        version_info: version.into(),
        response_nonce: nonce.into(),
        ..DiscoveryRequest::default()
    };
    let names = |r: &DiscoveryResponse| -> Vec<String> {
        r.resources
            .iter()
            .map(|a| {
                weir_xds::convert::unpack::<envoy_types::pb::envoy::config::cluster::v3::Cluster>(a)
                    .unwrap()
                    .name
            })
            .collect()
    };
    let mut a = StreamState::new(None, "a".into());
    let mut b = StreamState::new(None, "b".into());
    let ra = a.on_request_one(&shared, cds("a", "web", "", "")).unwrap();
    let rb = b.on_request_one(&shared, cds("b", "web-canary", "", "")).unwrap();
    assert_eq!((names(&ra), names(&rb)), (vec!["stable".to_string()], vec!["canary-only".to_string()]));
    assert_ne!(ra.version_info, rb.version_info, "versions are never shared between groups");
    let group_of =
        |id: &str| shared.status.snapshot().0.into_iter().find(|n| n.id == id).and_then(|n| n.group);
    assert_eq!((group_of("a"), group_of("b")), (None, Some("canary".to_string())), "status shows the group");
    a.on_request_one(&shared, cds("a", "web", &ra.version_info, &ra.nonce));
    b.on_request_one(&shared, cds("b", "web-canary", &rb.version_info, &rb.nonce));
    // The selector no longer picks b: b gets everyone's clusters, a is not disturbed.
    shared.store.apply_resources(ResourceSet::default(), Some(canary("nobody"))).unwrap();
    assert!(a.on_change(&shared, Instant::now()).is_empty());
    let moved = b.on_change(&shared, Instant::now()).pop().unwrap();
    assert_eq!(names(&moved), vec!["stable".to_string()]);
    assert_eq!(group_of("b"), None);
    // Removing the group changes nothing for them now; an unknown group is NotFound.
    assert!(shared.store.remove_group("canary").is_ok());
    assert!(b.on_change(&shared, Instant::now()).is_empty());
    assert!(shared.store.remove_group("canary").is_err());
}

/// After a change, an EDS response carries the changed assignments alone; a removal (which a
/// partial response cannot say) or a new subscription sends the whole selection.
#[test]
fn eds_pushes_only_the_changed_assignments() {
    use crate::envoy_resource::ResourceSet;
    let shared = shared();
    let assignment = crate::envoy_resource::test_assignment;
    let apply = |names: &[&str], port_b: u16| {
        let endpoints: Vec<_> =
            names.iter().map(|n| assignment(n, if *n == "b" { port_b } else { 80 })).collect();
        let set = ResourceSet { endpoints: Some(endpoints), ..ResourceSet::default() };
        shared.store.apply_resources(set, None).unwrap();
    };
    let eds = |names: &[&str], nonce: &str| DiscoveryRequest {
        type_url: weir_xds::types::ENDPOINT.into(),
        ..request(names, "", nonce, None)
    };
    let sent = |r: &DiscoveryResponse| -> Vec<String> {
        r.resources
            .iter()
            .map(|a| weir_xds::convert::unpack::<ClusterLoadAssignment>(a).unwrap().cluster_name)
            .collect()
    };
    apply(&["a", "b", "c"], 80);
    let mut stream = StreamState::new(None, "peer".into());
    let first = stream.on_request_one(&shared, eds(&["a", "b", "c"], "")).unwrap();
    assert_eq!(sent(&first), ["a", "b", "c"]);
    apply(&["a", "b", "c"], 81);
    let pushed = stream.on_change(&shared, Instant::now()).pop().unwrap();
    assert_eq!(sent(&pushed), ["b"], "only the changed assignment");
    assert_eq!(pushed.version_info, shared.store.version(Kind::Eds).to_string());
    assert!(stream.on_request_one(&shared, eds(&["a", "b", "c"], &pushed.nonce)).is_none(), "ACK");
    apply(&["a", "b"], 82);
    let pushed = stream.on_change(&shared, Instant::now()).pop().unwrap();
    assert_eq!(sent(&pushed), ["a", "b"], "a removal (with a change) sends the whole selection");
    let resubscribed = stream.on_request_one(&shared, eds(&["a", "b", "x"], &pushed.nonce)).unwrap();
    assert_eq!(sent(&resubscribed), ["a", "b"], "a new subscription: the whole selection");
}

/// Make-before-break: a route update waits until the node ACKed its clusters and holds the
/// endpoints of each EDS one; then it goes out at once.
#[test]
fn routes_wait_for_the_clusters_and_endpoints_they_use() {
    use crate::envoy_resource::{EnvoyResource, ResourceSet};
    let shared = shared();
    let cluster = EnvoyResource::parse(json!({
        "name": "c", "type": "EDS", "eds_cluster_config": {"eds_config": {"ads": {}}}
    }))
    .unwrap();
    let routes = EnvoyResource::parse(json!({"name": "r", "virtual_hosts": []})).unwrap();
    let set = ResourceSet {
        clusters: Some(vec![cluster]),
        endpoints: Some(vec![crate::envoy_resource::test_assignment("c", 80)]),
        routes: Some(vec![routes]),
        ..ResourceSet::default()
    };
    shared.store.apply_resources(set, None).unwrap();
    let typed = |type_url: &str, names: &[&str], nonce: &str| DiscoveryRequest {
        type_url: type_url.into(),
        ..request(names, "", nonce, None)
    };
    let (cds, eds, rds) = (weir_xds::types::CLUSTER, weir_xds::types::ENDPOINT, weir_xds::types::ROUTE);
    let mut stream = StreamState::new(None, "peer".into());
    let clusters = stream.on_request(&shared, typed(cds, &[], "")).pop().unwrap();
    assert!(stream.on_request(&shared, typed(rds, &["r"], "")).is_empty(), "clusters not ACKed yet");
    assert!(stream.on_request(&shared, typed(cds, &[], &clusters.nonce)).is_empty(), "no endpoints yet");
    let endpoints = stream.on_request(&shared, typed(eds, &["c"], "")).pop().unwrap();
    assert_eq!(endpoints.type_url, eds);
    let released = stream.on_request(&shared, typed(eds, &["c"], &endpoints.nonce));
    assert_eq!(released.len(), 1, "the EDS ACK releases the routes");
    assert_eq!(released[0].type_url, rds);
    // Clusters NACKed: the node keeps its last ones; its routes are not held for endpoints it
    // will not ask for.
    let mut refusing = StreamState::new(None, "refusing".into());
    let clusters = refusing.on_request(&shared, typed(cds, &[], "")).pop().unwrap();
    assert!(refusing.on_request(&shared, typed(rds, &["r"], "")).is_empty());
    let nack = DiscoveryRequest { type_url: cds.into(), ..request(&[], "", &clusters.nonce, Some("no")) };
    assert_eq!(refusing.on_request(&shared, nack).len(), 1, "the NACK releases the routes");
    // A stream without CDS (weir with static clusters) is never held.
    let mut plain = StreamState::new(None, "plain".into());
    assert_eq!(plain.on_request(&shared, typed(rds, &["r"], "")).len(), 1);
}

/// One request, at most one response (no held response to release in these cases).
trait One {
    fn on_request_one(&mut self, shared: &Shared, request: DiscoveryRequest) -> Option<DiscoveryResponse>;
}

impl One for StreamState {
    fn on_request_one(&mut self, shared: &Shared, request: DiscoveryRequest) -> Option<DiscoveryResponse> {
        let responses = self.on_request(shared, request);
        assert!(responses.len() <= 1, "{responses:?}");
        responses.into_iter().next()
    }
}
