//! Node groups: data-plane resources (listeners, routes, clusters, endpoints) served to the
//! nodes a selector picks (by node id, `cluster`, string `metadata` fields), in place of the
//! resources every other node gets. A canary, a region, a tenant: one control plane, several
//! snapshots. Runtime values, filter configs and secrets are not grouped.

use std::collections::BTreeMap;

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::google::protobuf::value::Kind as ValueKind;
use serde::{Deserialize, Serialize};

use super::error::StoreError;
use super::keys;

/// Which nodes a group serves: every field given must match (an empty selector is refused).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSelector {
    /// Node ids, exactly (any of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<String>,
    /// The node's `cluster`, exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// String fields of the node's `metadata`, each exactly.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// Most node ids one selector lists, and most metadata fields it matches.
const MAX_SELECTOR_ENTRIES: usize = 1000;

impl NodeSelector {
    /// Refuses an empty or oversized selector.
    pub fn check(&self, group: &str) -> Result<(), StoreError> {
        let invalid = |reason: &str| StoreError::InvalidResource {
            what: format!("group `{group}`"),
            reason: reason.to_string(),
        };
        if self.ids.is_empty() && self.cluster.is_none() && self.metadata.is_empty() {
            return Err(invalid("`nodes` must select by `ids`, `cluster` or `metadata`"));
        }
        if self.ids.len() > MAX_SELECTOR_ENTRIES || self.metadata.len() > MAX_SELECTOR_ENTRIES {
            return Err(invalid("`nodes` lists at most 1000 ids and 1000 metadata fields"));
        }
        Ok(())
    }

    /// Whether `node` is one of the selected.
    pub fn matches(&self, node: &NodeFacts) -> bool {
        (self.ids.is_empty() || self.ids.contains(&node.id))
            && self.cluster.as_ref().is_none_or(|c| *c == node.cluster)
            && self.metadata.iter().all(|(k, v)| node.metadata.get(k) == Some(v))
    }
}

/// What a selector looks at of a node (from its stream's first request).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeFacts {
    /// Its id.
    pub id: String,
    /// Its `cluster`.
    pub cluster: String,
    /// Its `metadata` fields that are strings.
    pub metadata: BTreeMap<String, String>,
}

impl NodeFacts {
    /// The facts of `node` named `id` (at most 100 metadata fields are kept).
    pub fn of(id: &str, node: Option<&Node>) -> NodeFacts {
        let metadata = node
            .and_then(|n| n.metadata.as_ref())
            .map(|m| {
                m.fields
                    .iter()
                    .filter_map(|(k, v)| match &v.kind {
                        Some(ValueKind::StringValue(s)) => Some((k.clone(), s.clone())),
                        _ => None,
                    })
                    .take(100)
                    .collect()
            })
            .unwrap_or_default();
        NodeFacts {
            id: id.to_string(),
            cluster: node.map(|n| n.cluster.clone()).unwrap_or_default(),
            metadata,
        }
    }
}

/// What a resource file says about its group: `group: {name, nodes: {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// The group's name.
    pub name: String,
    /// Its selector.
    pub nodes: NodeSelector,
}

impl GroupSpec {
    /// Refuses a bad name or selector.
    pub fn check(&self) -> Result<(), StoreError> {
        keys::check_name("group", &self.name)?;
        self.nodes.check(&self.name)
    }
}

/// Most groups one control plane holds.
pub const MAX_GROUPS: usize = 1000;

/// The group serving `node`: the first of `groups` (name and selector, in name order) whose
/// selector matches.
pub fn group_of<'a>(
    mut groups: impl Iterator<Item = (&'a String, &'a NodeSelector)>,
    node: &NodeFacts,
) -> Option<&'a str> {
    groups.find(|(_, nodes)| nodes.matches(node)).map(|(name, _)| name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, cluster: &str, meta: &[(&str, &str)]) -> NodeFacts {
        NodeFacts {
            id: id.into(),
            cluster: cluster.into(),
            metadata: meta.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn every_given_field_must_match_and_the_first_group_by_name_wins() {
        let canary = NodeSelector {
            cluster: Some("web".into()),
            metadata: [("track".into(), "canary".into())].into(),
            ..NodeSelector::default()
        };
        assert!(canary.matches(&node("a", "web", &[("track", "canary"), ("zone", "1")])));
        assert!(!canary.matches(&node("a", "web", &[])));
        assert!(!canary.matches(&node("a", "api", &[("track", "canary")])));
        let pinned = NodeSelector { ids: vec!["a".into()], ..NodeSelector::default() };
        let groups: BTreeMap<String, NodeSelector> =
            [("b-canary".to_string(), canary), ("a-pinned".to_string(), pinned)].into();
        assert_eq!(group_of(groups.iter(), &node("a", "web", &[("track", "canary")])), Some("a-pinned"));
        assert_eq!(group_of(groups.iter(), &node("z", "web", &[("track", "canary")])), Some("b-canary"));
        assert_eq!(group_of(groups.iter(), &node("z", "web", &[])), None);
        assert!(NodeSelector::default().check("g").is_err());
    }
}
