//! Make-before-break across types on an ADS stream: a node takes listener (LDS) and route (RDS)
//! updates only once it holds the clusters and endpoints they may use — its latest CDS
//! response answered (ACK or NACK) and current, and, for every EDS cluster of it, a
//! subscription to its endpoints whose latest response was answered and is current. So a
//! route to a cluster added by the same change never meets a proxy that lacks the cluster or
//! its endpoints (Envoy's xDS ordering: CDS, EDS, then LDS, RDS). Streams of one type, and
//! streams without CDS, are not held.

use std::collections::{BTreeMap, BTreeSet};

use crate::kind::Kind;
use crate::shared::Shared;

/// What the gate reads of one type's state on a stream.
pub struct TypeView<'a> {
    /// The names subscribed.
    pub names: &'a BTreeSet<String>,
    /// Whether every resource of the type is subscribed (wildcard).
    pub wildcard: bool,
    /// Whether no response awaits its ACK or NACK.
    pub settled: bool,
    /// Whether the latest response was computed at the type's current version.
    pub current: bool,
    /// Whether the latest response was NACKed.
    pub rejected: bool,
}

/// Responses waiting for a node to be warm: per type, the most demanding way one was asked
/// for (`M`: the stream's own; smaller is more demanding).
#[derive(Debug)]
pub struct Held<M>(BTreeMap<Kind, M>);

impl<M> Default for Held<M> {
    fn default() -> Self {
        Held(BTreeMap::new())
    }
}

impl<M: Ord + Copy> Held<M> {
    /// Holds a response of `kind`, asked for as `mode`.
    pub fn hold(&mut self, kind: Kind, mode: M) {
        let mode = self.0.get(&kind).map_or(mode, |held| (*held).min(mode));
        self.0.insert(kind, mode);
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Everything held, now to be answered.
    pub fn take(&mut self) -> BTreeMap<Kind, M> {
        std::mem::take(&mut self.0)
    }
}

/// Whether responses of `kind` wait for clusters and endpoints.
pub fn gated(kind: Kind) -> bool {
    matches!(kind, Kind::Lds | Kind::Rds)
}

/// Whether a node with these CDS and EDS states may take LDS and RDS updates (`group`: its
/// node group).
pub fn warm(
    shared: &Shared,
    group: Option<&str>,
    cds: Option<TypeView<'_>>,
    eds: Option<TypeView<'_>>,
) -> bool {
    let Some(cds) = cds else { return true };
    if !(cds.settled && cds.current) {
        return false;
    }
    // Clusters refused: the node keeps its last ones and asks no endpoints for the new ones;
    // holding its routes would hold them for good.
    if cds.rejected {
        return true;
    }
    let needed = shared.store.eds_names(group);
    if needed.is_empty() {
        return true;
    }
    eds.is_some_and(|eds| {
        eds.settled && eds.current && (eds.wildcard || needed.iter().all(|n| eds.names.contains(n)))
    })
}
