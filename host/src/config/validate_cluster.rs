//! Validation of clusters and of the retry and hash policies of routes.

use super::{
    ClusterConfig, ConfigError, EndpointConfig, HashPolicy, LbPolicy, MAX_ENDPOINT_WEIGHT, MAX_PRIORITY,
    RetryPolicy,
};

/// Checks one cluster.
pub fn check(cluster: &ClusterConfig, at: &str) -> Result<(), ConfigError> {
    if cluster.endpoints.is_empty() {
        return Err(ConfigError::invalid(
            format!("{at}.endpoints"),
            format!("cluster `{}` has no endpoints", cluster.name),
        ));
    }
    check_settings(cluster, at)
}

/// Checks a cluster that may have no endpoints (one from CDS/EDS: it answers 503 until some
/// arrive, as in Envoy).
pub fn check_settings(cluster: &ClusterConfig, at: &str) -> Result<(), ConfigError> {
    let weights: Vec<u32> = cluster.endpoints.iter().map(EndpointConfig::weight).collect();
    for (j, endpoint) in cluster.endpoints.iter().enumerate() {
        if !(1..=MAX_ENDPOINT_WEIGHT).contains(&endpoint.weight()) {
            return Err(ConfigError::invalid(
                format!("{at}.endpoints[{j}].weight"),
                format!("must be 1 to {MAX_ENDPOINT_WEIGHT}"),
            ));
        }
        if endpoint.priority() > MAX_PRIORITY {
            return Err(ConfigError::invalid(
                format!("{at}.endpoints[{j}].priority"),
                format!("must be 0 to {MAX_PRIORITY}"),
            ));
        }
        let endpoint = endpoint.address();
        let port = endpoint.rsplit_once(':').map(|(host, port)| (host, port.parse::<u16>()));
        if !matches!(port, Some((host, Ok(_))) if !host.is_empty()) {
            return Err(ConfigError::invalid(
                format!("{at}.endpoints[{j}]"),
                format!("`{endpoint}` is not `host:port` or `ip:port`"),
            ));
        }
    }
    if weights.iter().min() != weights.iter().max()
        && matches!(cluster.lb_policy, LbPolicy::RingHash | LbPolicy::Maglev)
    {
        return Err(ConfigError::invalid(
            format!("{at}.endpoints"),
            "unequal weights are honoured by round_robin, least_request and random; ring_hash and maglev need equal weights in weir",
        ));
    }
    if !(0.0..=100.0).contains(&cluster.healthy_panic_threshold) {
        return Err(ConfigError::invalid(format!("{at}.healthy_panic_threshold"), "must be 0 to 100"));
    }
    if cluster.dns_refresh_rate < std::time::Duration::from_millis(100) {
        return Err(ConfigError::invalid(format!("{at}.dns_refresh_rate"), "must be at least 100ms"));
    }
    if let Some(k) = &cluster.http2_keepalive
        && (k.interval < std::time::Duration::from_millis(1)
            || k.timeout < std::time::Duration::from_millis(1))
    {
        return Err(ConfigError::invalid(
            format!("{at}.http2_keepalive"),
            "interval and timeout must be at least 1ms",
        ));
    }
    if let Some(hc) = &cluster.health_check {
        if !hc.path.starts_with('/') {
            return Err(ConfigError::invalid(format!("{at}.health_check.path"), "must start with `/`"));
        }
        if hc.unhealthy_threshold == 0 || hc.healthy_threshold == 0 {
            return Err(ConfigError::invalid(format!("{at}.health_check"), "thresholds must be at least 1"));
        }
        if hc.interval.is_zero() || hc.timeout.is_zero() {
            return Err(ConfigError::invalid(
                format!("{at}.health_check"),
                "interval and timeout must be above 0",
            ));
        }
    }
    if let Some(od) = &cluster.outlier_detection
        && od.consecutive_5xx == 0
    {
        return Err(ConfigError::invalid(
            format!("{at}.outlier_detection.consecutive_5xx"),
            "must be at least 1",
        ));
    }
    let cb = &cluster.circuit_breakers;
    if cb.max_connections == 0 || cb.max_requests == 0 {
        return Err(ConfigError::invalid(format!("{at}.circuit_breakers"), "limits must be at least 1"));
    }
    if let Some(tls) = &cluster.tls {
        // Built once here to check files and settings; each generation builds its own.
        weir_tls::ClientTls::new(tls, cluster.http2, &format!("{at}.tls")).map_err(|e| match e {
            weir_tls::TlsError::Setting { field, reason } => ConfigError::invalid(field, reason),
            other => ConfigError::invalid(format!("{at}.tls"), other.to_string()),
        })?;
    }
    Ok(())
}

/// Checks a route's retry policy.
pub fn check_retry(policy: &RetryPolicy, at: &str) -> Result<(), ConfigError> {
    policy.conditions().map(|_| ()).map_err(|e| ConfigError::invalid(format!("{at}.retry_on"), e))
}

/// Checks a route's hash policy.
pub fn check_hash(policy: &HashPolicy, at: &str) -> Result<(), ConfigError> {
    policy.target().map(|_| ()).map_err(|e| ConfigError::invalid(at, e))
}
