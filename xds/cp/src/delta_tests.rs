use std::sync::Arc;
use std::time::Instant;

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::google::rpc::Status as RpcStatus;
use serde_json::json;

use super::*;
use crate::store::Store;
use weir_xds::types::RUNTIME;

fn request(
    subscribe: &[&str],
    unsubscribe: &[&str],
    nonce: &str,
    error: Option<&str>,
) -> DeltaDiscoveryRequest {
    DeltaDiscoveryRequest {
        node: Some(Node { id: "n".into(), ..Node::default() }),
        type_url: RUNTIME.into(),
        resource_names_subscribe: subscribe.iter().map(|s| s.to_string()).collect(),
        resource_names_unsubscribe: unsubscribe.iter().map(|s| s.to_string()).collect(),
        response_nonce: nonce.into(),
        error_detail: error.map(|m| RpcStatus { code: 13, message: m.into(), details: vec![] }),
        ..DeltaDiscoveryRequest::default()
    }
}

fn shared() -> Shared {
    let shared = Shared::new(Arc::new(Store::in_memory()), 100, crate::status::DEFAULT_NODE_RETENTION);
    shared.store.set_value("rtds", "a", json!(1)).unwrap();
    shared.store.set_value("other", "b", json!(1)).unwrap();
    shared
}

fn names(response: &DeltaDiscoveryResponse) -> Vec<&str> {
    response.resources.iter().map(|r| r.name.as_str()).collect()
}

#[test]
fn only_what_changed_is_sent_and_acks_are_recorded() {
    let shared = shared();
    let mut stream = DeltaState::new(None, "peer".into());
    let r1 = stream.on_request(&shared, request(&["rtds", "missing"], &[], "", None)).unwrap().remove(0);
    assert_eq!(names(&r1), ["rtds"]);
    assert_eq!(
        r1.removed_resources,
        ["missing"],
        "a subscribed name that does not exist is reported removed"
    );
    assert!(stream.on_request(&shared, request(&[], &[], &r1.nonce, None)).unwrap().is_empty(), "ACK");
    shared.store.set_value("other", "b", json!(2)).unwrap();
    assert!(stream.on_change(&shared, Instant::now()).is_empty(), "an unsubscribed layer changed");
    shared.store.set_value("rtds", "a", json!(2)).unwrap();
    let r2 = stream.on_change(&shared, Instant::now()).pop().unwrap();
    assert_eq!(names(&r2), ["rtds"]);
    assert!(r2.removed_resources.is_empty(), "`missing` is not repeated");
    assert_eq!(r2.resources[0].version, r2.system_version_info);
    // A NACK is recorded and nothing is resent.
    assert!(stream.on_request(&shared, request(&[], &[], &r2.nonce, Some("no"))).unwrap().is_empty());
    assert!(stream.on_change(&shared, Instant::now()).is_empty());
    // Subscribing to one more name sends only it; unsubscribing sends nothing.
    let r3 = stream.on_request(&shared, request(&["other"], &[], "", None)).unwrap().remove(0);
    assert_eq!(names(&r3), ["other"]);
    assert!(stream.on_request(&shared, request(&[], &["other"], "", None)).unwrap().is_empty());
    shared.store.set_value("other", "b", json!(3)).unwrap();
    assert!(stream.on_change(&shared, Instant::now()).is_empty(), "unsubscribed");
    let (nodes, counters) = shared.status.snapshot();
    assert_eq!((counters.acks, counters.nacks, counters.pushes), (1, 1, 3));
    assert_eq!(nodes[0].types["rtds"].nack.as_ref().unwrap().kept_version, r1.system_version_info);
}

#[test]
fn a_reconnecting_client_gets_only_what_it_lacks() {
    let shared = shared();
    let mut first = DeltaState::new(Some(Kind::Rtds), "peer".into());
    let r1 = first.on_request(&shared, request(&["rtds", "other"], &[], "", None)).unwrap().remove(0);
    let held: std::collections::HashMap<String, String> =
        r1.resources.iter().map(|r| (r.name.clone(), r.version.clone())).collect();
    first.close(&shared);
    shared.store.set_value("other", "b", json!(9)).unwrap();
    let mut again = DeltaState::new(Some(Kind::Rtds), "peer".into());
    let mut req = request(&["rtds", "other"], &[], "", None);
    req.initial_resource_versions = held.clone();
    let r2 = again.on_request(&shared, req).unwrap().remove(0);
    assert_eq!(names(&r2), ["other"]);
    // Holding everything: nothing is sent, and the node counts as up to date.
    let mut current = DeltaState::new(Some(Kind::Rtds), "peer".into());
    let mut req = request(&["rtds", "other"], &[], "", None);
    req.initial_resource_versions =
        r2.resources.iter().map(|r| (r.name.clone(), r.version.clone())).collect();
    req.initial_resource_versions.insert("rtds".into(), held["rtds"].clone());
    assert!(current.on_request(&shared, req).unwrap().is_empty());
    let (nodes, _) = shared.status.snapshot();
    assert_eq!(nodes[0].types["rtds"].acked.as_ref().unwrap().version, r2.system_version_info);
}

#[test]
fn wildcards_removals_and_the_name_cap() {
    let shared = shared();
    let mut stream = DeltaState::new(None, "peer".into());
    let r1 = stream.on_request(&shared, request(&[], &[], "", None)).unwrap().remove(0);
    assert_eq!(names(&r1), ["other", "rtds"], "an empty first subscription is a wildcard");
    shared.store.delete_layer("other").unwrap();
    let r2 = stream.on_change(&shared, Instant::now()).pop().unwrap();
    assert!(r2.resources.is_empty());
    assert_eq!(r2.removed_resources, ["other"]);
    let many: Vec<String> = (0..=MAX_NAMES).map(|i| format!("n{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let error = stream.on_request(&shared, request(&many, &[], "", None)).unwrap_err();
    assert_eq!(error.code(), tonic::Code::ResourceExhausted);
}

#[test]
fn a_change_of_one_assignment_sends_it_alone_and_other_types_nothing() {
    use crate::envoy_resource::ResourceSet;
    let shared = shared();
    let assignment = crate::envoy_resource::test_assignment;
    let apply = |port_b: u16| {
        let endpoints = ["a", "b", "c"].map(|n| assignment(n, if n == "b" { port_b } else { 80 }));
        shared
            .store
            .apply_resources(
                ResourceSet { endpoints: Some(endpoints.into()), ..ResourceSet::default() },
                None,
            )
            .unwrap();
    };
    apply(80);
    let mut stream = DeltaState::new(None, "peer".into());
    let eds = DeltaDiscoveryRequest {
        type_url: weir_xds::types::ENDPOINT.into(),
        resource_names_subscribe: vec!["a".into(), "b".into(), "c".into()],
        ..request(&[], &[], "", None)
    };
    let first = stream.on_request(&shared, eds).unwrap().remove(0);
    assert_eq!(names(&first), ["a", "b", "c"]);
    let runtime = stream.on_request(&shared, request(&["rtds"], &[], "", None)).unwrap().remove(0);
    assert_eq!(names(&runtime), ["rtds"]);
    apply(81);
    let pushed = stream.on_change(&shared, Instant::now());
    assert_eq!(pushed.len(), 1, "only EDS changed");
    assert_eq!(names(&pushed[0]), ["b"], "only the changed assignment is sent");
    let count = |shared: &Shared| {
        let mut text = String::new();
        shared.push_times.render(&mut text);
        text.lines().find_map(|l| l.strip_prefix("weir_cp_convergence_seconds_count ")).unwrap().to_string()
    };
    assert_eq!(count(&shared), "0", "the first responses answered requests, not changes");
    let ack = DeltaDiscoveryRequest {
        type_url: weir_xds::types::ENDPOINT.into(),
        ..request(&[], &[], &pushed[0].nonce, None)
    };
    assert!(stream.on_request(&shared, ack).unwrap().is_empty());
    assert_eq!(count(&shared), "1", "the ACK of the pushed change converged");
    shared.store.set_value("rtds", "a", json!(5)).unwrap();
    let pushed = stream.on_change(&shared, Instant::now());
    assert_eq!(
        pushed.iter().map(|r| r.type_url.as_str()).collect::<Vec<_>>(),
        [RUNTIME],
        "EDS did not change"
    );
    apply(81);
    assert!(
        stream.on_change(&shared, Instant::now()).is_empty(),
        "re-applying the same endpoints changes nothing"
    );
}

#[test]
fn held_versions_compare_as_written() {
    assert!(same_version("0", 0));
    assert!(same_version("17", 17));
    assert!(!same_version("017", 17), "leading zero");
    assert!(!same_version("+17", 17), "sign");
    assert!(!same_version("18", 17));
    assert!(!same_version("", 0));
    assert!(same_version(&u64::MAX.to_string(), u64::MAX));
}

/// The names changed since the last response (the store's log) and every selected resource
/// (past the log) give the same answers: what the client lacks, and each removal once.
#[test]
fn changes_since_the_last_response_and_past_the_log_agree() {
    for past_the_log in [false, true] {
        let shared = shared();
        let mut stream = DeltaState::new(None, "peer".into());
        let first = stream.on_request(&shared, request(&["rtds", "other", "later"], &[], "", None)).unwrap();
        assert_eq!(names(&first[0]), ["other", "rtds"]);
        assert_eq!(first[0].removed_resources, ["later"]);
        // Changes to layers it does not subscribe to; past the log's length if asked.
        let unrelated = if past_the_log { crate::change_log::MAX_CHANGES + 1 } else { 3 };
        for i in 0..unrelated {
            shared.store.set_value("unsubscribed", "k", json!(i)).unwrap();
        }
        shared.store.set_value("other", "b", json!(2)).unwrap();
        shared.store.delete_layer("rtds").unwrap();
        shared.store.set_value("later", "c", json!(1)).unwrap();
        let pushed = stream.on_change(&shared, Instant::now());
        assert_eq!(pushed.len(), 1, "past the log: {past_the_log}");
        assert_eq!(names(&pushed[0]), ["later", "other"], "past the log: {past_the_log}");
        assert_eq!(pushed[0].removed_resources, ["rtds"], "past the log: {past_the_log}");
        // The removal is not repeated by the next change, whichever way it is compared.
        for i in 0..unrelated {
            shared.store.set_value("unsubscribed", "k", json!(50 + i)).unwrap();
        }
        shared.store.set_value("other", "b", json!(3)).unwrap();
        let pushed = stream.on_change(&shared, Instant::now());
        assert_eq!(names(&pushed[0]), ["other"]);
        assert!(pushed[0].removed_resources.is_empty(), "past the log: {past_the_log}");
        for i in 0..crate::change_log::MAX_CHANGES + 1 {
            shared.store.set_value("unsubscribed", "k", json!(100 + i)).unwrap();
        }
        assert!(stream.on_change(&shared, Instant::now()).is_empty(), "nothing it selects changed");
    }
}

/// A group removed and made again under the same name, between two wakes of a stream: its
/// new tables say nothing about what changed since the old ones, so the stream compares
/// everything (the cluster only the old group had is removed), and no version is reused.
#[test]
fn a_group_made_again_is_compared_in_full() {
    use crate::envoy_resource::{EnvoyResource, ResourceSet};
    use crate::groups::{GroupSpec, NodeSelector};
    let shared = shared();
    let cluster = |name: &str| EnvoyResource::parse(json!({"name": name, "connect_timeout": "1s"})).unwrap();
    let set = |names: &[&str]| ResourceSet {
        clusters: Some(names.iter().map(|n| cluster(n)).collect()),
        ..ResourceSet::default()
    };
    let canary = GroupSpec {
        name: "canary".into(),
        nodes: NodeSelector { ids: vec!["n".into()], ..NodeSelector::default() },
    };
    shared.store.apply_resources(set(&["x", "y"]), Some(canary.clone())).unwrap();
    let mut stream = DeltaState::new(None, "peer".into());
    let cds =
        DeltaDiscoveryRequest { type_url: weir_xds::types::CLUSTER.into(), ..request(&[], &[], "", None) };
    let first = stream.on_request(&shared, cds).unwrap().remove(0);
    assert_eq!(names(&first), ["x", "y"]);
    let old = first.system_version_info.parse::<u64>().unwrap();
    for i in 0..3 {
        shared.store.apply_resources(set(&[&format!("default-{i}")]), None).unwrap();
    }
    shared.store.remove_group("canary").unwrap();
    shared.store.apply_resources(set(&["x"]), Some(canary)).unwrap();
    let pushed = stream.on_change(&shared, Instant::now());
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].removed_resources, ["y"], "the cluster only the old group had");
    assert!(pushed[0].system_version_info.parse::<u64>().unwrap() > old, "no version reused");
}

/// Make-before-break over delta: a change adding a cluster and a route to it sends the
/// clusters first; the routes follow the node's ACK of the new cluster's endpoints.
#[test]
fn a_route_to_a_new_cluster_follows_its_endpoints() {
    use crate::envoy_resource::{EnvoyResource, ResourceSet};
    let shared = shared();
    let cluster = |name: &str| {
        EnvoyResource::parse(
            json!({"name": name, "type": "EDS", "eds_cluster_config": {"eds_config": {"ads": {}}}}),
        )
        .unwrap()
    };
    let routes = |to: &str| {
        EnvoyResource::parse(json!({"name": "r", "virtual_hosts": [{"name": "all", "domains": ["*"],
            "routes": [{"match": {"prefix": "/"}, "route": {"cluster": to}}]}]}))
        .unwrap()
    };
    let apply = |clusters: &[&str], to: &str| {
        let set = ResourceSet {
            clusters: Some(clusters.iter().map(|c| cluster(c)).collect()),
            endpoints: Some(clusters.iter().map(|c| crate::envoy_resource::test_assignment(c, 80)).collect()),
            routes: Some(vec![routes(to)]),
            ..ResourceSet::default()
        };
        shared.store.apply_resources(set, None).unwrap();
    };
    let typed = |type_url: &str, subscribe: &[&str], nonce: &str| DeltaDiscoveryRequest {
        type_url: type_url.into(),
        ..request(subscribe, &[], nonce, None)
    };
    let (cds, eds, rds) = (weir_xds::types::CLUSTER, weir_xds::types::ENDPOINT, weir_xds::types::ROUTE);
    apply(&["a"], "a");
    let mut stream = DeltaState::new(None, "peer".into());
    let c = stream.on_request(&shared, typed(cds, &[], "")).unwrap().pop().unwrap();
    stream.on_request(&shared, typed(cds, &[], &c.nonce)).unwrap();
    let e = stream.on_request(&shared, typed(eds, &["a"], "")).unwrap().pop().unwrap();
    assert!(stream.on_request(&shared, typed(rds, &["r"], "")).unwrap().is_empty(), "EDS not ACKed");
    let released = stream.on_request(&shared, typed(eds, &[], &e.nonce)).unwrap();
    assert_eq!(released.iter().map(|r| r.type_url.as_str()).collect::<Vec<_>>(), [rds]);
    stream.on_request(&shared, typed(rds, &[], &released[0].nonce)).unwrap();
    // Cluster b and a route to it in one change: the clusters go, the routes wait.
    apply(&["a", "b"], "b");
    let pushed = stream.on_change(&shared, Instant::now());
    assert_eq!(
        pushed.iter().map(|r| r.type_url.as_str()).collect::<Vec<_>>(),
        [cds],
        "a's endpoints unchanged"
    );
    assert!(
        stream.on_request(&shared, typed(cds, &[], &pushed[0].nonce)).unwrap().is_empty(),
        "b's not asked"
    );
    let b = stream.on_request(&shared, typed(eds, &["b"], "")).unwrap().pop().unwrap();
    assert_eq!(names(&b), ["b"]);
    let released = stream.on_request(&shared, typed(eds, &[], &b.nonce)).unwrap();
    assert_eq!(released.iter().map(|r| r.type_url.as_str()).collect::<Vec<_>>(), [rds], "now the routes");
}
