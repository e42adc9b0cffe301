use super::*;
use crate::kind::Kind;

/// 25 nodes `n00`..`n24`: every one got RTDS version 1; even ones ACKed it, `n03` NACKed it,
/// the others have not answered; `n05`..`n09` are in group `canary`; `n20`.. disconnected.
fn registry() -> Registry {
    let registry = Registry::new(100);
    for i in 0..25 {
        let id = format!("n{i:02}");
        registry.connect(&id, "c", "sotw");
        registry.sent(&id, Kind::Rtds, "1", "nonce");
        if i % 2 == 0 {
            registry.acked(&id, Kind::Rtds, "1");
        } else if i == 3 {
            registry.nacked(&id, Kind::Rtds, "1", "0", "bad");
        }
        if (5..10).contains(&i) {
            registry.grouped(&id, Some("canary"));
        }
        if i >= 20 {
            registry.disconnect(&id);
        }
    }
    registry
}

fn ids(page: &Page) -> Vec<&str> {
    page.nodes.iter().map(|n| n.id.as_str()).collect()
}

#[test]
fn pages_follow_the_cursor_in_id_order() {
    let registry = registry();
    let first = registry.page(&NodeQuery { limit: 10, ..NodeQuery::default() });
    assert_eq!((first.matching, first.nodes.len(), first.next.as_deref()), (25, 10, Some("n09")));
    assert_eq!(ids(&first)[..2], ["n00", "n01"]);
    let last = registry.page(&NodeQuery { limit: 10, after: Some("n19".into()), ..NodeQuery::default() });
    assert_eq!((ids(&last).len(), last.next), (5, None));
    assert_eq!(registry.page(&NodeQuery { limit: 0, ..NodeQuery::default() }).nodes.len(), 1, "at least one");
}

#[test]
fn filters_by_node_group_and_staleness() {
    let registry = registry();
    let one = registry.page(&NodeQuery { node: Some("n07".into()), ..NodeQuery::default() });
    assert_eq!((ids(&one), one.matching), (vec!["n07"], 1));
    let canary = registry.page(&NodeQuery { group: Some("canary".into()), ..NodeQuery::default() });
    assert_eq!(ids(&canary), ["n05", "n06", "n07", "n08", "n09"]);
    let stale = registry.page(&NodeQuery { stale: true, ..NodeQuery::default() });
    assert_eq!(ids(&stale), ["n01", "n03", "n05", "n07", "n09", "n11", "n13", "n15", "n17", "n19"]);
}

#[test]
fn the_summary_counts_without_naming_nodes() {
    let summary = registry().summary();
    assert_eq!(summary.registered, 25);
    assert_eq!(summary.connected_by_group, [(String::new(), 15), ("canary".to_string(), 5)].into());
    assert_eq!(summary.nacking_by_type, [("rtds".to_string(), 1)].into());
    assert_eq!(summary.stale, 10);
}
