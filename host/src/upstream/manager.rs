//! The process's clusters for one configuration. Clusters whose config did not change across a
//! reload keep their state (endpoint health, DNS results, breaker counts).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use super::endpoint::Resolved;
use super::state::ClusterState;
use crate::config::ClusterConfig;
use crate::stats::Stats;

/// Every cluster of a configuration.
#[derive(Debug, Default)]
pub struct ClusterManager {
    clusters: HashMap<String, Arc<ClusterState>>,
}

impl ClusterManager {
    /// Builds the clusters, reusing unchanged ones from `previous` (with their TLS built
    /// again from its files). Hostnames are resolved now
    /// (a name that does not resolve leaves the cluster without those endpoints until the next
    /// DNS refresh).
    pub fn build(
        configs: &[ClusterConfig],
        previous: Option<&ClusterManager>,
        stats: &Arc<Stats>,
    ) -> ClusterManager {
        let mut clusters = HashMap::new();
        for config in configs {
            let reused =
                previous.and_then(|p| p.clusters.get(&config.name)).filter(|c| c.config == *config).cloned();
            let state = reused.unwrap_or_else(|| {
                let state = ClusterState::new(config.clone(), resolve(&config.endpoints), stats.clone());
                super::cluster_tls::spawn_watcher(&state);
                state
            });
            // Each generation reads the TLS files again (a reload picks up rotated ones).
            state.load_tls();
            clusters.insert(config.name.clone(), state);
        }
        ClusterManager { clusters }
    }

    /// A cluster by name.
    pub fn get(&self, name: &str) -> Option<&Arc<ClusterState>> {
        self.clusters.get(name)
    }

    /// Every cluster.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<ClusterState>> {
        self.clusters.values()
    }
}

/// Whether an endpoint string needs DNS.
pub fn needs_dns(endpoint: &str) -> bool {
    endpoint.parse::<SocketAddr>().is_err()
}

/// Resolves endpoint strings (`ip:port` or `host:port`), keeping order and dropping
/// duplicates; names that fail are logged and skipped. Each address keeps the hostname it
/// came from.
pub fn resolve(endpoints: &[String]) -> Vec<Resolved> {
    let mut out: Vec<Resolved> = Vec::new();
    for endpoint in endpoints {
        let host = endpoint
            .rsplit_once(':')
            .map(|(host, _)| host.trim_start_matches('[').trim_end_matches(']'))
            .filter(|host| host.parse::<IpAddr>().is_err())
            .map(Arc::<str>::from);
        match endpoint.to_socket_addrs() {
            Ok(addrs) => {
                for addr in addrs {
                    if !out.iter().any(|(known, _)| *known == addr) {
                        out.push((addr, host.clone()));
                    }
                }
            }
            Err(e) => tracing::warn!(endpoint = %endpoint, "cannot resolve endpoint: {e}"),
        }
    }
    out
}
