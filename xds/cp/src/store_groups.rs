//! The store's node groups: created or updated by a resource file's `group`, listed, removed.

use super::{Change, Store};
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

impl Store {
    /// The groups, by name, with their selectors.
    pub fn groups(&self) -> Vec<(String, NodeSelector)> {
        self.state.lock().groups.iter().map(|(name, g)| (name.clone(), g.nodes.clone())).collect()
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
