//! What the streams read from the store: a type's version as a node group sees it, the
//! `(name, stamp)` of what a subscription selects (cheap: nothing is packed or copied but the
//! names), and the selected resources packed for a response. A stream compares versions and
//! stamps first and asks for resources only when they changed, so a push of one resource
//! copies that resource alone, and types that did not change cost one lock and a lookup.

use std::collections::BTreeSet;

use envoy_types::pb::envoy::service::runtime::v3::Runtime;
use envoy_types::pb::google::protobuf::Any;
use weir_xds::convert::{json_to_struct, pack};

use super::Store;
use crate::envoy_resource::{EnvoyResource, Named};
use crate::kind::Kind;
use crate::state::{State, TypeState};

/// What a subscription selects, at one moment.
#[derive(Debug, Clone)]
pub struct Selection {
    /// The type's version.
    pub version: u64,
    /// `(name, version of last change)` of each selected resource, by name.
    pub stamps: Vec<(String, u64)>,
    /// The selected resources, packed, in the same order.
    pub resources: Vec<Any>,
}

impl Store {
    /// The version of `kind` as the nodes of `group` get it: what they are served changes
    /// only when it does (or when their group does).
    pub fn version_in(&self, kind: Kind, group: Option<&str>) -> u64 {
        self.state.lock().version_in(kind, group)
    }

    /// The type's version and the `(name, stamp)` of each resource `names` selects (as
    /// [`Store::select`] would, without packing anything), sorted by name.
    pub fn stamps(
        &self,
        kind: Kind,
        names: &BTreeSet<String>,
        group: Option<&str>,
    ) -> (u64, Vec<(String, u64)>) {
        let state = self.state.lock();
        let version = state.version_in(kind, group);
        if kind.names_required() && names.is_empty() {
            return (version, Vec::new());
        }
        let grouped = group.and_then(|g| state.groups.get(g));
        let stamps = match kind {
            Kind::Rtds => state.runtime.stamps(names),
            Kind::Ecds => state.ecds.stamps(names),
            Kind::Sds => state.secrets.stamps(names),
            Kind::Cds => grouped.map_or(&state.clusters, |g| &g.clusters).stamps(names),
            Kind::Eds => grouped.map_or(&state.endpoints, |g| &g.endpoints).stamps(names),
            Kind::Rds => grouped.map_or(&state.routes, |g| &g.routes).stamps(names),
            Kind::Lds => grouped.map_or(&state.listeners, |g| &g.listeners).stamps(names),
        };
        (version, stamps)
    }

    /// The resources of `kind` selected by `names` (empty = all, except for EDS where names are
    /// required) as the nodes of `group` get them, packed for a response.
    pub fn select(&self, kind: Kind, names: &BTreeSet<String>, group: Option<&str>) -> Selection {
        let state = self.state.lock();
        let version = state.version_in(kind, group);
        if kind.names_required() && names.is_empty() {
            return Selection { version, stamps: Vec::new(), resources: Vec::new() };
        }
        let (stamps, resources) = self.packed_selection(&state, kind, names, group);
        Selection { version, stamps, resources }
    }

    fn packed_selection(
        &self,
        state: &State,
        kind: Kind,
        names: &BTreeSet<String>,
        group: Option<&str>,
    ) -> (Vec<(String, u64)>, Vec<Any>) {
        let grouped = group.and_then(|g| state.groups.get(g));
        match kind {
            Kind::Rtds => self.pack_each(kind, &state.runtime, names, |name, value| {
                pack(&Runtime { name: name.to_string(), layer: json_to_struct(value) })
            }),
            Kind::Ecds => {
                self.pack_each(kind, &state.ecds, names, |name, value| pack(&value.to_resource(name)))
            }
            Kind::Sds => {
                self.pack_each(kind, &state.secrets, names, |name, value| pack(&value.to_resource(name)))
            }
            Kind::Cds => packed(grouped.map_or(&state.clusters, |g| &g.clusters), names),
            Kind::Eds => packed(grouped.map_or(&state.endpoints, |g| &g.endpoints), names),
            Kind::Rds => packed(grouped.map_or(&state.routes, |g| &g.routes), names),
            Kind::Lds => packed(grouped.map_or(&state.listeners, |g| &g.listeners), names),
        }
    }

    /// The selected resources of a table built on demand, with their stamps, packed once per
    /// version ([`crate::pack_cache`]).
    fn pack_each<T>(
        &self,
        kind: Kind,
        table: &TypeState<T>,
        names: &BTreeSet<String>,
        make: impl Fn(&str, &T) -> Any,
    ) -> (Vec<(String, u64)>, Vec<Any>) {
        table
            .selected(names)
            .map(|(name, entry)| {
                let any =
                    self.packed.get(kind, table.version, name, entry.version, || make(name, &entry.value));
                ((name.clone(), entry.version), any)
            })
            .unzip()
    }
}

/// The selected Envoy resources of a table, with their stamps, already packed.
fn packed<M: Named>(
    table: &TypeState<EnvoyResource<M>>,
    names: &BTreeSet<String>,
) -> (Vec<(String, u64)>, Vec<Any>) {
    table
        .selected(names)
        .map(|(name, entry)| ((name.clone(), entry.version), entry.value.packed().clone()))
        .unzip()
}
