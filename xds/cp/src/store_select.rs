//! What the streams read from the store: a type's version as a node group sees it, the
//! `(name, stamp)` of what a subscription selects (cheap: nothing is packed or copied but the
//! names), and the selected resources packed for a response. A stream compares versions and
//! stamps first and asks for resources only when they changed, so a push of one resource
//! copies that resource alone, and types that did not change cost one lock and a lookup.

use std::collections::BTreeSet;

use envoy_types::pb::envoy::service::runtime::v3::Runtime;
use envoy_types::pb::google::protobuf::Any;
use weir_xds::convert::{json_to_struct, pack};

use serde_json::Value;

use super::Store;
use crate::ecds::EcdsConfig;
use crate::envoy_resource::{EnvoyResource, Named};
use crate::kind::Kind;
use crate::pack_cache::PackCache;
use crate::secret::SecretConfig;
use crate::state::{Changed, State, TypeState};

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
    /// The EDS service names of the clusters `group`'s nodes get (everyone's with `None`):
    /// `eds_cluster_config.service_name`, else the cluster's name.
    pub fn eds_names(&self, group: Option<&str>) -> Vec<String> {
        let state = self.state.lock();
        let clusters = match group {
            Some(g) => state.groups.get(g).map(|g| &g.clusters),
            None => Some(&state.clusters),
        };
        clusters
            .into_iter()
            .flat_map(|t| t.resources.iter())
            .filter_map(|(name, entry)| {
                let eds = entry.value.json().get("eds_cluster_config")?;
                let service = eds.get("service_name").and_then(|s| s.as_str()).filter(|s| !s.is_empty());
                Some(service.unwrap_or(name).to_string())
            })
            .collect()
    }

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
        (version, table(&state, kind, group).stamps(names))
    }

    /// The type's version and the names of `kind` changed since `version` (as the nodes of
    /// `group` get them), each with its stamp (`None`: removed), when the log of recent changes
    /// reaches back that far (see [`crate::change_log`]).
    pub fn changed_since(&self, kind: Kind, group: Option<&str>, version: u64) -> Option<(u64, Changed)> {
        let state = self.state.lock();
        let changed = table(&state, kind, group).changed_since(version)?;
        Some((state.version_in(kind, group), changed))
    }

    /// The resources of `kind` selected by `names` (empty = all, except for EDS where names are
    /// required) as the nodes of `group` get them, packed for a response.
    pub fn select(&self, kind: Kind, names: &BTreeSet<String>, group: Option<&str>) -> Selection {
        let state = self.state.lock();
        let version = state.version_in(kind, group);
        if kind.names_required() && names.is_empty() {
            return Selection { version, stamps: Vec::new(), resources: Vec::new() };
        }
        let (stamps, resources) = table(&state, kind, group).packed(kind, names, &self.packed);
        Selection { version, stamps, resources }
    }
}

/// The table of `kind` as the nodes of `group` get it: the group's own for the data-plane
/// types of a group that exists, else everyone's.
pub(crate) fn table<'a>(state: &'a State, kind: Kind, group: Option<&str>) -> &'a dyn Table {
    let grouped = group.and_then(|g| state.groups.get(g));
    match kind {
        Kind::Rtds => &state.runtime,
        Kind::Ecds => &state.ecds,
        Kind::Sds => &state.secrets,
        Kind::Cds => grouped.map_or(&state.clusters, |g| &g.clusters),
        Kind::Eds => grouped.map_or(&state.endpoints, |g| &g.endpoints),
        Kind::Rds => grouped.map_or(&state.routes, |g| &g.routes),
        Kind::Lds => grouped.map_or(&state.listeners, |g| &g.listeners),
    }
}

/// What selection needs of one type's table, whatever its resources are.
pub(crate) trait Table {
    /// The `(name, stamp)` of each resource `names` selects (empty = all), sorted by name.
    fn stamps(&self, names: &BTreeSet<String>) -> Vec<(String, u64)>;
    /// The names changed since `version`, with their stamps (`None`: removed), if known.
    fn changed_since(&self, version: u64) -> Option<Changed>;
    /// The same, with the resources packed.
    fn packed(
        &self,
        kind: Kind,
        names: &BTreeSet<String>,
        cache: &PackCache,
    ) -> (Vec<(String, u64)>, Vec<Any>);
}

impl<T: Packs> Table for TypeState<T> {
    fn stamps(&self, names: &BTreeSet<String>) -> Vec<(String, u64)> {
        TypeState::stamps(self, names)
    }

    fn changed_since(&self, version: u64) -> Option<Changed> {
        TypeState::changed_since(self, version)
    }

    fn packed(
        &self,
        kind: Kind,
        names: &BTreeSet<String>,
        cache: &PackCache,
    ) -> (Vec<(String, u64)>, Vec<Any>) {
        self.selected(names)
            .map(|(name, entry)| {
                let any = entry.value.pack(name, (kind, self.version, entry.version), cache);
                ((name.clone(), entry.version), any)
            })
            .unzip()
    }
}

/// A resource as a stream sends it.
pub(crate) trait Packs {
    /// The resource `name`, packed. Resources built on demand (RTDS layers, ECDS configs, SDS
    /// secrets) are packed once per version through `cache`, under `key`.
    fn pack(&self, name: &str, key: PackKey, cache: &PackCache) -> Any;
}

/// What a packed resource is cached under: its kind, the type's version and its own.
pub(crate) type PackKey = (Kind, u64, u64);

/// Packs a resource built on demand by `make`, once per version.
fn cached(name: &str, key: PackKey, cache: &PackCache, make: impl FnOnce() -> Any) -> Any {
    let (kind, type_version, version) = key;
    cache.get(kind, type_version, name, version, make)
}

impl Packs for Value {
    fn pack(&self, name: &str, key: PackKey, cache: &PackCache) -> Any {
        cached(name, key, cache, || pack(&Runtime { name: name.to_string(), layer: json_to_struct(self) }))
    }
}

impl Packs for EcdsConfig {
    fn pack(&self, name: &str, key: PackKey, cache: &PackCache) -> Any {
        cached(name, key, cache, || pack(&self.to_resource(name)))
    }
}

impl Packs for SecretConfig {
    fn pack(&self, name: &str, key: PackKey, cache: &PackCache) -> Any {
        cached(name, key, cache, || pack(&self.to_resource(name)))
    }
}

/// Envoy resources are stored packed: nothing to build.
impl<M: Named> Packs for EnvoyResource<M> {
    fn pack(&self, _: &str, _: PackKey, _: &PackCache) -> Any {
        self.packed().clone()
    }
}
