use super::*;

#[test]
fn tracks_nodes_and_counters() {
    let registry = Registry::default();
    registry.connect("a", "edge", "sotw");
    registry.connect("a", "edge", "sotw");
    registry.subscribed("a", Kind::Rtds, vec!["rtds".into()]);
    registry.sent("a", Kind::Rtds, "3", "n1");
    registry.acked("a", Kind::Rtds, "3");
    registry.sent("a", Kind::Rtds, "4", "n2");
    registry.nacked("a", Kind::Rtds, "4", "3", "bad list");
    registry.subscribed("ghost", Kind::Rtds, vec![]);
    registry.disconnect("a");
    let (nodes, counters) = registry.snapshot();
    assert_eq!(nodes.len(), 1);
    let node = &nodes[0];
    assert!(node.connected, "one of two streams is still open");
    let rtds = &node.types["rtds"];
    assert_eq!(rtds.acked.as_ref().unwrap().version, "3");
    let nack = rtds.nack.as_ref().unwrap();
    assert_eq!(
        (nack.version.as_str(), nack.kept_version.as_str(), nack.reason.as_str()),
        ("4", "3", "bad list")
    );
    assert_eq!((rtds.pushes, rtds.acks, rtds.nacks), (2, 1, 1));
    assert_eq!((counters.connects, counters.disconnects, counters.pushes), (2, 1, 2));
    registry.disconnect("a");
    assert!(!registry.snapshot().0[0].connected);
}

#[test]
fn self_declared_node_ids_stay_within_the_cap() {
    let registry = Registry::new(3);
    registry.connect("live", "edge", "sotw");
    for i in 0..1000 {
        let id = format!("fake-{i}");
        assert_ne!(registry.connect(&id, "x", "sotw"), Tracked::No);
        registry.disconnect(&id);
    }
    let (nodes, counters) = registry.snapshot();
    assert_eq!(nodes.len(), 3);
    assert!(nodes.iter().any(|n| n.id == "live" && n.connected), "a connected node is never forgotten");
    assert!(nodes.iter().any(|n| n.id == "fake-999"), "the newest stay");
    assert_eq!(counters.evicted, 998);

    // Full of connected nodes: the next one is served but not tracked, and counted.
    registry.connect("b", "x", "sotw");
    registry.connect("c", "x", "sotw");
    assert_eq!(registry.connect("d", "x", "sotw"), Tracked::No);
    registry.disconnect_untracked();
    let (nodes, counters) = registry.snapshot();
    assert_eq!(nodes.len(), 3);
    assert_eq!((counters.untracked, counters.connects, counters.disconnects), (1, 1004, 1001));
    assert!(nodes.iter().all(|n| n.connected));
}

#[test]
fn long_texts_are_cut() {
    let registry = Registry::default();
    let id = "n".repeat(100_000);
    registry.connect(&id, &"c".repeat(5000), "sotw");
    registry.nacked(&id, Kind::Rtds, "1", "0", &"r".repeat(1 << 20));
    registry.subscribed(&id, Kind::Rtds, (0..10_000).map(|i| i.to_string()).collect());
    let (nodes, _) = registry.snapshot();
    let node = &nodes[0];
    assert!(node.id.len() < 300 && node.id.ends_with("…(+99744 bytes)"), "{}", &node.id[250..]);
    assert!(node.cluster.len() < 300);
    assert!(node.types["rtds"].subscribed.len() == 101);
    registry.nacked(&id, Kind::Rtds, "1", "0", &"r".repeat(1 << 20));
    assert!(registry.snapshot().0[0].types["rtds"].nack.as_ref().unwrap().reason.len() < 1100);
    registry.disconnect(&id);
    assert!(!registry.snapshot().0[0].connected);
}

/// Churn of ephemeral ids (5 rounds of 2,000 new nodes, each disconnecting): with a zero
/// retention the registry holds only the live nodes; with a long one, up to its cap.
#[test]
fn disconnected_nodes_are_forgotten_after_the_retention() {
    let churn = |registry: &Registry| {
        registry.connect("live", "edge", "sotw");
        for round in 0..5 {
            for i in 0..2000 {
                let id = format!("pod-{round}-{i}");
                registry.connect(&id, "edge", "sotw");
                registry.disconnect(&id);
            }
        }
        registry.snapshot()
    };
    let (nodes, counters) = churn(&Registry::with_retention(20_000, std::time::Duration::ZERO));
    assert_eq!(nodes.len(), 1, "only the live node is kept");
    assert_eq!(counters.expired, 10_000);
    let (nodes, counters) = churn(&Registry::with_retention(20_000, std::time::Duration::from_secs(3600)));
    assert_eq!((nodes.len(), counters.expired), (10_001, 0));
}
