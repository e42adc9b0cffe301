//! The state-of-the-world protocol of one xDS stream, as Envoy's xDS protocol describes it:
//!
//! - per type URL, every response carries the type's version and a fresh nonce;
//! - a request whose `response_nonce` is not the latest nonce sent for its type is **stale** and
//!   ignored entirely;
//! - a request with the latest nonce is an **ACK**, or a **NACK** when `error_detail` is set: the
//!   NACK is recorded and nothing is resent (the client keeps its last ACKed version);
//! - a request with an empty nonce (a new subscription, or a reconnecting client that sends its
//!   last `version_info`) is always answered with the current state;
//! - after that, a response goes out only when what the subscription selects changed: a
//!   selected resource changed, appeared or disappeared, or the subscribed names changed;
//! - after a change, an EDS or RDS response carries only the resources that are new or changed
//!   (the protocol makes only listeners and clusters whole-state in every response; the node
//!   keeps the others), unless the subscription changed too or a resource went away.
//!
//! On an ADS stream with clusters, listener and route responses wait until the node holds the
//! clusters and endpoints they may use (`warming.rs`).
//!
//! Empty `resource_names` select every resource of the type (Envoy never subscribes to RTDS or
//! ECDS as a wildcard; this is a convenience for tools). Requests for types weir-cp does not serve
//! are logged and ignored; the stream stays open.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use envoy_types::pb::envoy::config::core::v3::ControlPlane;
use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use tracing::{debug, warn};

use super::freshness::Freshness;
use super::kind::Kind;
use super::peer::Peer;
use super::shared::Shared;
use super::warming::{self, Held, TypeView};

/// What was last sent for one type: the subscription and the stamps of what it selected.
type Fingerprint = (BTreeSet<String>, Vec<(String, u64)>);

/// One type's subscription on a stream.
#[derive(Debug, Default)]
struct Watch {
    names: BTreeSet<String>,
    nonce: Option<String>,
    sent_version: String,
    sent: Option<Fingerprint>,
    /// Whether a response awaits its ACK or NACK.
    outstanding: bool,
    /// Whether the latest response was NACKed.
    rejected: bool,
    /// The version its last response was computed at; when it answered a change.
    freshness: Freshness,
}

/// When a watch gets a response (the first variants are the more pressing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Send {
    /// Always: a request without a nonce.
    Always,
    /// When what it selects differs from what it was last sent: the subscription changed.
    IfSelectionChanged,
    /// When a change since the last response touched what it selects, and that differs from
    /// what it was last sent.
    IfTouched,
}

impl Watch {
    /// The names to send when the response may carry only the changed resources of the
    /// selection `stamps` (EDS and RDS after a change, the subscription the same): those new
    /// or changed since the last response. `None`: send the whole selection (also when only
    /// removals changed it, which a partial response cannot say).
    fn changed_only(&self, kind: Kind, when: Send, stamps: &[(String, u64)]) -> Option<BTreeSet<String>> {
        let (names, sent) = self.sent.as_ref()?;
        if when != Send::IfTouched || !kind.partial_in_sotw() || *names != self.names {
            return None;
        }
        let removed = sent.iter().any(|(name, _)| stamps.binary_search_by(|(n, _)| n.cmp(name)).is_err());
        if removed {
            return None;
        }
        let changed: BTreeSet<String> = stamps
            .iter()
            .filter(|(name, stamp)| {
                sent.binary_search_by(|(n, _)| n.as_str().cmp(name)).map_or(true, |i| sent[i].1 != *stamp)
            })
            .map(|(name, _)| name.clone())
            .collect();
        (!changed.is_empty()).then_some(changed)
    }

    /// Whether no change since the last response touched a resource the watch selects (as far
    /// as the store's log of recent changes tells; `false` when it does not). The watch is then
    /// current at the type's version.
    fn untouched(&mut self, shared: &Shared, kind: Kind, group: &Option<String>) -> bool {
        let Some(version) = self.freshness.computed_for(group) else { return false };
        let Some((now, changed)) = shared.store.changed_since(kind, group.as_deref(), version) else {
            return false;
        };
        if changed.iter().any(|(name, _)| kind.selects(&self.names, name)) {
            return false;
        }
        self.freshness.computed(now, group);
        true
    }
}

/// The protocol state of one stream.
#[derive(Debug)]
pub struct StreamState {
    only: Option<Kind>,
    peer: Peer,
    watches: BTreeMap<Kind, Watch>,
    /// Listener and route responses waiting for the node's clusters and endpoints
    /// (`warming.rs`), and how pressing each is.
    held: Held<Send>,
}

impl StreamState {
    /// A stream from `peer`. `only` is the type of a single-type service (RTDS, ECDS); `None`
    /// for ADS.
    pub fn new(only: Option<Kind>, peer: String) -> StreamState {
        StreamState { only, peer: Peer::new(peer, "sotw"), watches: BTreeMap::new(), held: Held::default() }
    }

    /// The stream's node.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// The stream closed.
    pub fn close(&mut self, shared: &Shared) {
        self.peer.close(shared);
    }

    /// Handles a request; returns the responses to send: the one it calls for, and those it
    /// released (`warming.rs`).
    pub fn on_request(&mut self, shared: &Shared, request: DiscoveryRequest) -> Vec<DiscoveryResponse> {
        let response = self.answer(shared, request);
        let mut out: Vec<DiscoveryResponse> = response.into_iter().collect();
        out.extend(self.release(shared));
        out
    }

    fn answer(&mut self, shared: &Shared, request: DiscoveryRequest) -> Option<DiscoveryResponse> {
        let node = self.peer.register(shared, request.node.as_ref());
        let Some(kind) = Kind::on_stream(&request.type_url, self.only) else {
            warn!(node = %node, type_url = %request.type_url, "ignoring a request for a type weir-cp does not serve here");
            shared.status.ignored();
            return None;
        };
        let watch = self.watches.entry(kind).or_default();
        let fresh = request.response_nonce.is_empty();
        if !fresh {
            if watch.nonce.as_deref() != Some(request.response_nonce.as_str()) {
                debug!(node = %node, r#type = kind.short(), nonce = %request.response_nonce, "stale nonce, request ignored");
                shared.status.stale();
                return None;
            }
            match &request.error_detail {
                Some(error) => {
                    warn!(node = %node, r#type = kind.short(), version = %watch.sent_version,
                          kept = %request.version_info, reason = %error.message, "NACK");
                    shared.status.nacked(
                        &node,
                        kind,
                        &watch.sent_version,
                        &request.version_info,
                        &error.message,
                    );
                    watch.freshness.nacked();
                    watch.outstanding = false;
                    watch.rejected = true;
                }
                None => {
                    debug!(node = %node, r#type = kind.short(), version = %request.version_info, "ACK");
                    shared.status.acked(&node, kind, &request.version_info);
                    watch.freshness.acked(shared);
                    watch.outstanding = false;
                    watch.rejected = false;
                }
            }
        }
        let same_names = request.resource_names.len() == watch.names.len()
            && request.resource_names.iter().all(|n| watch.names.contains(n));
        let resubscribed = !same_names || watch.sent.is_none();
        if resubscribed {
            let names: BTreeSet<String> = request.resource_names.into_iter().collect();
            shared.status.subscribed(&node, kind, names.iter().cloned().collect());
            watch.names = names;
        }
        let group = self.peer.group(shared);
        let current = self.watches.get(&kind).is_some_and(|w| w.freshness.is_current(shared, kind, &group));
        if !fresh && !resubscribed && current {
            // An ACK, and nothing this type sends changed since its last response.
            return None;
        }
        let when = if fresh {
            Send::Always
        } else if resubscribed {
            Send::IfSelectionChanged
        } else {
            Send::IfTouched
        };
        self.respond(shared, kind, when, None)
    }

    /// The state changed, at `at`: the responses for subscriptions whose selection changed.
    pub fn on_change(&mut self, shared: &Shared, at: Instant) -> Vec<DiscoveryResponse> {
        let group = self.peer.group(shared);
        let watches = self.watches.iter().map(|(k, w)| (*k, w.sent.is_some(), &w.freshness));
        let stale = Freshness::stale(shared, &group, watches);
        let mut out: Vec<DiscoveryResponse> = stale
            .into_iter()
            .filter_map(|kind| self.respond(shared, kind, Send::IfTouched, Some(at)))
            .collect();
        out.extend(self.release(shared));
        out
    }

    /// Whether the node holds the clusters and endpoints its listeners and routes may use.
    fn warm(&self, shared: &Shared, group: &Option<String>) -> bool {
        let view = |kind: Kind| {
            self.watches.get(&kind).map(|w| TypeView {
                names: &w.names,
                wildcard: w.names.is_empty(),
                settled: !w.outstanding,
                rejected: w.rejected,
                current: w.freshness.is_current(shared, kind, group),
            })
        };
        warming::warm(shared, group.as_deref(), view(Kind::Cds), view(Kind::Eds))
    }

    /// The held responses, once the node is warm.
    fn release(&mut self, shared: &Shared) -> Vec<DiscoveryResponse> {
        if self.held.is_empty() {
            return Vec::new();
        }
        let group = self.peer.group(shared);
        if !self.warm(shared, &group) {
            return Vec::new();
        }
        let held = self.held.take();
        held.into_iter().filter_map(|(kind, when)| self.respond(shared, kind, when, None)).collect()
    }

    /// The response `kind`'s watch calls for, if any; `pushed`: the change it answers.
    fn respond(
        &mut self,
        shared: &Shared,
        kind: Kind,
        when: Send,
        pushed: Option<Instant>,
    ) -> Option<DiscoveryResponse> {
        let group = self.peer.group(shared);
        if self.only.is_none() && warming::gated(kind) && !self.warm(shared, &group) {
            self.held.hold(kind, when);
            return None;
        }
        let node = self.peer.node().unwrap_or_default();
        let watch = self.watches.get_mut(&kind)?;
        if when == Send::IfTouched && watch.sent.is_some() && watch.untouched(shared, kind, &group) {
            return None;
        }
        // Stamps first: nothing is packed or copied unless the selection changed.
        let (version, stamps) = shared.store.stamps(kind, &watch.names, group.as_deref());
        watch.freshness.computed(version, &group);
        let unchanged =
            watch.sent.as_ref().is_some_and(|(names, sent)| *names == watch.names && *sent == stamps);
        if when != Send::Always && unchanged {
            return None;
        }
        let (selection, fingerprint) = match watch.changed_only(kind, when, &stamps) {
            // Only what changed; the node keeps the rest (the fingerprint is the whole selection).
            Some(changed) => {
                (shared.store.select(kind, &changed, group.as_deref()), (watch.names.clone(), stamps))
            }
            None => {
                let selection = shared.store.select(kind, &watch.names, group.as_deref());
                let fingerprint = (watch.names.clone(), selection.stamps.clone());
                (selection, fingerprint)
            }
        };
        let nonce = shared.nonce();
        let version = selection.version.to_string();
        debug!(node = %node, r#type = kind.short(), version = %version, nonce = %nonce,
               resources = selection.resources.len(), "push");
        shared.status.sent(node, kind, &version, &nonce);
        watch.nonce = Some(nonce.clone());
        watch.freshness.responded(pushed);
        watch.sent_version = version.clone();
        watch.sent = Some(fingerprint);
        watch.outstanding = true;
        Some(DiscoveryResponse {
            version_info: version,
            resources: selection.resources,
            type_url: kind.type_url().to_string(),
            nonce,
            control_plane: Some(ControlPlane { identifier: shared.identifier.clone() }),
            ..DiscoveryResponse::default()
        })
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
