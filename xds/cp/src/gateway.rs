//! weir-cp as a Gateway API controller: manifests are translated ([`weir_gateway`]) and each
//! Gateway of weir-cp's is served, as node group `gateway:NAMESPACE:NAME`, to the nodes whose
//! `cluster` is `NAMESPACE/NAME` (one proxy fleet per Gateway, as Envoy Gateway deploys them).
//! Every apply replaces all Gateways: groups of Gateways no longer given are removed. The
//! status of the last apply is kept for `GET /gateway/status`.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;
use serde_json::Value;
use weir_gateway::{GatewayResources, Key, Manifests, Status, translate};

use crate::envoy_resource::{EnvoyResource, Named, ResourceSet};
use crate::error::StoreError;
use crate::groups::{GroupSpec, NodeSelector};
use crate::store::Store;

/// The prefix of the node groups weir-cp makes for Gateways.
pub const GROUP_PREFIX: &str = "gateway:";

/// The status of the last apply (`None` before the first), and why the latest attempt was
/// refused, if it was.
#[derive(Debug, Default)]
pub struct GatewayState {
    last: Mutex<Option<Arc<Status>>>,
    refused: Mutex<Option<String>>,
    /// Held through an apply, so two (the admin API's, the directory watch's) cannot
    /// interleave and the status always matches what is served.
    applying: Mutex<()>,
}

impl GatewayState {
    /// The status of the last apply.
    pub fn status(&self) -> Option<Arc<Status>> {
        self.last.lock().clone()
    }

    /// Why the latest apply was refused (`None` once one succeeds).
    pub fn last_refused(&self) -> Option<String> {
        self.refused.lock().clone()
    }

    /// Records that an apply was refused, and why.
    pub fn refused(&self, reason: String) {
        *self.refused.lock() = Some(reason);
    }
}

/// Why manifests were refused (nothing applied).
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A manifest is not valid.
    #[error("{0}")]
    Manifest(#[from] weir_gateway::ManifestError),
    /// A translated resource is not valid Envoy (too large, most likely).
    #[error("Gateway {gateway}: {what}: {reason}")]
    Resource {
        /// The Gateway.
        gateway: String,
        /// `routes[0]`.
        what: String,
        /// Why.
        reason: String,
    },
    /// The store refused the change.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an apply did.
#[derive(Debug, Serialize)]
pub struct Applied {
    /// Per Gateway (`namespace/name`): its group, the nodes it serves, whether it changed.
    pub gateways: BTreeMap<String, AppliedGateway>,
    /// Groups removed (their Gateways are gone).
    pub removed: Vec<String>,
    /// The status of every object of weir-cp's.
    pub status: Arc<Status>,
}

/// One Gateway's apply.
#[derive(Debug, Serialize)]
pub struct AppliedGateway {
    /// Its node group.
    pub group: String,
    /// The node `cluster` its proxies run with.
    pub node_cluster: String,
    /// Whether what it serves changed.
    pub changed: bool,
}

/// Largest set of manifests, in bytes (the body `POST /gateway/apply` takes).
pub const MAX_MANIFESTS: usize = 8 << 20;

/// The manifests of `path`: the file, or every `.yaml`, `.yml` and `.json` file of the
/// directory (not its subdirectories), in name order, as one text of YAML documents. Errors
/// name the file.
pub fn read_manifests(path: &std::path::Path) -> Result<String, (std::path::PathBuf, String)> {
    let files = match path.is_dir() {
        false => vec![path.to_path_buf()],
        true => {
            let entries = std::fs::read_dir(path).map_err(|e| (path.to_path_buf(), e.to_string()))?;
            let mut files: Vec<std::path::PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
                })
                .collect();
            files.sort();
            files
        }
    };
    let mut text = String::new();
    let too_large = || (path.to_path_buf(), format!("more than {MAX_MANIFESTS} bytes of manifests"));
    for file in files {
        let size = std::fs::metadata(&file).map_err(|e| (file.clone(), e.to_string()))?.len();
        if text.len() as u64 + size > MAX_MANIFESTS as u64 {
            return Err(too_large());
        }
        let content = std::fs::read_to_string(&file).map_err(|e| (file.clone(), e.to_string()))?;
        // `---` on its own line: the next file starts a new document.
        text.push_str(&format!("\n---\n# {}\n", file.display()));
        text.push_str(&content);
        if text.len() > MAX_MANIFESTS {
            return Err(too_large());
        }
    }
    Ok(text)
}

/// The node group serving Gateway `key`.
pub fn group_for(key: &Key) -> GroupSpec {
    GroupSpec {
        name: format!("{GROUP_PREFIX}{}", key.id()),
        nodes: NodeSelector { cluster: Some(key.to_string()), ..NodeSelector::default() },
    }
}

/// Translates `text` (YAML or JSON manifests) and serves the result; keeps the status.
pub fn apply(store: &Store, state: &GatewayState, text: &str) -> Result<Applied, GatewayError> {
    let _one_at_a_time = state.applying.lock();
    let manifests = Manifests::parse(text)?;
    let translation = translate(&manifests);
    let mut sets = Vec::new();
    let mut gateways = BTreeMap::new();
    for g in translation.gateways {
        let spec = group_for(&g.key);
        gateways.insert(
            g.key.to_string(),
            AppliedGateway { group: spec.name.clone(), node_cluster: g.key.to_string(), changed: false },
        );
        sets.push((spec, resource_set(g)?));
    }
    let (applied, removed) = store.replace_groups(GROUP_PREFIX, sets)?;
    for (name, changed) in applied {
        if let Some(g) = gateways.values_mut().find(|g| g.group == name) {
            g.changed = changed;
        }
    }
    let status = Arc::new(translation.status);
    *state.last.lock() = Some(status.clone());
    *state.refused.lock() = None;
    Ok(Applied { gateways, removed, status })
}

/// A Gateway's resources checked against Envoy's protos.
fn resource_set(g: GatewayResources) -> Result<ResourceSet, GatewayError> {
    let gateway = g.key.to_string();
    Ok(ResourceSet {
        clusters: Some(parse(&gateway, "clusters", g.clusters)?),
        endpoints: Some(parse(&gateway, "endpoints", g.endpoints)?),
        routes: Some(parse(&gateway, "routes", g.routes)?),
        listeners: Some(parse(&gateway, "listeners", g.listeners)?),
    })
}

fn parse<M: Named>(
    gateway: &str,
    what: &str,
    values: Vec<Value>,
) -> Result<Vec<EnvoyResource<M>>, GatewayError> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            EnvoyResource::parse(v).map_err(|e| GatewayError::Resource {
                gateway: gateway.to_string(),
                what: format!("{what}[{i}]{}{}", if e.path.is_empty() { "" } else { "." }, e.path),
                reason: e.reason,
            })
        })
        .collect()
}

#[cfg(test)]
#[path = "gateway_tests.rs"]
mod tests;
