//! A TCP listener's proxy settings (Envoy's `envoy.filters.network.tcp_proxy`): where its
//! connections go, and how long one may stay silent.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{WeightedClusters, duration};

/// Proxies each connection of a listener, byte for byte, to one endpoint of a cluster.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TcpProxyConfig {
    /// The upstream cluster (exclusive with `weighted_clusters`). A network filter may pick
    /// another one per connection with Envoy's `envoy.tcp_proxy.cluster` filter state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Clusters chosen per connection at random by weight (exclusive with `cluster`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weighted_clusters: Option<WeightedClusters>,
    /// Time a connection may carry no data either way; both sides are then closed. `0s`
    /// disables it. Default 1h (Envoy's).
    #[serde(default = "default_idle_timeout", with = "duration")]
    pub idle_timeout: Duration,
}

fn default_idle_timeout() -> Duration {
    Duration::from_secs(3600)
}

impl TcpProxyConfig {
    /// The cluster a new connection goes to (by weight when weighted), unless a filter picks
    /// one.
    pub fn pick(&self) -> Option<&str> {
        if let Some(cluster) = &self.cluster {
            return Some(cluster);
        }
        let clusters = &self.weighted_clusters.as_ref()?.clusters;
        let total: u64 = clusters.iter().map(|c| u64::from(c.weight)).sum();
        let mut draw = fastrand::u64(..total.max(1));
        for c in clusters {
            if draw < u64::from(c.weight) {
                return Some(&c.name);
            }
            draw -= u64::from(c.weight);
        }
        None
    }
}

/// Checks a TCP listener (`listeners[i]` at `at`): a cluster to go to, known network filters,
/// and none of the HTTP listener's settings.
pub(super) fn check(
    config: &super::Config,
    listener: &super::ListenerConfig,
    tcp: &TcpProxyConfig,
    at: &str,
) -> Result<(), super::ConfigError> {
    use super::ConfigError;
    use super::references::{check_filters, check_weighted, known_cluster};
    let http = [
        ("http_filters", !listener.http_filters.is_empty()),
        ("virtual_hosts", !listener.virtual_hosts.is_empty()),
        ("rds", listener.rds.is_some()),
        ("tls", listener.tls.is_some()),
        ("upgrade_types", !listener.upgrade_types.is_empty()),
    ];
    if let Some((field, _)) = http.iter().find(|(_, set)| *set) {
        let why = match *field {
            "tls" => "not supported on a `tcp_proxy` listener yet",
            _ => "an HTTP setting: a `tcp_proxy` listener has none",
        };
        return Err(ConfigError::invalid(format!("{at}.{field}"), why));
    }
    check_filters(config, &listener.network_filters, &format!("{at}.network_filters"))?;
    let at = format!("{at}.tcp_proxy");
    match (&tcp.cluster, &tcp.weighted_clusters) {
        (Some(cluster), None) if !known_cluster(config, cluster) => Err(ConfigError::invalid(
            format!("{at}.cluster"),
            format!("unknown cluster `{cluster}` (not in `clusters`)"),
        )),
        (Some(_), None) => Ok(()),
        (None, Some(weighted)) => check_weighted(config, weighted, &format!("{at}.weighted_clusters")),
        _ => Err(ConfigError::invalid(at, "exactly one of `cluster` and `weighted_clusters` is required")),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    const TCP: &str = r#"
listeners:
  - name: tcp
    address: 127.0.0.1:0
    network_filters: [p]
    tcp_proxy: { cluster: up, idle_timeout: 10s }
clusters:
  - { name: up, endpoints: [127.0.0.1:8080] }
  - { name: other, endpoints: [127.0.0.1:8081] }
plugins:
  - { name: p, wasm: /nonexistent.wasm }
"#;

    fn error(yaml: &str) -> String {
        Config::parse(yaml, "test").unwrap_err().to_string()
    }

    #[test]
    fn a_tcp_listener_needs_a_known_cluster_and_no_http_settings() {
        let config = Config::parse(TCP, "test").unwrap();
        assert_eq!(config.listeners[0].tcp_proxy.as_ref().unwrap().pick(), Some("up"));
        let e = error(&TCP.replace("cluster: up,", "cluster: gone,"));
        assert!(e.contains("listeners[0].tcp_proxy.cluster: unknown cluster `gone`"), "{e}");
        let e = error(&TCP.replace("network_filters: [p]", "network_filters: [q]"));
        assert!(e.contains("listeners[0].network_filters[0]: unknown plugin `q`"), "{e}");
        let e = error(&TCP.replace("network_filters: [p]", "http_filters: [p]"));
        assert!(e.contains("listeners[0].http_filters: an HTTP setting"), "{e}");
        let e = error(&TCP.replace("cluster: up,", "cluster: up, weighted_clusters: { clusters: [] },"));
        assert!(e.contains("exactly one of `cluster` and `weighted_clusters`"), "{e}");
        let http = TCP.replace("tcp_proxy: { cluster: up, idle_timeout: 10s }", "virtual_hosts: []");
        assert!(error(&http).contains("listeners[0].network_filters: only a `tcp_proxy` listener"));
    }

    #[test]
    fn weighted_clusters_are_drawn_by_weight() {
        let weighted = TCP.replace(
            "cluster: up,",
            "weighted_clusters: { clusters: [{ name: up, weight: 1 }, { name: other, weight: 3 }] },",
        );
        let config = Config::parse(&weighted, "test").unwrap();
        let proxy = config.listeners[0].tcp_proxy.as_ref().unwrap();
        let other = (0..4000).filter(|_| proxy.pick() == Some("other")).count();
        // 3000 expected; 6 standard deviations (~165) either way.
        assert!((2835..=3165).contains(&other), "{other} of 4000");
    }
}
