//! The delta (incremental) protocol of one xDS stream, as Envoy's xDS protocol describes it:
//!
//! - per type URL the client subscribes to names (`resource_names_subscribe`, `*` or an empty
//!   first request for every resource) and unsubscribes (`resource_names_unsubscribe`);
//! - a response carries only the resources whose version the client does not hold (each with
//!   its own version: the store's stamp of its last change) and, in `removed_resources`, the
//!   names it holds that are gone, or that it subscribed to and do not exist;
//! - a reconnecting client says what it holds (`initial_resource_versions`): nothing is resent
//!   that it already has;
//! - a request carrying the latest `response_nonce` is an ACK, or a NACK with `error_detail`
//!   (recorded; nothing resent); one with an older nonce is stale for the status, while its
//!   subscription changes still apply.
//!
//! A stream holds at most [`MAX_NAMES`] names per type (subscribed or held); past that it ends
//! with `RESOURCE_EXHAUSTED`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use envoy_types::pb::envoy::config::core::v3::ControlPlane;
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, Resource,
};
use tonic::Status;
use tracing::{debug, warn};

use super::freshness::Freshness;
use super::kind::Kind;
use super::peer::Peer;
use super::shared::Shared;
use super::warming::{self, Held, TypeView};

/// Most names one stream may subscribe to, or say it holds, per type.
pub const MAX_NAMES: usize = 10_000;

/// One type's subscription on a delta stream.
#[derive(Debug, Default)]
struct Subscription {
    started: bool,
    wildcard: bool,
    names: BTreeSet<String>,
    /// What the client holds: name → version.
    held: BTreeMap<String, String>,
    /// Subscribed names the client was told do not exist.
    told_absent: BTreeSet<String>,
    nonce: Option<String>,
    sent_version: String,
    acked_version: String,
    /// Whether a response awaits its ACK or NACK.
    outstanding: bool,
    /// Whether the latest response was NACKed.
    rejected: bool,
    /// The version its last response was computed at; when it answered a change.
    freshness: Freshness,
}

/// What a response compares with what the client holds (the first variants compare more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Compare {
    /// Every selected resource, on the stream's first request for the type.
    First,
    /// Every selected resource: the subscription changed.
    All,
    /// What changed since the last response (every selected resource if that is not known).
    Changed,
}

/// The delta protocol state of one stream.
#[derive(Debug)]
pub struct DeltaState {
    only: Option<Kind>,
    peer: Peer,
    subscriptions: BTreeMap<Kind, Subscription>,
    /// Listener and route responses waiting for the node's clusters and endpoints
    /// (`warming.rs`), and what each compares.
    held: Held<Compare>,
}

impl DeltaState {
    /// A stream from `peer`; `only` is the type of a single-type service, `None` for ADS.
    pub fn new(only: Option<Kind>, peer: String) -> DeltaState {
        DeltaState {
            only,
            peer: Peer::new(peer, "delta"),
            subscriptions: BTreeMap::new(),
            held: Held::default(),
        }
    }

    /// The stream's node.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// The stream closed.
    pub fn close(&mut self, shared: &Shared) {
        self.peer.close(shared);
    }

    /// Handles a request: the response it calls for and those it released (`warming.rs`), or
    /// the status ending the stream.
    pub fn on_request(
        &mut self,
        shared: &Shared,
        request: DeltaDiscoveryRequest,
    ) -> Result<Vec<DeltaDiscoveryResponse>, Status> {
        let mut out = self.answer(shared, request)?;
        out.extend(self.release(shared));
        Ok(out)
    }

    fn answer(
        &mut self,
        shared: &Shared,
        request: DeltaDiscoveryRequest,
    ) -> Result<Vec<DeltaDiscoveryResponse>, Status> {
        let node = self.peer.register(shared, request.node.as_ref());
        let Some(kind) = Kind::on_stream(&request.type_url, self.only) else {
            warn!(node = %node, type_url = %request.type_url, "ignoring a delta request for a type weir-cp does not serve here");
            shared.status.ignored();
            return Ok(Vec::new());
        };
        let sub = self.subscriptions.entry(kind).or_default();
        if !request.response_nonce.is_empty() {
            acknowledge(shared, &node, kind, sub, &request);
        }
        let first = !sub.started;
        // A plain ACK names nothing: the subscription is compared only when a request changes it.
        let touched =
            !request.resource_names_subscribe.is_empty() || !request.resource_names_unsubscribe.is_empty();
        let before = (touched && !first).then(|| (sub.wildcard, sub.names.clone()));
        if first {
            sub.started = true;
            sub.wildcard = request.resource_names_subscribe.is_empty();
            sub.held = request.initial_resource_versions.into_iter().collect();
        }
        for name in request.resource_names_subscribe {
            match name.as_str() {
                "*" => sub.wildcard = true,
                _ => {
                    sub.names.insert(name);
                }
            }
        }
        for name in request.resource_names_unsubscribe {
            match name.as_str() {
                "*" => sub.wildcard = false,
                _ => {
                    sub.names.remove(&name);
                    sub.held.remove(&name);
                    sub.told_absent.remove(&name);
                }
            }
        }
        if sub.names.len() > MAX_NAMES || sub.held.len() > MAX_NAMES {
            return Err(Status::resource_exhausted(format!(
                "more than {MAX_NAMES} {} resource names on one stream",
                kind.short()
            )));
        }
        let resubscribed =
            first || before.is_some_and(|(wildcard, names)| wildcard != sub.wildcard || names != sub.names);
        if resubscribed {
            let mut shown: Vec<String> = sub.names.iter().cloned().collect();
            if sub.wildcard {
                shown.insert(0, "*".into());
            }
            shared.status.subscribed(&node, kind, shown);
        }
        let group = self.peer.group(shared);
        let current =
            self.subscriptions.get(&kind).is_some_and(|s| s.freshness.is_current(shared, kind, &group));
        if !resubscribed && current {
            // Nothing this type sends changed since its last response.
            return Ok(Vec::new());
        }
        // A request naming names may also have dropped held ones: compare everything.
        let compare = if first {
            Compare::First
        } else if resubscribed || touched {
            Compare::All
        } else {
            Compare::Changed
        };
        Ok(self.respond(shared, kind, compare, None).into_iter().collect())
    }

    /// The state changed, at `at`: a response per subscription whose selection changed.
    pub fn on_change(&mut self, shared: &Shared, at: Instant) -> Vec<DeltaDiscoveryResponse> {
        let group = self.peer.group(shared);
        let subscriptions = self.subscriptions.iter().map(|(k, s)| (*k, s.started, &s.freshness));
        let stale = Freshness::stale(shared, &group, subscriptions);
        let mut out: Vec<DeltaDiscoveryResponse> = stale
            .into_iter()
            .filter_map(|kind| self.respond(shared, kind, Compare::Changed, Some(at)))
            .collect();
        out.extend(self.release(shared));
        out
    }

    /// Whether the node holds the clusters and endpoints its listeners and routes may use.
    fn warm(&self, shared: &Shared, group: &Option<String>) -> bool {
        let view = |kind: Kind| {
            self.subscriptions.get(&kind).map(|s| TypeView {
                names: &s.names,
                wildcard: s.wildcard,
                settled: !s.outstanding,
                rejected: s.rejected,
                current: s.freshness.is_current(shared, kind, group),
            })
        };
        warming::warm(shared, group.as_deref(), view(Kind::Cds), view(Kind::Eds))
    }

    /// The held responses, once the node is warm.
    fn release(&mut self, shared: &Shared) -> Vec<DeltaDiscoveryResponse> {
        if self.held.is_empty() {
            return Vec::new();
        }
        let group = self.peer.group(shared);
        if !self.warm(shared, &group) {
            return Vec::new();
        }
        let held = self.held.take();
        held.into_iter().filter_map(|(kind, compare)| self.respond(shared, kind, compare, None)).collect()
    }

    /// The response `kind`'s subscription calls for, if any, comparing as `compare` says;
    /// `pushed`: the change it answers.
    fn respond(
        &mut self,
        shared: &Shared,
        kind: Kind,
        compare: Compare,
        pushed: Option<Instant>,
    ) -> Option<DeltaDiscoveryResponse> {
        let group = self.peer.group(shared);
        if self.only.is_none() && warming::gated(kind) && !self.warm(shared, &group) {
            self.held.hold(kind, compare);
            return None;
        }
        let node = self.peer.node().unwrap_or_default();
        let sub = self.subscriptions.get_mut(&kind)?;
        let since = match compare {
            Compare::Changed => sub.freshness.computed_for(&group),
            Compare::First | Compare::All => None,
        };
        let diff = since
            .and_then(|version| sub.diff_since(&shared.store, kind, group.as_deref(), version))
            .unwrap_or_else(|| sub.diff_all(&shared.store, kind, group.as_deref()));
        sub.freshness.computed(diff.version, &group);
        let version = diff.version.to_string();
        let removed = diff.removed;
        // Only the resources the client does not hold are packed and copied.
        let mut resources = Vec::new();
        if !diff.send.is_empty() {
            let selection = shared.store.select(kind, &diff.send, group.as_deref());
            for ((name, stamp), any) in selection.stamps.into_iter().zip(selection.resources) {
                let stamp = stamp.to_string();
                sub.told_absent.remove(&name);
                sub.held.insert(name.clone(), stamp.clone());
                resources.push(Resource { name, version: stamp, resource: Some(any), ..Resource::default() });
            }
        }
        if resources.is_empty() && removed.is_empty() {
            if compare == Compare::First && !sub.held.is_empty() {
                // A reconnecting client already holds the current state.
                sub.acked_version = version.clone();
                shared.status.acked(node, kind, &version);
            }
            return None;
        }
        let nonce = shared.nonce();
        debug!(node = %node, r#type = kind.short(), version = %version, nonce = %nonce,
               resources = resources.len(), removed = removed.len(), "delta push");
        shared.status.sent(node, kind, &version, &nonce);
        sub.nonce = Some(nonce.clone());
        sub.freshness.responded(pushed);
        sub.sent_version = version.clone();
        sub.outstanding = true;
        Some(DeltaDiscoveryResponse {
            system_version_info: version,
            resources,
            type_url: kind.type_url().to_string(),
            removed_resources: removed,
            nonce,
            control_plane: Some(ControlPlane { identifier: shared.identifier.clone() }),
            ..DeltaDiscoveryResponse::default()
        })
    }
}

/// Whether a version the client holds is `stamp` written in decimal (without allocating:
/// same length, and the same number).
fn same_version(held: &str, stamp: u64) -> bool {
    let digits = stamp.checked_ilog10().map_or(1, |d| d as usize + 1);
    held.len() == digits && held.parse::<u64>() == Ok(stamp)
}

/// Records the ACK or NACK a request carries (stale when its nonce is not the latest).
fn acknowledge(
    shared: &Shared,
    node: &str,
    kind: Kind,
    sub: &mut Subscription,
    request: &DeltaDiscoveryRequest,
) {
    if sub.nonce.as_deref() != Some(request.response_nonce.as_str()) {
        debug!(node = %node, r#type = kind.short(), nonce = %request.response_nonce, "stale nonce");
        shared.status.stale();
        return;
    }
    match &request.error_detail {
        Some(error) => {
            warn!(node = %node, r#type = kind.short(), version = %sub.sent_version,
                  kept = %sub.acked_version, reason = %error.message, "NACK");
            shared.status.nacked(node, kind, &sub.sent_version, &sub.acked_version, &error.message);
            sub.freshness.nacked();
            sub.outstanding = false;
            sub.rejected = true;
        }
        None => {
            debug!(node = %node, r#type = kind.short(), version = %sub.sent_version, "ACK");
            sub.acked_version = sub.sent_version.clone();
            shared.status.acked(node, kind, &sub.sent_version);
            sub.freshness.acked(shared);
            sub.outstanding = false;
            sub.rejected = false;
        }
    }
}

#[path = "delta_diff.rs"]
mod diff;

#[cfg(test)]
#[path = "delta_tests.rs"]
mod tests;
