//! Cluster configuration: endpoints, load balancing, health checking, outlier detection,
//! circuit breakers and TLS.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use weir_tls::UpstreamTls;

use super::duration;

/// An upstream cluster.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Unique name, referred to by routes and by plugins' HTTP/gRPC callouts.
    pub name: String,
    /// Endpoints as `ip:port` or `hostname:port`, or `{address, weight}`. Hostnames are
    /// resolved at start and every `dns_refresh_rate` (Envoy's STRICT_DNS: every address
    /// becomes an endpoint, with the weight of its name).
    pub endpoints: Vec<EndpointConfig>,
    /// TCP connect timeout (Envoy default 5s).
    #[serde(default = "default_connect_timeout", with = "duration")]
    pub connect_timeout: Duration,
    /// Speak HTTP/2 with prior knowledge (h2c) to the endpoints; needed for gRPC.
    #[serde(default)]
    pub http2: bool,
    /// HTTP/2 PINGs on the cluster's HTTP/2 connections (Envoy's `http2_protocol_options.
    /// connection_keepalive`): a connection whose peer does not answer within `timeout` is
    /// closed, so a vanished endpoint (or control plane) is noticed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http2_keepalive: Option<Http2Keepalive>,
    /// How to pick an endpoint.
    #[serde(default)]
    pub lb_policy: LbPolicy,
    /// A hostname endpoint is its first resolved address alone (Envoy's LOGICAL_DNS: one
    /// target that follows DNS, as for a name behind a DNS load balancer), not every address
    /// (STRICT_DNS, the default).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub logical_dns: bool,
    /// How often hostnames are resolved again.
    #[serde(default = "default_dns_refresh", with = "duration")]
    pub dns_refresh_rate: Duration,
    /// Active HTTP health checking.
    #[serde(default)]
    pub health_check: Option<HealthCheck>,
    /// A priority level with fewer healthy endpoints than this percentage balances over all
    /// its endpoints, healthy or not (Envoy's `healthy_panic_threshold`, default 50; 0
    /// disables panic: requests then fail with 503 when no endpoint is healthy).
    #[serde(default = "default_panic_threshold")]
    pub healthy_panic_threshold: f64,
    /// Passive ejection of failing endpoints.
    #[serde(default)]
    pub outlier_detection: Option<OutlierDetection>,
    /// Limits that refuse requests (503) instead of queueing without bound.
    #[serde(default)]
    pub circuit_breakers: CircuitBreakers,
    /// Not reachable through a route's `cluster_header` (a client that may set that header
    /// cannot send its requests here): for clusters only plugins' callouts (a JWKS server, a
    /// rate-limit service) or named routes use. The cluster of `xds.cluster` always is.
    #[serde(default)]
    pub internal: bool,
    /// TLS to the endpoints (Envoy's `UpstreamTlsContext`); omit for cleartext. The server's
    /// certificate is always verified (`docs/config.md`, "Upstream TLS").
    #[serde(default)]
    pub tls: Option<UpstreamTls>,
    /// HTTP/1.1 options towards the endpoints (Envoy's `http_protocol_options`).
    #[serde(default)]
    pub http_protocol_options: super::Http1Options,
    /// Metadata filters read as `xds.cluster_metadata` (Envoy's cluster `metadata`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<super::Metadata>,
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_panic_threshold() -> f64 {
    50.0
}

fn default_dns_refresh() -> Duration {
    Duration::from_secs(5)
}

/// One endpoint: `ip:port` or `hostname:port`, with its load-balancing weight (Envoy's
/// `load_balancing_weight`, default 1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum EndpointConfig {
    /// `"ip:port"`: weight 1.
    Address(String),
    /// `{address: "ip:port", weight: 3, priority: 1}`.
    Weighted {
        /// `ip:port` or `hostname:port`.
        address: String,
        /// Its share of the requests relative to the other endpoints' of its priority (1 to
        /// 128; default 1).
        #[serde(default = "one")]
        weight: u32,
        /// Its priority level (Envoy's `LocalityLbEndpoints.priority`, 0 to 31; default 0):
        /// a level gets requests as the levels before it lose healthy endpoints
        /// (`docs/config.md`, "Priority levels").
        #[serde(default, skip_serializing_if = "is_zero")]
        priority: u32,
    },
}

fn one() -> u32 {
    1
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Highest endpoint priority level (Envoy's have no limit; weir keeps a round-robin position
/// per level).
pub const MAX_PRIORITY: u32 = 31;

/// Highest endpoint weight (round robin cycles through the sum of the weights).
pub const MAX_ENDPOINT_WEIGHT: u32 = 128;

impl EndpointConfig {
    /// `address` with `weight` and `priority` (written as a plain address when they are 1
    /// and 0).
    pub fn new(address: String, weight: u32, priority: u32) -> EndpointConfig {
        if weight == 1 && priority == 0 {
            EndpointConfig::Address(address)
        } else {
            EndpointConfig::Weighted { address, weight, priority }
        }
    }

    /// The priority level.
    pub fn priority(&self) -> u32 {
        match self {
            EndpointConfig::Address(_) => 0,
            EndpointConfig::Weighted { priority, .. } => *priority,
        }
    }

    /// `ip:port` or `hostname:port`.
    pub fn address(&self) -> &str {
        match self {
            EndpointConfig::Address(a) | EndpointConfig::Weighted { address: a, .. } => a,
        }
    }

    /// The load-balancing weight.
    pub fn weight(&self) -> u32 {
        match self {
            EndpointConfig::Address(_) => 1,
            EndpointConfig::Weighted { weight, .. } => *weight,
        }
    }
}

impl From<&str> for EndpointConfig {
    fn from(address: &str) -> EndpointConfig {
        EndpointConfig::Address(address.to_string())
    }
}

impl PartialEq<&str> for EndpointConfig {
    fn eq(&self, other: &&str) -> bool {
        self.weight() == 1 && self.address() == *other
    }
}

impl ClusterConfig {
    /// A cluster with defaults for everything but its name and endpoints.
    pub fn new(name: &str, endpoints: Vec<String>) -> ClusterConfig {
        ClusterConfig {
            name: name.to_string(),
            endpoints: endpoints.into_iter().map(EndpointConfig::Address).collect(),
            connect_timeout: default_connect_timeout(),
            http2: false,
            http2_keepalive: None,
            lb_policy: LbPolicy::default(),
            logical_dns: false,
            dns_refresh_rate: default_dns_refresh(),
            health_check: None,
            healthy_panic_threshold: default_panic_threshold(),
            outlier_detection: None,
            circuit_breakers: CircuitBreakers::default(),
            internal: false,
            tls: None,
            http_protocol_options: super::Http1Options::default(),
            metadata: None,
        }
    }
}

/// HTTP/2 keepalive PINGs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Http2Keepalive {
    /// Time between PINGs.
    #[serde(with = "duration")]
    pub interval: Duration,
    /// How long a PING may go unanswered before the connection is closed.
    #[serde(with = "duration")]
    pub timeout: Duration,
}

/// Load-balancing policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LbPolicy {
    /// Each endpoint in turn (per worker).
    #[default]
    RoundRobin,
    /// The less loaded of two random endpoints (power of two choices).
    LeastRequest,
    /// Uniformly random.
    Random,
    /// Consistent hashing on a ring (1024 points per endpoint); needs the route's `hash_policy`.
    RingHash,
    /// Maglev consistent hashing (table of 65537); needs the route's `hash_policy`.
    Maglev,
}

/// Active HTTP health checking of every endpoint.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    /// Path requested (`GET`).
    pub path: String,
    /// Time between checks of an endpoint.
    #[serde(default = "default_hc_interval", with = "duration")]
    pub interval: Duration,
    /// A check not answered in this time fails.
    #[serde(default = "default_hc_timeout", with = "duration")]
    pub timeout: Duration,
    /// Failed checks in a row before an endpoint is marked unhealthy.
    #[serde(default = "default_three")]
    pub unhealthy_threshold: u32,
    /// Passed checks in a row before it is healthy again.
    #[serde(default = "default_two")]
    pub healthy_threshold: u32,
    /// Statuses that pass (default: 200).
    #[serde(default = "default_expected")]
    pub expected_statuses: Vec<u16>,
}

fn default_hc_interval() -> Duration {
    Duration::from_secs(5)
}

fn default_hc_timeout() -> Duration {
    Duration::from_secs(1)
}

fn default_three() -> u32 {
    3
}

fn default_two() -> u32 {
    2
}

fn default_expected() -> Vec<u16> {
    vec![200]
}

/// Ejection of endpoints that keep failing (Envoy's outlier detection, consecutive 5xx).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutlierDetection {
    /// 5xx responses (or connection failures) in a row that eject an endpoint (default 5).
    #[serde(default = "default_five")]
    pub consecutive_5xx: u32,
    /// First ejection length; the n-th ejection lasts n times this (default 30s).
    #[serde(default = "default_ejection", with = "duration")]
    pub base_ejection_time: Duration,
    /// At most this share of the endpoints is ejected at once (default 10, at least one).
    #[serde(default = "default_ten")]
    pub max_ejection_percent: u32,
}

fn default_five() -> u32 {
    5
}

fn default_ten() -> u32 {
    10
}

fn default_ejection() -> Duration {
    Duration::from_secs(30)
}

/// Circuit breakers of a cluster (process-wide, as in Envoy; defaults as Envoy's).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitBreakers {
    /// Open upstream connections.
    #[serde(default = "default_1024")]
    pub max_connections: u32,
    /// Requests waiting for a connection.
    #[serde(default = "default_1024")]
    pub max_pending_requests: u32,
    /// Requests in flight.
    #[serde(default = "default_1024")]
    pub max_requests: u32,
}

fn default_1024() -> u32 {
    1024
}

impl Default for CircuitBreakers {
    fn default() -> Self {
        CircuitBreakers { max_connections: 1024, max_pending_requests: 1024, max_requests: 1024 }
    }
}
