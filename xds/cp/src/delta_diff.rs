//! What a delta response for one subscription carries: the names to send (the client does not
//! hold their current version) and the names to remove (gone, or subscribed and absent). Either
//! from every selected resource, or (after a change, when the store's log reaches back to the
//! last response) from the names changed since alone: then a push costs a stream what changed,
//! not what it subscribes to.

use std::collections::BTreeSet;

use super::{Subscription, same_version};
use crate::kind::Kind;
use crate::store::Store;

/// See the module.
#[derive(Debug, Default)]
pub(super) struct Diff {
    /// The type's version it was computed at.
    pub version: u64,
    /// Resources to send.
    pub send: BTreeSet<String>,
    /// Names to remove: held and gone, or subscribed, absent and not yet told so.
    pub removed: Vec<String>,
}

/// A wildcard subscription's names: none, which selects every resource.
static EVERY: BTreeSet<String> = BTreeSet::new();

impl Subscription {
    /// The names the store selects by ([`Kind::selects`]).
    fn selection(&self) -> &BTreeSet<String> {
        if self.wildcard { &EVERY } else { &self.names }
    }

    /// The diff from the names changed since `version` alone; `None` when the store cannot
    /// say which those are. Updates what the client holds for the names it removes.
    pub(super) fn diff_since(
        &mut self,
        store: &Store,
        kind: Kind,
        group: Option<&str>,
        version: u64,
    ) -> Option<Diff> {
        let (now, changed) = store.changed_since(kind, group, version)?;
        let mut diff = Diff { version: now, ..Diff::default() };
        for (name, stamp) in changed {
            if !kind.selects(self.selection(), &name) {
                continue;
            }
            match stamp {
                Some(stamp) => {
                    if !self.held.get(&name).is_some_and(|held| same_version(held, stamp)) {
                        diff.send.insert(name);
                    }
                }
                None => {
                    // Removed from the client once: when it held it, or else when it asked for it.
                    let held = self.held.remove(&name).is_some();
                    let untold = self.names.contains(&name) && self.told_absent.insert(name.clone());
                    if held || untold {
                        diff.removed.push(name);
                    }
                }
            }
        }
        Some(diff)
    }

    /// The diff from every selected resource. Updates what the client holds for the names it
    /// removes.
    pub(super) fn diff_all(&mut self, store: &Store, kind: Kind, group: Option<&str>) -> Diff {
        let (version, stamps) = store.stamps(kind, self.selection(), group);
        let send = stamps
            .iter()
            .filter(|(name, stamp)| !self.held.get(name).is_some_and(|held| same_version(held, *stamp)))
            .map(|(name, _)| name.clone())
            .collect();
        let present = |name: &str| stamps.binary_search_by(|(n, _)| n.as_str().cmp(name)).is_ok();
        let gone: Vec<String> = self.held.keys().filter(|n| !present(n)).cloned().collect();
        let absent: Vec<String> = self
            .names
            .iter()
            .filter(|n| !present(n) && !self.told_absent.contains(*n) && !self.held.contains_key(*n))
            .cloned()
            .collect();
        for name in &gone {
            self.held.remove(name);
            if self.names.contains(name) {
                self.told_absent.insert(name.clone());
            }
        }
        self.told_absent.extend(absent.iter().cloned());
        Diff { version, send, removed: gone.into_iter().chain(absent).collect() }
    }
}
