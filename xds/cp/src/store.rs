//! The store: the served state behind a lock, persisted after every change, with a watch that
//! wakes every xDS stream when something changed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::watch;

use super::ecds::EcdsConfig;
use super::envoy_resource::{
    ClusterResource, EndpointsResource, EnvoyResource, ListenerResource, Named, ResourceSet, RouteResource,
};
use super::error::{StartError, StoreError};
use super::groups::{GroupSpec, NodeFacts};
use super::kind::Kind;
use super::secret::SecretConfig;
use super::state::{Entry, Group, State, TypeState};
use super::{keys, layer, persist};

/// The outcome of a change request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// Whether anything changed (setting a key to its current value changes nothing).
    pub changed: bool,
    /// The type's version after the request.
    pub version: u64,
}

/// How `POST /runtime/{layer}` combines the given object with the layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApplyMode {
    /// The object becomes the layer.
    #[default]
    Replace,
    /// The object's keys are set in the layer, other keys stay.
    Merge,
}

/// The served state. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Store {
    state: Mutex<State>,
    packed: super::pack_cache::PackCache,
    path: Option<PathBuf>,
    /// Every change sends the next generation.
    changes: watch::Sender<Generation>,
}

/// What streams are woken with after a change.
#[derive(Debug, Clone, Copy)]
pub struct Generation {
    /// Bumped by every change.
    pub count: u64,
    /// When the change was made: the start of its push.
    pub made_at: Instant,
}

impl Generation {
    fn first() -> Generation {
        Generation { count: 0, made_at: Instant::now() }
    }
}

impl Store {
    /// A store kept in memory only.
    pub fn in_memory() -> Store {
        Store {
            state: Mutex::new(State::default()),
            packed: Default::default(),
            path: None,
            changes: watch::Sender::new(Generation::first()),
        }
    }

    /// Opens the store: loads `path` if it exists (a corrupt file is an error), then makes sure
    /// the `layers` exist (empty), so proxies subscribing to them get an answer at once.
    pub fn open(path: Option<&Path>, layers: &[String]) -> Result<Store, StartError> {
        let state = match path {
            Some(path) => persist::load(path)?.unwrap_or_default(),
            None => State::default(),
        };
        let store = Store {
            state: Mutex::new(state),
            packed: Default::default(),
            path: path.map(Path::to_path_buf),
            changes: watch::Sender::new(Generation::first()),
        };
        for name in layers {
            keys::check_name("layer", name)?;
            store.modify(|state| {
                if state.runtime.resources.contains_key(name) {
                    return Ok(None);
                }
                Ok(Some(state.runtime.put(name, Value::Object(serde_json::Map::new()))))
            })?;
        }
        if let Some(path) = &store.path {
            persist::save(path, &store.state.lock())
                .map_err(|source| StoreError::Persist { path: path.clone(), source })?;
        }
        Ok(store)
    }

    /// A receiver that sees a new generation after every change.
    pub fn subscribe(&self) -> watch::Receiver<Generation> {
        self.changes.subscribe()
    }

    /// A copy of the whole state.
    pub fn snapshot(&self) -> State {
        self.state.lock().clone()
    }

    /// The current version of a type.
    pub fn version(&self, kind: Kind) -> u64 {
        self.state.lock().version(kind)
    }

    /// Applies `edit` to a copy of the state; when it reports a change (the new version), the
    /// copy is persisted, then becomes the state, then streams are woken.
    fn modify(
        &self,
        edit: impl FnOnce(&mut State) -> Result<Option<u64>, StoreError>,
    ) -> Result<Option<u64>, StoreError> {
        let mut guard = self.state.lock();
        let mut next = guard.clone();
        let Some(version) = edit(&mut next)? else { return Ok(None) };
        if let Some(path) = &self.path {
            persist::save(path, &next)
                .map_err(|source| StoreError::Persist { path: path.clone(), source })?;
        }
        *guard = next;
        drop(guard);
        self.changes.send_modify(|g| *g = Generation { count: g.count + 1, made_at: Instant::now() });
        Ok(Some(version))
    }

    fn change(&self, kind: Kind, outcome: Option<u64>) -> Change {
        match outcome {
            Some(version) => Change { changed: true, version },
            None => Change { changed: false, version: self.version(kind) },
        }
    }

    /// Replaces layer `name` with `value` unless it already holds the same values.
    fn put_layer(
        &self,
        name: &str,
        edit: impl FnOnce(&Value) -> Result<Value, StoreError>,
    ) -> Result<Change, StoreError> {
        keys::check_name("layer", name)?;
        let outcome = self.modify(|state| {
            let empty = Value::Object(serde_json::Map::new());
            let current = state.runtime.resources.get(name).map(|e| &e.value);
            let next = edit(current.unwrap_or(&empty))?;
            if current.is_some_and(|c| layer::same_values(c, &next)) {
                return Ok(None);
            }
            Ok(Some(state.runtime.put(name, next)))
        })?;
        Ok(self.change(Kind::Rtds, outcome))
    }

    /// Sets `key` to `value` in layer `layer` (created if missing). Key and value are checked.
    pub fn set_value(&self, layer: &str, key: &str, value: Value) -> Result<Change, StoreError> {
        self.put_layer(layer, |current| layer::set(current, key, value))
    }

    /// Removes `key` from layer `layer`.
    pub fn unset_value(&self, layer_name: &str, key: &str) -> Result<Change, StoreError> {
        if !self.state.lock().runtime.resources.contains_key(layer_name) {
            return Err(StoreError::NotFound(format!("layer `{layer_name}`")));
        }
        self.put_layer(layer_name, |current| layer::unset(current, key))
    }

    /// Replaces or merges a whole layer. With `checked == false` the layer is stored unchecked
    /// (it may hold lists and nulls): only for testing that clients NACK such layers.
    pub fn apply_layer(
        &self,
        name: &str,
        value: Value,
        mode: ApplyMode,
        checked: bool,
    ) -> Result<Change, StoreError> {
        layer::check_whole(&value, checked)?;
        self.put_layer(name, |current| {
            Ok(match mode {
                ApplyMode::Replace => value,
                ApplyMode::Merge => layer::merge(current, &value),
            })
        })
    }

    /// Removes a whole layer (proxies keep their last copy; see `docs/control-plane.md`).
    pub fn delete_layer(&self, name: &str) -> Result<Change, StoreError> {
        let outcome = self.modify(|state| {
            state
                .runtime
                .remove(name)
                .map(Some)
                .ok_or_else(|| StoreError::NotFound(format!("layer `{name}`")))
        })?;
        Ok(self.change(Kind::Rtds, outcome))
    }

    /// Creates or replaces ECDS resource `name`.
    pub fn put_ecds(&self, name: &str, config: EcdsConfig) -> Result<Change, StoreError> {
        config.check(name)?;
        let outcome = self.modify(|state| {
            if state.ecds.resources.get(name).is_some_and(|e| e.value == config) {
                return Ok(None);
            }
            Ok(Some(state.ecds.put(name, config)))
        })?;
        Ok(self.change(Kind::Ecds, outcome))
    }

    /// Removes ECDS resource `name`.
    pub fn delete_ecds(&self, name: &str) -> Result<Change, StoreError> {
        let outcome = self.modify(|state| {
            state
                .ecds
                .remove(name)
                .map(Some)
                .ok_or_else(|| StoreError::NotFound(format!("ECDS resource `{name}`")))
        })?;
        Ok(self.change(Kind::Ecds, outcome))
    }

    /// Creates or replaces SDS secret `name`. With `checked == false` it is stored unchecked
    /// (a key that does not match, bad PEM): only for testing that proxies NACK such secrets.
    pub fn put_secret(&self, name: &str, secret: SecretConfig, checked: bool) -> Result<Change, StoreError> {
        match checked {
            true => secret.check(name)?,
            false => secret.check_shape(name).map(|_| ())?,
        }
        let outcome = self.modify(|state| {
            if state.secrets.resources.get(name).is_some_and(|e| e.value == secret) {
                return Ok(None);
            }
            Ok(Some(state.secrets.put(name, secret)))
        })?;
        Ok(self.change(Kind::Sds, outcome))
    }

    /// Removes SDS secret `name` (proxies keep their last copy, as Envoy does).
    pub fn delete_secret(&self, name: &str) -> Result<Change, StoreError> {
        let outcome = self.modify(|state| {
            state
                .secrets
                .remove(name)
                .map(Some)
                .ok_or_else(|| StoreError::NotFound(format!("secret `{name}`")))
        })?;
        Ok(self.change(Kind::Sds, outcome))
    }

    /// Replaces every type of `set` given (`None`: that type stays): what `weir-cp apply -f`
    /// sends. With `group`, the group's resources are replaced (the group is created, or its
    /// selector updated) instead of everyone's. Names must be unique; one new version per type
    /// changed. Returns the change of each type, in [`ResourceSet::KINDS`] order.
    pub fn apply_resources(
        &self,
        set: ResourceSet,
        group: Option<GroupSpec>,
    ) -> Result<Vec<Change>, StoreError> {
        let mut changed = [None; ResourceSet::KINDS.len()];
        self.modify(|state| {
            let versions = ResourceSet::KINDS.map(|kind| state.next_version(kind));
            let (types, moved) = apply_set(state, set, group.as_ref(), versions)?;
            changed = types;
            let any = changed.iter().flatten().max().copied();
            Ok(any.or(moved.then_some(versions[0])))
        })?;
        let name = group.as_ref().map(|g| g.name.as_str());
        Ok(ResourceSet::KINDS
            .into_iter()
            .zip(changed)
            .map(|(kind, c)| match c {
                Some(version) => Change { changed: true, version },
                None => Change { changed: false, version: self.state.lock().version_in(kind, name) },
            })
            .collect())
    }

    /// The node group serving `node`, if any (see [`crate::groups`]).
    pub fn group_of(&self, node: &NodeFacts) -> Option<String> {
        let state = self.state.lock();
        crate::groups::group_of(state.groups.iter().map(|(name, g)| (name, &g.nodes)), node)
            .map(str::to_string)
    }

    /// The store's generation: bumped by every change.
    pub fn generation(&self) -> u64 {
        self.changes.borrow().count
    }
}

/// Versions of a change to the data-plane types, in [`ResourceSet::KINDS`] order.
type Versions = [u64; ResourceSet::KINDS.len()];

/// Replaces the types `set` gives, everyone's or `group`'s (created, or its selector updated),
/// with `versions`: each type's new version if it changed, and whether the group's selector
/// changed (its nodes may have moved).
fn apply_set(
    state: &mut State,
    set: ResourceSet,
    group: Option<&GroupSpec>,
    versions: Versions,
) -> Result<([Option<u64>; ResourceSet::KINDS.len()], bool), StoreError> {
    let (tables, moved) = match group {
        None => (DataPlane::of(state), false),
        Some(spec) => {
            let (group, selector_changed) = groups::upsert(state, spec)?;
            (DataPlane::of_group(group), selector_changed)
        }
    };
    let ResourceSet { clusters, endpoints, routes, listeners } = set;
    let changed = [
        clusters.map(|c| replace_all(tables.clusters, c, "cluster", versions[0])).transpose()?.flatten(),
        endpoints.map(|e| replace_all(tables.endpoints, e, "endpoints", versions[1])).transpose()?.flatten(),
        routes
            .map(|r| replace_all(tables.routes, r, "route configuration", versions[2]))
            .transpose()?
            .flatten(),
        listeners.map(|l| replace_all(tables.listeners, l, "listener", versions[3])).transpose()?.flatten(),
    ];
    Ok((changed, moved))
}

/// The data-plane tables a change goes to: everyone's, or a group's.
struct DataPlane<'a> {
    clusters: &'a mut TypeState<ClusterResource>,
    endpoints: &'a mut TypeState<EndpointsResource>,
    routes: &'a mut TypeState<RouteResource>,
    listeners: &'a mut TypeState<ListenerResource>,
}

impl DataPlane<'_> {
    fn of(state: &mut State) -> DataPlane<'_> {
        DataPlane {
            clusters: &mut state.clusters,
            endpoints: &mut state.endpoints,
            routes: &mut state.routes,
            listeners: &mut state.listeners,
        }
    }

    fn of_group(group: &mut Group) -> DataPlane<'_> {
        DataPlane {
            clusters: &mut group.clusters,
            endpoints: &mut group.endpoints,
            routes: &mut group.routes,
            listeners: &mut group.listeners,
        }
    }
}

/// Makes `resources` the whole of `table`: changed ones get a new version, missing ones are
/// removed; `None` when nothing changed.
fn replace_all<M: Named>(
    table: &mut TypeState<EnvoyResource<M>>,
    resources: Vec<EnvoyResource<M>>,
    what: &'static str,
    version: u64,
) -> Result<Option<u64>, StoreError> {
    let mut seen = BTreeSet::new();
    for r in &resources {
        keys::check_name(what, r.name())?;
        if !seen.insert(r.name().to_string()) {
            let reason = format!("`{}` is given twice", r.name());
            return Err(StoreError::InvalidResource { what: what.to_string(), reason });
        }
    }
    // One new version for the whole change (`version`: above every group's, see
    // `State::next_version`).
    let mut changed: Vec<String> = table.resources.keys().filter(|n| !seen.contains(*n)).cloned().collect();
    for name in &changed {
        table.resources.remove(name);
    }
    for r in resources {
        if table.resources.get(r.name()).is_none_or(|e| e.value != r) {
            changed.push(r.name().to_string());
            table.resources.insert(r.name().to_string(), Entry { version, value: r });
        }
    }
    Ok((!changed.is_empty()).then(|| table.moved(version, changed)))
}

#[path = "store_groups.rs"]
mod groups;

#[path = "store_select.rs"]
mod select;
pub use select::Selection;

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
