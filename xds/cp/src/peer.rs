//! The node at the other end of one xDS stream, as the status registry knows it: named by
//! the first request's `node` (or by its address), tracked while the stream lives.

use envoy_types::pb::envoy::config::core::v3::Node;
use tracing::{debug, warn};

use super::groups::NodeFacts;
use super::shared::Shared;
use super::status::Tracked;

/// One stream's node.
#[derive(Debug)]
pub struct Peer {
    address: String,
    /// `sotw` or `delta`, as the status shows it.
    protocol: &'static str,
    node: Option<String>,
    /// What node-group selectors look at.
    facts: NodeFacts,
    /// The node group last reported to the status registry.
    reported_group: Option<String>,
    /// The node group as of a store generation (groups only change with the store).
    group_at: Option<(u64, Option<String>)>,
    /// Whether the registry tracks this stream's node (see [`Registry`](super::status::Registry)).
    tracked: bool,
}

impl Peer {
    /// The stream from `address` speaking `protocol` (`sotw`, `delta`), before its first
    /// request.
    pub fn new(address: String, protocol: &'static str) -> Peer {
        Peer {
            address,
            protocol,
            node: None,
            facts: NodeFacts::default(),
            reported_group: None,
            group_at: None,
            tracked: false,
        }
    }

    /// The node id, once known.
    pub fn node(&self) -> Option<&str> {
        self.node.as_deref()
    }

    /// The node id; the first call (the stream's first request) registers it.
    pub fn register(&mut self, shared: &Shared, node: Option<&Node>) -> String {
        if let Some(id) = &self.node {
            return id.clone();
        }
        let (id, cluster) = match node {
            Some(node) if !node.id.is_empty() => (node.id.clone(), node.cluster.clone()),
            Some(node) => (format!("peer:{}", self.address), node.cluster.clone()),
            None => (format!("peer:{}", self.address), String::new()),
        };
        debug!(node = %id, cluster = %cluster, peer = %self.address, "xDS stream opened");
        self.tracked = match shared.status.connect(&id, &cluster, self.protocol) {
            Tracked::Yes => true,
            Tracked::Evicted(oldest) => {
                debug!(node = %id, forgotten = %oldest, "node registry full: forgot the node disconnected longest ago");
                true
            }
            Tracked::No => {
                warn!(node = %id, peer = %self.address,
                      "node registry full of connected nodes (--max-nodes): serving this node without status tracking");
                false
            }
        };
        self.facts = NodeFacts::of(&id, node);
        self.node = Some(id.clone());
        id
    }

    /// The node group serving this node now, if any (the status registry is told when it
    /// changes).
    pub fn group(&mut self, shared: &Shared) -> Option<String> {
        let generation = shared.store.generation();
        if let Some((at, group)) = &self.group_at
            && *at == generation
        {
            return group.clone();
        }
        let group = shared.store.group_of(&self.facts);
        self.group_at = Some((generation, group.clone()));
        if group != self.reported_group
            && let Some(node) = &self.node
        {
            shared.status.grouped(node, group.as_deref());
            self.reported_group.clone_from(&group);
        }
        group
    }

    /// The stream closed.
    pub fn close(&mut self, shared: &Shared) {
        if let Some(node) = self.node.take() {
            debug!(node = %node, peer = %self.address, "xDS stream closed");
            if self.tracked {
                shared.status.disconnect(&node);
            } else {
                shared.status.disconnect_untracked();
            }
        }
    }
}
