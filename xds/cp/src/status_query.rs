//! Reading the registry without copying it: a page of the nodes a query selects (by id,
//! group, staleness, after a cursor), cloned only for what is shown, and a summary with
//! bounded cardinality for `/metrics`. The registry's lock is held for a scan of references,
//! never for a copy of every node.

use std::collections::BTreeMap;

use super::{Counters, NodeStatus, Registry};

/// Nodes a page holds unless the query says otherwise.
pub const DEFAULT_PAGE: usize = 1000;
/// The most nodes one page may hold.
pub const MAX_PAGE: usize = 10_000;

/// Which nodes to show.
#[derive(Debug, Clone)]
pub struct NodeQuery {
    /// Only this node id.
    pub node: Option<String>,
    /// Only the nodes of this node group.
    pub group: Option<String>,
    /// Only stale nodes ([`NodeStatus::is_stale`]).
    pub stale: bool,
    /// Only ids sorting after this one (the previous page's `next`).
    pub after: Option<String>,
    /// At most this many (1 to [`MAX_PAGE`]).
    pub limit: usize,
}

impl Default for NodeQuery {
    fn default() -> NodeQuery {
        NodeQuery { node: None, group: None, stale: false, after: None, limit: DEFAULT_PAGE }
    }
}

impl NodeQuery {
    fn selects(&self, node: &NodeStatus) -> bool {
        self.node.as_ref().is_none_or(|id| *id == node.id)
            && self.group.as_ref().is_none_or(|g| node.group.as_ref() == Some(g))
            && (!self.stale || node.is_stale())
    }
}

/// One page of nodes.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The nodes, by id.
    pub nodes: Vec<NodeStatus>,
    /// How many nodes the query selects in all pages.
    pub matching: usize,
    /// The cursor of the next page (`after`), when there is one.
    pub next: Option<String>,
    /// Process-wide counters.
    pub counters: Counters,
}

/// Counts for `/metrics`, bounded by the number of types and node groups.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Nodes remembered.
    pub registered: usize,
    /// Connected nodes per node group (`""`: no group).
    pub connected_by_group: BTreeMap<String, u64>,
    /// Connected nodes whose last response of a type was NACKed, per type.
    pub nacking_by_type: BTreeMap<String, u64>,
    /// Connected nodes that have not ACKed the latest response of some type.
    pub stale: u64,
    /// Process-wide counters.
    pub counters: Counters,
}

impl NodeStatus {
    /// Connected, and some type's latest response is not ACKed (still in flight, or NACKed).
    pub fn is_stale(&self) -> bool {
        self.connected
            && self.types.values().any(|t| match &t.sent {
                Some(sent) => t.acked.as_ref().is_none_or(|a| a.version != sent.version),
                None => false,
            })
    }
}

impl Registry {
    /// The page `query` asks for.
    pub fn page(&self, query: &NodeQuery) -> Page {
        let mut inner = self.inner.lock();
        inner.expire();
        let mut selected: Vec<&NodeStatus> = inner.nodes.values().filter(|n| query.selects(n)).collect();
        selected.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        let start =
            query.after.as_deref().map_or(0, |after| selected.partition_point(|n| n.id.as_str() <= after));
        let rest = selected.get(start..).unwrap_or_default();
        let nodes: Vec<NodeStatus> =
            rest.iter().take(query.limit.clamp(1, MAX_PAGE)).map(|n| (*n).clone()).collect();
        let next = if nodes.len() < rest.len() { nodes.last().map(|n| n.id.clone()) } else { None };
        Page { nodes, matching: selected.len(), next, counters: inner.counters }
    }

    /// The counts `/metrics` exports.
    pub fn summary(&self) -> Summary {
        let mut inner = self.inner.lock();
        inner.expire();
        let mut summary =
            Summary { registered: inner.nodes.len(), counters: inner.counters, ..Summary::default() };
        for node in inner.nodes.values().filter(|n| n.connected) {
            *summary.connected_by_group.entry(node.group.clone().unwrap_or_default()).or_default() += 1;
            for (kind, t) in &node.types {
                if t.nack.as_ref().is_some_and(|n| t.sent.as_ref().is_some_and(|s| s.version == n.version)) {
                    *summary.nacking_by_type.entry(kind.clone()).or_default() += 1;
                }
            }
            if node.is_stale() {
                summary.stale += 1;
            }
        }
        summary
    }
}

#[cfg(test)]
#[path = "status_query_tests.rs"]
mod tests;
