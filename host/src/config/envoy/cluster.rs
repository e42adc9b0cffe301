//! Envoy's `Cluster` and `ClusterLoadAssignment` as weir clusters (CDS, EDS, and the
//! `static_resources.clusters` of a bootstrap).
//!
//! Supported: `type` STATIC, STRICT_DNS, LOGICAL_DNS and EDS; `lb_policy` ROUND_ROBIN, LEAST_REQUEST,
//! RANDOM, RING_HASH, MAGLEV (weir's rings are built as Envoy's: the same key picks the same
//! endpoint); `connect_timeout`, `dns_refresh_rate`; endpoints of priorities 0 to 31 in any
//! locality (Envoy's priority failover, default overprovisioning factor), with their weights;
//! `common_lb_config.healthy_panic_threshold`; HTTP/2 through `typed_extension_protocol_options`
//! (`HttpProtocolOptions.explicit_http_config`); `circuit_breakers` (default priority),
//! `outlier_detection` (consecutive 5xx), HTTP `health_checks`, TLS (`transport_socket`, see
//! [`super::tls`]). Everything else is refused.

use std::time::Duration;

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::cluster::v3::cluster::{
    ClusterDiscoveryType, DiscoveryType, LbPolicy as PbLb,
};
use envoy_types::pb::envoy::config::core::v3::socket_address::PortSpecifier;
use envoy_types::pb::envoy::config::core::v3::{
    HealthStatus, KeepaliveSettings, SocketAddress, address, health_check,
};
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::config::endpoint::v3::lb_endpoint::HostIdentifier;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::HttpProtocolOptions;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::http_protocol_options::UpstreamProtocolOptions;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::http_protocol_options::explicit_http_config::ProtocolConfig;
use envoy_types::pb::google::protobuf::{Duration as PbDuration, UInt32Value};
use weir_xds::convert::unpack;

use super::Refusals;
use super::support::{Spec, check, join, std_duration};
use crate::config::{
    CircuitBreakers, ClusterConfig, EndpointConfig, HealthCheck, Http2Keepalive, LbPolicy,
    MAX_ENDPOINT_WEIGHT, OutlierDetection,
};

const HTTP_OPTIONS: &str = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

/// What weir reads of a cluster and what it holds.
pub(super) const SPEC: Spec = &[
    (
        "envoy.config.cluster.v3.Cluster",
        &[
            "name",
            "type",
            "eds_cluster_config",
            "connect_timeout",
            "lb_policy",
            "load_assignment",
            "typed_extension_protocol_options",
            "dns_refresh_rate",
            "circuit_breakers",
            "outlier_detection",
            "health_checks",
            "transport_socket",
            "metadata",
            "common_lb_config",
        ],
    ),
    ("envoy.config.cluster.v3.Cluster.CommonLbConfig", &["healthy_panic_threshold"]),
    ("envoy.type.v3.Percent", &["value"]),
    ("envoy.config.core.v3.Metadata", &["filter_metadata", "typed_filter_metadata"]),
    ("envoy.config.cluster.v3.Cluster.EdsClusterConfig", &["eds_config", "service_name"]),
    (
        "envoy.config.core.v3.ConfigSource",
        &["ads", "api_config_source", "resource_api_version", "initial_fetch_timeout"],
    ),
    ("envoy.config.core.v3.ApiConfigSource", &["api_type", "transport_api_version", "grpc_services"]),
    ("envoy.config.core.v3.GrpcService", &["envoy_grpc"]),
    ("envoy.config.core.v3.GrpcService.EnvoyGrpc", &["cluster_name"]),
    ("envoy.config.core.v3.AggregatedConfigSource", &[]),
    ("envoy.config.endpoint.v3.ClusterLoadAssignment", &["cluster_name", "endpoints"]),
    (
        "envoy.config.endpoint.v3.LocalityLbEndpoints",
        &["locality", "lb_endpoints", "load_balancing_weight", "priority"],
    ),
    ("envoy.config.core.v3.Locality", &["region", "zone", "sub_zone"]),
    ("envoy.config.endpoint.v3.LbEndpoint", &["endpoint", "health_status", "load_balancing_weight"]),
    ("envoy.config.endpoint.v3.Endpoint", &["address"]),
    ("envoy.config.core.v3.Address", &["socket_address"]),
    ("envoy.config.core.v3.SocketAddress", &["address", "port_value"]),
    (HTTP_OPTIONS, &["explicit_http_config"]),
    (
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions.ExplicitHttpConfig",
        &["http_protocol_options", "http2_protocol_options"],
    ),
    ("envoy.config.core.v3.Http1ProtocolOptions", &["enable_trailers"]),
    ("envoy.config.core.v3.Http2ProtocolOptions", &["connection_keepalive"]),
    ("envoy.config.core.v3.KeepaliveSettings", &["interval", "timeout"]),
    ("envoy.config.cluster.v3.CircuitBreakers", &["thresholds"]),
    (
        "envoy.config.cluster.v3.CircuitBreakers.Thresholds",
        &["priority", "max_connections", "max_pending_requests", "max_requests"],
    ),
    (
        "envoy.config.cluster.v3.OutlierDetection",
        &["consecutive_5xx", "base_ejection_time", "max_ejection_percent"],
    ),
    (
        "envoy.config.core.v3.HealthCheck",
        &["timeout", "interval", "unhealthy_threshold", "healthy_threshold", "http_health_check"],
    ),
    ("envoy.config.core.v3.HealthCheck.HttpHealthCheck", &["path", "expected_statuses"]),
    ("envoy.type.v3.Int64Range", &["start", "end"]),
];

/// A cluster from Envoy's config: weir's cluster, and the EDS service its endpoints come from
/// (`None`: they are in the cluster itself).
#[derive(Debug, Clone, PartialEq)]
pub struct EnvoyCluster {
    /// The cluster (for EDS, without endpoints).
    pub config: ClusterConfig,
    /// The EDS resource name (`eds_cluster_config.service_name`, else the cluster's name).
    pub eds_service: Option<String>,
}

/// Translates a cluster; `at` is its path (`static_resources.clusters[2]`, or empty for xDS).
pub fn cluster(pb: &Cluster, at: &str) -> Result<EnvoyCluster, super::ConfigError> {
    let mut refusals = Refusals::default();
    check(pb, &[SPEC, super::tls::SPEC], at, &mut refusals);
    let cluster = translate(pb, at, &mut refusals);
    refusals.into_result(cluster)
}

/// Translates a cluster whose fields were checked; adds what it refuses to `refusals`.
pub(super) fn translate(pb: &Cluster, at: &str, refusals: &mut Refusals) -> EnvoyCluster {
    let mut config = ClusterConfig::new(&pb.name, Vec::new());
    if pb.name.is_empty() {
        refusals.add(&join(at, "name"), "a cluster needs a name");
    }
    let kind = match pb.cluster_discovery_type {
        None => DiscoveryType::Static,
        Some(ClusterDiscoveryType::Type(t)) => {
            DiscoveryType::try_from(t).unwrap_or(DiscoveryType::OriginalDst)
        }
        Some(ClusterDiscoveryType::ClusterType(_)) => {
            refusals.add(&join(at, "cluster_type"), "custom cluster types are not supported by weir");
            DiscoveryType::Static
        }
    };
    let eds_service = match kind {
        DiscoveryType::Static | DiscoveryType::StrictDns => None,
        DiscoveryType::LogicalDns => {
            config.logical_dns = true;
            let count: usize =
                pb.load_assignment.iter().flat_map(|a| &a.endpoints).map(|l| l.lb_endpoints.len()).sum();
            if count != 1 {
                refusals
                    .add(&join(at, "load_assignment"), "a LOGICAL_DNS cluster takes exactly one endpoint");
            }
            None
        }
        DiscoveryType::Eds => {
            if let Some(source) = pb.eds_cluster_config.as_ref().and_then(|e| e.eds_config.as_ref()) {
                super::source::check(source, &join(at, "eds_cluster_config.eds_config"), refusals);
            }
            let service = pb.eds_cluster_config.as_ref().map(|e| e.service_name.as_str()).unwrap_or_default();
            Some(if service.is_empty() { pb.name.clone() } else { service.to_string() })
        }
        other => {
            refusals.add(
                &join(at, "type"),
                format!("{} clusters are not supported by weir", other.as_str_name()),
            );
            None
        }
    };
    if let Some(threshold) = pb.common_lb_config.as_ref().and_then(|c| c.healthy_panic_threshold.as_ref()) {
        config.healthy_panic_threshold = threshold.value;
    }
    config.lb_policy = match PbLb::try_from(pb.lb_policy) {
        Ok(PbLb::RoundRobin) => LbPolicy::RoundRobin,
        Ok(PbLb::LeastRequest) => LbPolicy::LeastRequest,
        Ok(PbLb::Random) => LbPolicy::Random,
        Ok(PbLb::RingHash) => LbPolicy::RingHash,
        Ok(PbLb::Maglev) => LbPolicy::Maglev,
        other => {
            let name = other.map_or("unknown".into(), |p| p.as_str_name().to_string());
            refusals.add(&join(at, "lb_policy"), format!("{name} is not supported by weir"));
            LbPolicy::RoundRobin
        }
    };
    duration(&pb.connect_timeout, &join(at, "connect_timeout"), &mut config.connect_timeout, refusals);
    #[allow(deprecated)] // Still honoured by Envoy 1.40.
    duration(&pb.dns_refresh_rate, &join(at, "dns_refresh_rate"), &mut config.dns_refresh_rate, refusals);
    if let Some(assignment) = &pb.load_assignment {
        let path = join(at, "load_assignment");
        if eds_service.is_some() {
            refusals.add(&path, "an EDS cluster takes its endpoints from EDS, not load_assignment");
        }
        config.endpoints = endpoints(assignment, &path, refusals);
    }
    for (name, any) in &pb.typed_extension_protocol_options {
        let path = format!("{}[{name:?}]", join(at, "typed_extension_protocol_options"));
        if name != HTTP_OPTIONS {
            refusals.add(&path, format!("{name} is not supported by weir"));
            continue;
        }
        match unpack::<HttpProtocolOptions>(any) {
            Ok(options) => http_options(&options, &mut config, &path, refusals),
            Err(e) => refusals.add(&path, e.to_string()),
        }
    }
    if let Some(cb) = &pb.circuit_breakers {
        config.circuit_breakers = circuit_breakers(cb, &join(at, "circuit_breakers"), refusals);
    }
    if let Some(od) = &pb.outlier_detection {
        let mut out = OutlierDetection {
            consecutive_5xx: 5,
            base_ejection_time: Duration::from_secs(30),
            max_ejection_percent: 10,
        };
        out.consecutive_5xx = value(&od.consecutive_5xx).unwrap_or(out.consecutive_5xx);
        out.max_ejection_percent = value(&od.max_ejection_percent).unwrap_or(out.max_ejection_percent);
        let path = join(at, "outlier_detection.base_ejection_time");
        duration(&od.base_ejection_time, &path, &mut out.base_ejection_time, refusals);
        config.outlier_detection = Some(out);
    }
    config.metadata =
        pb.metadata.as_ref().map(|m| super::support::metadata(m, &join(at, "metadata"), refusals));
    if let Some(socket) = &pb.transport_socket {
        config.tls = super::tls::upstream(socket, &join(at, "transport_socket"), refusals);
    }
    match pb.health_checks.as_slice() {
        [] => {}
        [hc] => {
            config.health_check = health_check(hc, &format!("{}[0]", join(at, "health_checks")), refusals)
        }
        [_, ..] => refusals.add(&join(at, "health_checks"), "weir runs one health check per cluster"),
    }
    EnvoyCluster { config, eds_service }
}

/// The endpoints of an EDS resource (or a cluster's `load_assignment`), as `address:port`.
/// Endpoints Envoy would not send traffic to (unhealthy, draining, timed out) are left out.
pub fn load_assignment(
    pb: &ClusterLoadAssignment,
    at: &str,
) -> Result<Vec<EndpointConfig>, super::ConfigError> {
    let mut refusals = Refusals::default();
    check(pb, &[SPEC], at, &mut refusals);
    let endpoints = endpoints(pb, at, &mut refusals);
    refusals.into_result(endpoints)
}

fn endpoints(pb: &ClusterLoadAssignment, at: &str, refusals: &mut Refusals) -> Vec<EndpointConfig> {
    let mut out = Vec::new();
    let count: usize = pb.endpoints.iter().map(|l| l.lb_endpoints.len()).sum();
    if count > super::MAX_ENDPOINTS_PER_CLUSTER {
        refusals.add(
            &join(at, "endpoints"),
            format!("{count} endpoints: weir takes at most {} per cluster", super::MAX_ENDPOINTS_PER_CLUSTER),
        );
        return out;
    }
    for (i, locality) in pb.endpoints.iter().enumerate() {
        let at = format!("{}[{i}]", join(at, "endpoints"));
        if locality.priority > crate::config::MAX_PRIORITY {
            refusals.add(
                &join(&at, "priority"),
                format!("weir takes priorities 0 to {}", crate::config::MAX_PRIORITY),
            );
        }
        for (j, lb) in locality.lb_endpoints.iter().enumerate() {
            let at = format!("{}[{j}]", join(&at, "lb_endpoints"));
            let weight = value(&lb.load_balancing_weight).unwrap_or(1);
            if !(1..=MAX_ENDPOINT_WEIGHT).contains(&weight) {
                refusals.add(
                    &join(&at, "load_balancing_weight"),
                    format!("weir takes weights of 1 to {MAX_ENDPOINT_WEIGHT}"),
                );
            }
            match HealthStatus::try_from(lb.health_status) {
                Ok(HealthStatus::Unknown | HealthStatus::Healthy) => {}
                Ok(HealthStatus::Unhealthy | HealthStatus::Draining | HealthStatus::Timeout) => continue,
                _ => {
                    refusals.add(
                        &join(&at, "health_status"),
                        "only HEALTHY, UNKNOWN, UNHEALTHY, DRAINING and TIMEOUT are supported by weir",
                    );
                    continue;
                }
            }
            let socket = match &lb.host_identifier {
                Some(HostIdentifier::Endpoint(e)) => e.address.as_ref().and_then(|a| a.address.as_ref()),
                _ => None,
            };
            match socket {
                Some(address::Address::SocketAddress(SocketAddress {
                    address,
                    port_specifier: Some(PortSpecifier::PortValue(port)),
                    ..
                })) if !address.is_empty() => {
                    let address = match address.parse::<std::net::Ipv6Addr>() {
                        Ok(v6) => format!("[{v6}]:{port}"),
                        Err(_) => format!("{address}:{port}"),
                    };
                    out.push(EndpointConfig::new(address, weight, locality.priority));
                }
                _ => refusals.add(
                    &join(&at, "endpoint.address"),
                    "needs a socket_address with address and port_value",
                ),
            }
        }
    }
    out
}

fn http_options(
    options: &HttpProtocolOptions,
    config: &mut ClusterConfig,
    at: &str,
    refusals: &mut Refusals,
) {
    if let Some(UpstreamProtocolOptions::ExplicitHttpConfig(explicit)) = &options.upstream_protocol_options {
        match &explicit.protocol_config {
            Some(ProtocolConfig::Http2ProtocolOptions(h2)) => {
                config.http2 = true;
                let mut h2 = h2.clone();
                if let Some(keepalive) = h2.connection_keepalive.take() {
                    let at = format!("{at}.explicit_http_config.http2_protocol_options.connection_keepalive");
                    config.http2_keepalive = keepalive_settings(&keepalive, &at, refusals);
                }
                // (A listener's HTTP/2 options may set fields; a cluster's only the keepalive.)
                if h2 != Default::default() {
                    refusals.add(
                        &format!("{at}.explicit_http_config.http2_protocol_options"),
                        "HTTP/2 settings towards a cluster are not supported by weir",
                    );
                }
            }
            Some(ProtocolConfig::HttpProtocolOptions(h1)) => {
                config.http_protocol_options.enable_trailers = h1.enable_trailers;
            }
            _ => {}
        }
    }
}

/// `connection_keepalive` (its `interval` and `timeout`, both required by weir).
fn keepalive_settings(pb: &KeepaliveSettings, at: &str, refusals: &mut Refusals) -> Option<Http2Keepalive> {
    let (Some(interval), Some(timeout)) = (pb.interval.as_ref(), pb.timeout.as_ref()) else {
        refusals.add(at, "interval and timeout are required by weir");
        return None;
    };
    match (std_duration(interval), std_duration(timeout)) {
        (Some(interval), Some(timeout)) => Some(Http2Keepalive { interval, timeout }),
        _ => {
            refusals.add(at, "interval and timeout must be positive durations");
            None
        }
    }
}

fn circuit_breakers(
    pb: &envoy_types::pb::envoy::config::cluster::v3::CircuitBreakers,
    at: &str,
    refusals: &mut Refusals,
) -> CircuitBreakers {
    let mut out = CircuitBreakers::default();
    for (i, t) in pb.thresholds.iter().enumerate() {
        if t.priority != 0 {
            refusals.add(
                &format!("{at}.thresholds[{i}].priority"),
                "only the DEFAULT priority is supported by weir",
            );
            continue;
        }
        out.max_connections = value(&t.max_connections).unwrap_or(out.max_connections);
        out.max_pending_requests = value(&t.max_pending_requests).unwrap_or(out.max_pending_requests);
        out.max_requests = value(&t.max_requests).unwrap_or(out.max_requests);
    }
    out
}

fn health_check(
    pb: &envoy_types::pb::envoy::config::core::v3::HealthCheck,
    at: &str,
    refusals: &mut Refusals,
) -> Option<HealthCheck> {
    let Some(health_check::HealthChecker::HttpHealthCheck(http)) = &pb.health_checker else {
        refusals.add(at, "only http_health_check is supported by weir");
        return None;
    };
    let mut out = HealthCheck {
        path: http.path.clone(),
        interval: Duration::from_secs(5),
        timeout: Duration::from_secs(1),
        unhealthy_threshold: value(&pb.unhealthy_threshold).unwrap_or(1),
        healthy_threshold: value(&pb.healthy_threshold).unwrap_or(1),
        expected_statuses: vec![200],
    };
    // Envoy requires both; weir's defaults stand in when a control plane leaves them out.
    duration(&pb.interval, &join(at, "interval"), &mut out.interval, refusals);
    duration(&pb.timeout, &join(at, "timeout"), &mut out.timeout, refusals);
    if !http.expected_statuses.is_empty() {
        out.expected_statuses.clear();
        for (i, range) in http.expected_statuses.iter().enumerate() {
            if !(100..=600).contains(&range.start) || !(range.start..=600).contains(&range.end) {
                refusals.add(
                    &format!("{at}.http_health_check.expected_statuses[{i}]"),
                    "must lie within [100, 600)",
                );
                continue;
            }
            // Envoy's ranges are half-open: [start, end).
            out.expected_statuses.extend((range.start..range.end).filter_map(|s| u16::try_from(s).ok()));
        }
    }
    Some(out)
}

fn value(v: &Option<UInt32Value>) -> Option<u32> {
    v.as_ref().map(|v| v.value)
}

/// Sets `out` from a proto duration if present; a negative one is refused.
fn duration(pb: &Option<PbDuration>, at: &str, out: &mut Duration, refusals: &mut Refusals) {
    let Some(d) = pb else { return };
    match super::support::std_duration(d) {
        Some(d) => *out = d,
        None => refusals.add(at, "must not be negative"),
    }
}

#[cfg(test)]
#[path = "cluster_tests.rs"]
mod tests;
