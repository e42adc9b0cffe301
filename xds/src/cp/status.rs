//! What weir-cp knows about its clients, in memory: per node, whether it is connected and, per
//! resource type, what it subscribed to, what was sent, what it ACKed and its last NACK; plus
//! process-wide counters. Served by `GET /status` and `GET /metrics`.

use std::collections::BTreeMap;
use std::time::SystemTime;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::kind::Kind;

/// A response sent to a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// Version sent.
    pub version: String,
    /// Its nonce.
    pub nonce: String,
    /// When (RFC 3339).
    pub at: String,
}

/// A version a node accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acked {
    /// The version.
    pub version: String,
    /// When (RFC 3339).
    pub at: String,
}

/// A response a node rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nack {
    /// The version rejected (the one sent with the NACKed nonce).
    pub version: String,
    /// The client's `error_detail.message`.
    pub reason: String,
    /// The version the client keeps (its last ACKed one; `version_info` of the NACK).
    pub kept_version: String,
    /// When (RFC 3339).
    pub at: String,
}

/// One node's view of one resource type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeStatus {
    /// The type URL.
    pub type_url: String,
    /// Subscribed resource names (empty: all).
    pub subscribed: Vec<String>,
    /// The last response sent.
    pub sent: Option<Sent>,
    /// The last ACK.
    pub acked: Option<Acked>,
    /// The last NACK (kept after later ACKs; compare versions to see whether it is current).
    pub nack: Option<Nack>,
    /// ACKs received.
    pub acks: u64,
    /// NACKs received.
    pub nacks: u64,
    /// Responses sent.
    pub pushes: u64,
}

/// One node (by `node.id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// `node.id` (or `peer:<address>` when the client sent no node).
    pub id: String,
    /// `node.cluster`.
    pub cluster: String,
    /// Whether a stream from this node is open.
    pub connected: bool,
    /// Open streams.
    pub streams: u32,
    /// When it last connected (or disconnected, when not connected), RFC 3339.
    pub since: String,
    /// Per resource type (`rtds`, `ecds`).
    pub types: BTreeMap<String, TypeStatus>,
}

/// Process-wide counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Streams opened.
    pub connects: u64,
    /// Streams closed.
    pub disconnects: u64,
    /// ACKs.
    pub acks: u64,
    /// NACKs.
    pub nacks: u64,
    /// Responses sent.
    pub pushes: u64,
    /// Requests ignored for a stale nonce.
    pub stale: u64,
    /// Requests ignored for an unknown or unexpected type URL.
    pub ignored: u64,
}

/// The in-memory registry.
#[derive(Debug, Default)]
pub struct Registry {
    inner: Mutex<(BTreeMap<String, NodeStatus>, Counters)>,
}

fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

impl Registry {
    /// A stream from node `id` opened.
    pub fn connect(&self, id: &str, cluster: &str) {
        let mut inner = self.inner.lock();
        inner.1.connects += 1;
        let node = inner.0.entry(id.to_string()).or_insert_with(|| NodeStatus {
            id: id.to_string(),
            cluster: String::new(),
            connected: false,
            streams: 0,
            since: String::new(),
            types: BTreeMap::new(),
        });
        node.cluster = cluster.to_string();
        if node.streams == 0 {
            node.since = now();
        }
        node.streams += 1;
        node.connected = true;
    }

    /// A stream from node `id` closed.
    pub fn disconnect(&self, id: &str) {
        let mut inner = self.inner.lock();
        inner.1.disconnects += 1;
        if let Some(node) = inner.0.get_mut(id) {
            node.streams = node.streams.saturating_sub(1);
            if node.streams == 0 {
                node.connected = false;
                node.since = now();
            }
        }
    }

    fn with_type(&self, id: &str, kind: Kind, f: impl FnOnce(&mut TypeStatus, &mut Counters)) {
        let mut inner = self.inner.lock();
        let (nodes, counters) = &mut *inner;
        if let Some(node) = nodes.get_mut(id) {
            let status = node.types.entry(kind.short().to_string()).or_default();
            status.type_url = kind.type_url().to_string();
            f(status, counters);
        }
    }

    /// Node `id` now subscribes to `names` of `kind`.
    pub fn subscribed(&self, id: &str, kind: Kind, names: Vec<String>) {
        self.with_type(id, kind, |t, _| t.subscribed = names);
    }

    /// A response was sent.
    pub fn sent(&self, id: &str, kind: Kind, version: &str, nonce: &str) {
        self.with_type(id, kind, |t, c| {
            t.sent = Some(Sent { version: version.into(), nonce: nonce.into(), at: now() });
            t.pushes += 1;
            c.pushes += 1;
        });
    }

    /// An ACK arrived.
    pub fn acked(&self, id: &str, kind: Kind, version: &str) {
        self.with_type(id, kind, |t, c| {
            t.acked = Some(Acked { version: version.into(), at: now() });
            t.acks += 1;
            c.acks += 1;
        });
    }

    /// A NACK arrived for `version`; the client keeps `kept_version`.
    pub fn nacked(&self, id: &str, kind: Kind, version: &str, kept_version: &str, reason: &str) {
        self.with_type(id, kind, |t, c| {
            t.nack = Some(Nack {
                version: version.into(),
                reason: reason.into(),
                kept_version: kept_version.into(),
                at: now(),
            });
            t.nacks += 1;
            c.nacks += 1;
        });
    }

    /// A request was ignored for its stale nonce.
    pub fn stale(&self) {
        self.inner.lock().1.stale += 1;
    }

    /// A request was ignored for its type URL.
    pub fn ignored(&self) {
        self.inner.lock().1.ignored += 1;
    }

    /// Every node (by id) and the counters.
    pub fn snapshot(&self) -> (Vec<NodeStatus>, Counters) {
        let inner = self.inner.lock();
        (inner.0.values().cloned().collect(), inner.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_nodes_and_counters() {
        let registry = Registry::default();
        registry.connect("a", "edge");
        registry.connect("a", "edge");
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
}
