//! The live subscriptions of a client: those it starts with, changed as applied updates ask
//! ([`super::Applied`]: the EDS names a CDS update brings, say). Kept across reconnects.

use super::{Shared, Subscription};

/// Most resources a wildcard subscription takes (a control plane sending more is NACKed).
pub const MAX_WILDCARD_RESOURCES: usize = 10_000;

/// One subscription changed: its names before (`None`: new type) and now.
#[derive(Debug, Clone)]
pub(super) struct Change {
    pub type_url: String,
    pub before: Option<Vec<String>>,
    pub names: Vec<String>,
}

/// The current subscriptions.
#[derive(Debug, Clone)]
pub(super) struct Subscriptions(Vec<Subscription>);

impl Subscriptions {
    pub fn new(initial: &[Subscription]) -> Subscriptions {
        Subscriptions(initial.to_vec())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Subscription> {
        self.0.iter()
    }

    /// The names subscribed for `type_url`; `None` when not subscribed.
    pub fn names(&self, type_url: &str) -> Option<&[String]> {
        self.0.iter().find(|s| s.type_url == type_url).map(|s| s.resource_names.as_slice())
    }

    /// Whether a resource called `name` may be taken for `type_url`.
    pub fn takes(&self, type_url: &str, name: &str) -> bool {
        match self.names(type_url) {
            Some([]) => crate::types::wildcard(type_url),
            Some(names) => names.iter().any(|n| n == name),
            None => false,
        }
    }

    /// Sets the given subscriptions (each replaces its type's names); returns what changed,
    /// recorded in the status too.
    pub fn set(&mut self, next: Vec<Subscription>, shared: &Shared) -> Vec<Change> {
        let mut changes = Vec::new();
        for sub in next {
            let before = self.names(&sub.type_url).map(<[String]>::to_vec);
            // Unchanged, or a new non-wildcard type with nothing to ask for.
            let nothing_new =
                before.is_none() && sub.resource_names.is_empty() && !crate::types::wildcard(&sub.type_url);
            if before.as_deref() == Some(&sub.resource_names) || nothing_new {
                continue;
            }
            match self.0.iter_mut().find(|s| s.type_url == sub.type_url) {
                Some(s) => s.resource_names = sub.resource_names.clone(),
                None => self.0.push(sub.clone()),
            }
            changes.push(Change { type_url: sub.type_url, before, names: sub.resource_names });
        }
        if !changes.is_empty() {
            shared.update(|s| {
                for c in &changes {
                    s.types.entry(c.type_url.clone()).or_default().resource_names = c.names.clone();
                }
            });
        }
        changes
    }
}
