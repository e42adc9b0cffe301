//! What weir-cp serves, as persisted in the state file: per resource type a version counter and
//! the resources, each stamped with the type version at which it last changed.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::change_log::ChangeLog;
use super::ecds::EcdsConfig;
use super::envoy_resource::{ClusterResource, EndpointsResource, ListenerResource, RouteResource};
use super::groups::NodeSelector;
use super::kind::Kind;
use super::secret::SecretConfig;

/// The state file's format number.
pub const FORMAT: u32 = 1;

/// One resource and the type version at which it last changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry<T> {
    /// The type version of its last change.
    pub version: u64,
    /// The resource.
    pub value: T,
}

/// Names changed since some version, each with its stamp now (`None`: removed).
pub type Changed = Vec<(String, Option<u64>)>;

/// The resources of one type and the type's version counter.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeState<T> {
    /// Monotonic counter, bumped by every change of this type; served as a decimal string.
    pub version: u64,
    /// Resources by name.
    pub resources: BTreeMap<String, Entry<T>>,
    /// The names recent changes touched (not persisted, not part of the value).
    #[serde(skip)]
    pub recent: ChangeLog,
}

impl<T: PartialEq> PartialEq for TypeState<T> {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version && self.resources == other.resources
    }
}

impl<T> Default for TypeState<T> {
    fn default() -> Self {
        TypeState { version: 0, resources: BTreeMap::new(), recent: ChangeLog::default() }
    }
}

impl<T> TypeState<T> {
    /// Stores `value` under `name` as a new version; returns that version.
    pub fn put(&mut self, name: &str, value: T) -> u64 {
        self.resources.insert(name.to_string(), Entry { version: self.version + 1, value });
        self.moved(self.version + 1, vec![name.to_string()])
    }

    /// Removes `name` as a new version; `None` (no change) if it did not exist.
    pub fn remove(&mut self, name: &str) -> Option<u64> {
        self.resources.remove(name)?;
        Some(self.moved(self.version + 1, vec![name.to_string()]))
    }

    /// The type moved to `version` by a change of `names` (changed, added or removed).
    pub fn moved(&mut self, version: u64, names: Vec<String>) -> u64 {
        self.recent.record(self.version, version, names);
        self.version = version;
        version
    }

    /// The names changed since `version` and the stamp of each (`None`: removed), if the log
    /// of recent changes reaches back that far.
    pub fn changed_since(&self, version: u64) -> Option<Changed> {
        let names = self.recent.since(version, self.version)?;
        Some(names.into_iter().map(|n| (n.to_string(), self.resources.get(n).map(|e| e.version))).collect())
    }

    /// The `(name, version)` of the resources a subscription to `names` selects (empty = all).
    pub fn stamps(&self, names: &BTreeSet<String>) -> Vec<(String, u64)> {
        self.selected(names).map(|(name, entry)| (name.clone(), entry.version)).collect()
    }

    /// The resources a subscription to `names` selects (empty = all), by name.
    pub fn selected<'a>(
        &'a self,
        names: &'a BTreeSet<String>,
    ) -> impl Iterator<Item = (&'a String, &'a Entry<T>)> {
        // Walk the smaller side: a few names are looked up, many are filtered in one pass.
        let lookup = !names.is_empty() && names.len() < self.resources.len();
        let scanned = (!lookup)
            .then(|| self.resources.iter().filter(move |(n, _)| names.is_empty() || names.contains(*n)));
        let looked_up = lookup.then(|| names.iter().filter_map(|n| self.resources.get_key_value(n)));
        scanned.into_iter().flatten().chain(looked_up.into_iter().flatten())
    }
}

/// Everything weir-cp serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Format of the state file ([`FORMAT`]).
    pub format: u32,
    /// Runtime layers (RTDS): each a JSON object, served as the `Runtime` resource's `layer`.
    pub runtime: TypeState<Value>,
    /// Filter configurations (ECDS).
    pub ecds: TypeState<EcdsConfig>,
    /// TLS secrets (SDS), private keys included: the reason the file is mode 0600. Absent in
    /// files written before SDS (read as none).
    #[serde(default)]
    pub secrets: TypeState<SecretConfig>,
    /// Clusters (CDS), as Envoy's `Cluster` JSON. Absent in older files (read as none).
    #[serde(default)]
    pub clusters: TypeState<ClusterResource>,
    /// Endpoints (EDS), as Envoy's `ClusterLoadAssignment` JSON, by service name.
    #[serde(default)]
    pub endpoints: TypeState<EndpointsResource>,
    /// Route configurations (RDS), as Envoy's `RouteConfiguration` JSON.
    #[serde(default)]
    pub routes: TypeState<RouteResource>,
    /// Listeners (LDS), as Envoy's `Listener` JSON.
    #[serde(default)]
    pub listeners: TypeState<ListenerResource>,
    /// Node groups, by name: the data-plane resources their nodes get instead of the above.
    /// Absent in older files (read as none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub groups: BTreeMap<String, Group>,
    /// Per data-plane type (`cds`, `eds`, `rds`, `lds`), the highest version a removed
    /// group's table reached: no later version reuses it (a node still holding a removed
    /// group's resources must not see that number again for other content). Absent in older
    /// files (read as none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub retired_versions: BTreeMap<String, u64>,
}

/// One group: its selector and its data-plane resources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// The nodes it serves.
    pub nodes: NodeSelector,
    /// Its clusters (CDS).
    #[serde(default)]
    pub clusters: TypeState<ClusterResource>,
    /// Its endpoints (EDS).
    #[serde(default)]
    pub endpoints: TypeState<EndpointsResource>,
    /// Its route configurations (RDS).
    #[serde(default)]
    pub routes: TypeState<RouteResource>,
    /// Its listeners (LDS).
    #[serde(default)]
    pub listeners: TypeState<ListenerResource>,
}

impl Group {
    /// A group with no resources yet.
    pub fn new(nodes: NodeSelector) -> Group {
        Group {
            nodes,
            clusters: TypeState::default(),
            endpoints: TypeState::default(),
            routes: TypeState::default(),
            listeners: TypeState::default(),
        }
    }
}

impl Default for State {
    fn default() -> Self {
        State {
            format: FORMAT,
            runtime: TypeState::default(),
            ecds: TypeState::default(),
            secrets: TypeState::default(),
            clusters: TypeState::default(),
            endpoints: TypeState::default(),
            routes: TypeState::default(),
            listeners: TypeState::default(),
            groups: BTreeMap::new(),
            retired_versions: BTreeMap::new(),
        }
    }
}

impl State {
    /// The version counter of a type.
    pub fn version(&self, kind: Kind) -> u64 {
        match kind {
            Kind::Rtds => self.runtime.version,
            Kind::Ecds => self.ecds.version,
            Kind::Sds => self.secrets.version,
            Kind::Cds => self.clusters.version,
            Kind::Eds => self.endpoints.version,
            Kind::Rds => self.routes.version,
            Kind::Lds => self.listeners.version,
        }
    }

    /// The version counter of a type as `group`'s nodes see it (the data-plane types of a
    /// group that exists are its own; everything else is everyone's).
    pub fn version_in(&self, kind: Kind, group: Option<&str>) -> u64 {
        match (kind, group.and_then(|g| self.groups.get(g))) {
            (Kind::Cds, Some(g)) => g.clusters.version,
            (Kind::Eds, Some(g)) => g.endpoints.version,
            (Kind::Rds, Some(g)) => g.routes.version,
            (Kind::Lds, Some(g)) => g.listeners.version,
            _ => self.version(kind),
        }
    }

    /// The version the next change of `kind` takes, anywhere: above every group's and the
    /// default's, so that a node moving between groups never sees a version reused for other
    /// content.
    pub fn next_version(&self, kind: Kind) -> u64 {
        let groups = self.groups.keys().map(|g| self.version_in(kind, Some(g))).max().unwrap_or(0);
        let retired = self.retired_versions.get(kind.short()).copied().unwrap_or(0);
        self.version(kind).max(groups).max(retired) + 1
    }

    /// Removes group `name`, remembering its versions ([`State::retired_versions`]); `false`
    /// if there is none.
    pub fn remove_group(&mut self, name: &str) -> bool {
        let Some(group) = self.groups.remove(name) else { return false };
        for (kind, version) in [
            (Kind::Cds, group.clusters.version),
            (Kind::Eds, group.endpoints.version),
            (Kind::Rds, group.routes.version),
            (Kind::Lds, group.listeners.version),
        ] {
            let retired = self.retired_versions.entry(kind.short().to_string()).or_default();
            *retired = (*retired).max(version);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn versions_grow_with_every_change() {
        let mut state = State::default();
        assert_eq!(state.runtime.put("a", json!({})), 1);
        assert_eq!(state.runtime.put("b", json!({"x": 1})), 2);
        assert_eq!(state.runtime.remove("zz"), None);
        assert_eq!(state.runtime.remove("a"), Some(3));
        assert_eq!(state.version(Kind::Rtds), 3);
        assert_eq!(state.version(Kind::Ecds), 0);
        let all = BTreeSet::new();
        assert_eq!(state.runtime.stamps(&all), vec![("b".to_string(), 2)]);
        let only: BTreeSet<String> = ["a".to_string()].into();
        assert!(state.runtime.stamps(&only).is_empty());
    }

    #[test]
    fn serde_round_trip() {
        let mut state = State::default();
        state.runtime.put("rtds", json!({"a.b": 1}));
        let text = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<State>(&text).unwrap(), state);
        assert!(serde_json::from_str::<State>(r#"{"format": 1}"#).is_err());
    }
}
