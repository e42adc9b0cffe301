//! The process's clusters for one configuration. Clusters whose config did not change across a
//! reload keep their state (endpoint health, DNS results, breaker counts).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use super::endpoint::Resolved;
use super::state::ClusterState;
use crate::config::{ClusterConfig, EndpointConfig};
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
                let state = ClusterState::new(
                    config.clone(),
                    resolve(&config.endpoints, config.logical_dns),
                    stats.clone(),
                );
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

/// Resolves endpoints (`ip:port` or `host:port`), keeping order and dropping duplicates;
/// names that fail are logged and skipped. Each address keeps the hostname it came from and
/// its weight. With `first_only` (Envoy's LOGICAL_DNS) a hostname gives its first address
/// alone, else every address (STRICT_DNS).
pub fn resolve(endpoints: &[EndpointConfig], first_only: bool) -> Vec<Resolved> {
    let mut out: Vec<Resolved> = Vec::new();
    for config in endpoints {
        let (endpoint, weight, priority) = (config.address(), config.weight(), config.priority());
        let host = endpoint
            .rsplit_once(':')
            .map(|(host, _)| host.trim_start_matches('[').trim_end_matches(']'))
            .filter(|host| host.parse::<IpAddr>().is_err())
            .map(Arc::<str>::from);
        match endpoint.to_socket_addrs() {
            Ok(addrs) => add(&mut out, addrs, host, (weight, priority), first_only),
            Err(e) => tracing::warn!(endpoint = %endpoint, "cannot resolve endpoint: {e}"),
        }
    }
    out
}

/// Adds the addresses a name resolved to (its first alone with `first_only`), each with the
/// name's weight and priority, skipping those already known.
fn add(
    out: &mut Vec<Resolved>,
    addrs: impl Iterator<Item = SocketAddr>,
    host: Option<Arc<str>>,
    (weight, priority): (u32, u32),
    first_only: bool,
) {
    for addr in addrs.take(if first_only { 1 } else { usize::MAX }) {
        if !out.iter().any(|known| known.addr == addr) {
            out.push(Resolved { addr, host: host.clone(), weight, priority });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_dns_takes_a_name_s_first_address_strict_dns_every_one() {
        let addrs: Vec<SocketAddr> = vec!["10.0.0.1:80".parse().unwrap(), "10.0.0.2:80".parse().unwrap()];
        let host = Some(Arc::<str>::from("backend"));
        let (mut strict, mut logical) = (Vec::new(), Vec::new());
        add(&mut strict, addrs.iter().copied(), host.clone(), (2, 0), false);
        add(&mut logical, addrs.iter().copied(), host, (2, 0), true);
        assert_eq!(strict.len(), 2);
        assert_eq!(
            logical,
            [Resolved { addr: addrs[0], host: Some(Arc::from("backend")), weight: 2, priority: 0 }]
        );
        assert_eq!(resolve(&["localhost:80".into()], true).len(), 1);
    }
}
