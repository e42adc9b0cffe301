//! What weir-cp knows about its clients, in memory: per node, whether it is connected and, per
//! resource type, what it subscribed to, what was sent, what it ACKed and its last NACK; plus
//! process-wide counters. Served by `GET /status` and `GET /metrics`.
//!
//! Node ids are whatever clients declare, so the registry is bounded: at most `max_nodes`
//! entries (`--max-nodes`, default [`DEFAULT_MAX_NODES`]). A new node past the cap takes the
//! place of the node disconnected longest ago (counted as `evicted`); when every entry is
//! connected, the new node is still served but not tracked (counted as `untracked`, logged).
//! A node disconnected for longer than the retention (`--node-retention`, default
//! [`DEFAULT_NODE_RETENTION`]) is forgotten (counted as `expired`), so ephemeral node ids
//! (pods) do not pile up: the registry holds the live nodes and those of the last retention.
//! Ids, clusters and NACK reasons are cut to a few hundred bytes, subscriptions to 100 names.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::kind::Kind;
use super::stamp::Stamp;

/// A response sent to a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// Version sent.
    pub version: String,
    /// Its nonce.
    pub nonce: String,
    /// When (RFC 3339).
    pub at: Stamp,
}

/// A version a node accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acked {
    /// The version.
    pub version: String,
    /// When (RFC 3339).
    pub at: Stamp,
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
    pub at: Stamp,
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
    /// The protocol of its latest stream: `sotw` (state of the world) or `delta`.
    #[serde(default)]
    pub protocol: String,
    /// When it last connected (or disconnected, when not connected), RFC 3339.
    pub since: Stamp,
    /// The node group whose listeners, routes, clusters and endpoints it gets (none:
    /// everyone's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Per resource type (`rtds`, `ecds`, `sds`).
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
    /// Disconnected nodes forgotten to stay within the registry's cap.
    #[serde(default)]
    pub evicted: u64,
    /// Streams served without status tracking (the registry was full of connected nodes).
    #[serde(default)]
    pub untracked: u64,
    /// Disconnected nodes forgotten after the retention.
    #[serde(default)]
    pub expired: u64,
}

/// Most nodes kept by default.
pub const DEFAULT_MAX_NODES: usize = 20_000;
/// How long a disconnected node is remembered by default.
pub const DEFAULT_NODE_RETENTION: std::time::Duration = std::time::Duration::from_secs(600);
/// Longest node id or cluster kept, in bytes.
const MAX_NAME: usize = 256;
/// Longest NACK reason kept, in bytes.
const MAX_REASON: usize = 1024;
/// Most subscribed names kept per node and type.
const MAX_SUBSCRIBED: usize = 100;

/// Whether a connecting node is tracked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tracked {
    /// It is (it was known, or there was room).
    Yes,
    /// It is, in place of this node, disconnected longest ago.
    Evicted(String),
    /// It is not: every entry is a connected node. Its stream is served all the same.
    No,
}

/// The in-memory registry.
#[derive(Debug)]
pub struct Registry {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    nodes: HashMap<String, NodeStatus>,
    /// Disconnected nodes, the longest disconnected first: (sequence, id).
    idle: BTreeSet<(u64, String)>,
    /// A disconnected node's sequence in `idle`, and since when it is disconnected.
    idle_seq: HashMap<String, (u64, Instant)>,
    next_seq: u64,
    counters: Counters,
    max_nodes: usize,
    retention: std::time::Duration,
}

impl Inner {
    /// Forgets the nodes disconnected for longer than the retention (the longest first).
    fn expire(&mut self) {
        let now = Instant::now();
        while let Some((_, id)) = self.idle.first() {
            let expired =
                self.idle_seq.get(id).is_none_or(|(_, since)| now.duration_since(*since) >= self.retention);
            if !expired {
                break;
            }
            if let Some((_, id)) = self.idle.pop_first() {
                self.idle_seq.remove(&id);
                self.nodes.remove(&id);
                self.counters.expired += 1;
            }
        }
    }
}

impl Default for Registry {
    fn default() -> Registry {
        Registry::new(DEFAULT_MAX_NODES)
    }
}

fn now() -> Stamp {
    Stamp::now()
}

/// `text` cut to at most `max` bytes (at a character boundary), saying how much was cut.
pub fn clip(text: &str, max: usize) -> String {
    clipped(text, max).into_owned()
}

/// Sets `slot` to `text`, reusing its allocation.
fn replace(slot: &mut String, text: &str) {
    slot.clear();
    slot.push_str(text);
}

/// [`clip`], borrowing `text` when it fits.
fn clipped(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…(+{} bytes)", &text[..end], text.len() - end))
}

impl Registry {
    /// A registry of at most `max_nodes` nodes (at least 1).
    pub fn new(max_nodes: usize) -> Registry {
        Registry::with_retention(max_nodes, DEFAULT_NODE_RETENTION)
    }

    /// A registry of at most `max_nodes` nodes, forgetting a node disconnected for `retention`.
    pub fn with_retention(max_nodes: usize, retention: std::time::Duration) -> Registry {
        Registry { inner: Mutex::new(Inner { max_nodes: max_nodes.max(1), retention, ..Inner::default() }) }
    }

    /// A stream from node `id` opened. `id` is the key every later call uses: pass the same
    /// (unclipped) value.
    pub fn connect(&self, id: &str, cluster: &str, protocol: &'static str) -> Tracked {
        let id = clip(id, MAX_NAME);
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        inner.expire();
        inner.counters.connects += 1;
        let mut tracked = Tracked::Yes;
        if !inner.nodes.contains_key(&id) && inner.nodes.len() >= inner.max_nodes {
            match inner.idle.pop_first() {
                Some((_, oldest)) => {
                    inner.idle_seq.remove(&oldest);
                    inner.nodes.remove(&oldest);
                    inner.counters.evicted += 1;
                    tracked = Tracked::Evicted(oldest);
                }
                None => {
                    inner.counters.untracked += 1;
                    return Tracked::No;
                }
            }
        }
        if let Some((seq, _)) = inner.idle_seq.remove(&id) {
            inner.idle.remove(&(seq, id.clone()));
        }
        let node = inner.nodes.entry(id.clone()).or_insert_with(|| NodeStatus {
            id,
            cluster: String::new(),
            connected: false,
            streams: 0,
            protocol: String::new(),
            since: now(),
            group: None,
            types: BTreeMap::new(),
        });
        node.cluster = clip(cluster, MAX_NAME);
        node.protocol = protocol.to_string();
        if node.streams == 0 {
            node.since = now();
        }
        node.streams += 1;
        node.connected = true;
        tracked
    }

    /// A tracked stream from node `id` closed.
    pub fn disconnect(&self, id: &str) {
        let id = clip(id, MAX_NAME);
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        inner.counters.disconnects += 1;
        if let Some(node) = inner.nodes.get_mut(&id) {
            node.streams = node.streams.saturating_sub(1);
            if node.streams == 0 && node.connected {
                node.connected = false;
                node.since = now();
                let seq = inner.next_seq;
                inner.next_seq += 1;
                inner.idle.insert((seq, id.clone()));
                inner.idle_seq.insert(id, (seq, Instant::now()));
            }
        }
        inner.expire();
    }

    /// A stream that was not tracked closed.
    pub fn disconnect_untracked(&self) {
        self.inner.lock().counters.disconnects += 1;
    }

    fn with_type(&self, id: &str, kind: Kind, f: impl FnOnce(&mut TypeStatus, &mut Counters)) {
        let id = clipped(id, MAX_NAME);
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        if let Some(node) = inner.nodes.get_mut(id.as_ref()) {
            // Per push and ACK: no allocation once the type has its entry.
            if !node.types.contains_key(kind.short()) {
                let status = TypeStatus { type_url: kind.type_url().to_string(), ..TypeStatus::default() };
                node.types.insert(kind.short().to_string(), status);
            }
            let Some(status) = node.types.get_mut(kind.short()) else { return };
            f(status, &mut inner.counters);
        }
    }

    /// Node `id` now subscribes to `names` of `kind`.
    pub fn subscribed(&self, id: &str, kind: Kind, mut names: Vec<String>) {
        if names.len() > MAX_SUBSCRIBED {
            let more = names.len() - MAX_SUBSCRIBED;
            names.truncate(MAX_SUBSCRIBED);
            names.push(format!("…(+{more} names)"));
        }
        let names = names.iter().map(|n| clip(n, MAX_NAME)).collect();
        self.with_type(id, kind, |t, _| t.subscribed = names);
    }

    /// A response was sent.
    pub fn sent(&self, id: &str, kind: Kind, version: &str, nonce: &str) {
        self.with_type(id, kind, |t, c| {
            let sent = t.sent.get_or_insert_with(|| Sent {
                version: String::new(),
                nonce: String::new(),
                at: now(),
            });
            replace(&mut sent.version, version);
            replace(&mut sent.nonce, nonce);
            sent.at = now();
            t.pushes += 1;
            c.pushes += 1;
        });
    }

    /// Node `id` is served by node group `group` now (none: everyone's resources).
    pub fn grouped(&self, id: &str, group: Option<&str>) {
        let id = clip(id, MAX_NAME);
        if let Some(node) = self.inner.lock().nodes.get_mut(&id) {
            node.group = group.map(str::to_string);
        }
    }

    /// An ACK arrived.
    pub fn acked(&self, id: &str, kind: Kind, version: &str) {
        self.with_type(id, kind, |t, c| {
            let acked = t.acked.get_or_insert_with(|| Acked { version: String::new(), at: now() });
            replace(&mut acked.version, &clipped(version, MAX_NAME));
            acked.at = now();
            t.acks += 1;
            c.acks += 1;
        });
    }

    /// A NACK arrived for `version`; the client keeps `kept_version`.
    pub fn nacked(&self, id: &str, kind: Kind, version: &str, kept_version: &str, reason: &str) {
        self.with_type(id, kind, |t, c| {
            t.nack = Some(Nack {
                version: version.into(),
                reason: clip(reason, MAX_REASON),
                kept_version: clip(kept_version, MAX_NAME),
                at: now(),
            });
            t.nacks += 1;
            c.nacks += 1;
        });
    }

    /// A request was ignored for its stale nonce.
    pub fn stale(&self) {
        self.inner.lock().counters.stale += 1;
    }

    /// A request was ignored for its type URL.
    pub fn ignored(&self) {
        self.inner.lock().counters.ignored += 1;
    }

    /// Every node (by id) and the counters: a copy of the whole registry, for tests. The admin
    /// API reads pages and summaries instead.
    #[cfg(test)]
    pub fn snapshot(&self) -> (Vec<NodeStatus>, Counters) {
        let mut inner = self.inner.lock();
        inner.expire();
        let mut nodes: Vec<NodeStatus> = inner.nodes.values().cloned().collect();
        nodes.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        (nodes, inner.counters)
    }
}

#[path = "status_query.rs"]
mod query;
pub use query::{DEFAULT_PAGE, MAX_PAGE, NodeQuery, Page, Summary};

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
