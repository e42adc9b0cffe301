//! The store's node groups: created or updated by a resource file's `group`, listed, removed.

use super::{Change, Store, apply_set};
use crate::envoy_resource::ResourceSet;
use crate::error::StoreError;
use crate::groups::{GroupSpec, MAX_GROUPS, NodeSelector};
use crate::kind::Kind;
use crate::state::{Group, State};

/// The group `spec` names, created if new (within [`MAX_GROUPS`]) and given `spec`'s
/// selector; `true` when that selector is new or changed (its nodes may have moved).
pub(super) fn upsert<'a>(
    state: &'a mut State,
    spec: &GroupSpec,
) -> Result<(&'a mut Group, bool), StoreError> {
    spec.check()?;
    if !state.groups.contains_key(&spec.name) && state.groups.len() >= MAX_GROUPS {
        return Err(StoreError::InvalidResource {
            what: format!("group `{}`", spec.name),
            reason: format!("weir-cp holds at most {MAX_GROUPS} groups"),
        });
    }
    let mut changed = false;
    let group = state.groups.entry(spec.name.clone()).or_insert_with(|| {
        changed = true;
        Group::new(spec.nodes.clone())
    });
    if group.nodes != spec.nodes {
        group.nodes = spec.nodes.clone();
        changed = true;
    }
    Ok((group, changed))
}

/// What [`Store::replace_groups`] did: each given group's name and whether it changed, and
/// the names of the groups removed.
pub type GroupsReplaced = (Vec<(String, bool)>, Vec<String>);

impl Store {
    /// The groups, by name, with their selectors.
    pub fn groups(&self) -> Vec<(String, NodeSelector)> {
        self.state.lock().groups.iter().map(|(name, g)| (name.clone(), g.nodes.clone())).collect()
    }

    /// Makes `sets` the whole of the groups whose names start with `prefix`, in one change:
    /// each given group is created or replaced (every type), and the others of the family
    /// are removed. Returns each given group's name and whether it changed, and the names
    /// removed.
    pub fn replace_groups(
        &self,
        prefix: &str,
        sets: Vec<(GroupSpec, ResourceSet)>,
    ) -> Result<GroupsReplaced, StoreError> {
        let mut applied = Vec::new();
        let mut removed = Vec::new();
        self.modify(|state| {
            let versions = ResourceSet::KINDS.map(|kind| state.next_version(kind));
            let mut any = None;
            // The family's groups not given go first, so a whole swap fits within MAX_GROUPS.
            removed = state
                .groups
                .keys()
                .filter(|n| n.starts_with(prefix) && !sets.iter().any(|(spec, _)| spec.name == **n))
                .cloned()
                .collect();
            for name in &removed {
                state.remove_group(name);
                any = Some(versions[0]);
            }
            for (spec, set) in sets {
                if !spec.name.starts_with(prefix) {
                    return Err(StoreError::InvalidResource {
                        what: format!("group `{}`", spec.name),
                        reason: format!("is not named `{prefix}...`"),
                    });
                }
                let (types, moved) = apply_set(state, set, Some(&spec), versions)?;
                let changed = types.iter().flatten().max().copied().or(moved.then_some(versions[0]));
                applied.push((spec.name, changed.is_some()));
                any = any.max(changed);
            }
            Ok(any)
        })?;
        Ok((applied, removed))
    }

    /// Removes group `name`: its nodes get everyone's resources again.
    pub fn remove_group(&self, name: &str) -> Result<Change, StoreError> {
        let outcome = self.modify(|state| {
            let version = state.next_version(Kind::Cds);
            if !state.remove_group(name) {
                return Err(StoreError::NotFound(format!("group `{name}`")));
            }
            Ok(Some(version))
        })?;
        Ok(self.change(Kind::Cds, outcome))
    }
}
