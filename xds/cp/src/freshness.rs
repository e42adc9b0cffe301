//! What one type's subscription on a stream knows about its last response, for both protocols:
//! the type's version and the node's group it was computed at (until either changes, no change
//! in the store can change what the type sends, so the stream skips it), and, when the
//! response answered a change, when that change was made (its ACK then feeds
//! `weir_cp_convergence_seconds`).

use std::time::Instant;

use crate::kind::Kind;
use crate::shared::Shared;

/// See the module.
#[derive(Debug, Default)]
pub struct Freshness {
    computed: Option<(u64, Option<String>)>,
    pushed_at: Option<Instant>,
}

impl Freshness {
    /// A response is being computed at `version` for a node in `group`.
    pub fn computed(&mut self, version: u64, group: &Option<String>) {
        self.computed = Some((version, group.clone()));
    }

    /// The type's version the last response was computed at, if for a node in `group`.
    pub fn computed_for(&self, group: &Option<String>) -> Option<u64> {
        self.computed.as_ref().filter(|(_, g)| g == group).map(|(version, _)| *version)
    }

    /// A response was sent: it answers the change made at `pushed`, or (`None`) a request.
    pub fn responded(&mut self, pushed: Option<Instant>) {
        self.pushed_at = pushed;
    }

    /// The types among a stream's `(kind, answered once, freshness)` whose last response is
    /// no longer current for a node in `group`: those a change may have changed.
    pub fn stale<'a>(
        shared: &Shared,
        group: &Option<String>,
        types: impl Iterator<Item = (Kind, bool, &'a Freshness)>,
    ) -> Vec<Kind> {
        types
            .filter(|(kind, answered, freshness)| *answered && !freshness.is_current(shared, *kind, group))
            .map(|(kind, _, _)| kind)
            .collect()
    }

    /// Whether the type's version for `group` is still the one the last response was computed
    /// at (and the node is still in that group).
    pub fn is_current(&self, shared: &Shared, kind: Kind, group: &Option<String>) -> bool {
        self.computed.as_ref().is_some_and(|(version, g)| {
            g == group && *version == shared.store.version_in(kind, group.as_deref())
        })
    }

    /// The node ACKed the last response: a pushed change converged.
    pub fn acked(&mut self, shared: &Shared) {
        if let Some(at) = self.pushed_at.take() {
            shared.push_times.convergence.observe(at.elapsed());
        }
    }

    /// The node NACKed the last response: it did not converge.
    pub fn nacked(&mut self) {
        self.pushed_at = None;
    }
}
