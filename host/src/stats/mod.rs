//! Proxy statistics, exported on the admin `/stats/prometheus`: downstream (per listener), per
//! route, per cluster and per endpoint. Handles are resolved when a configuration is built, so
//! a request only touches atomics.

mod envoy;
mod envoy_time;

pub use envoy_time::EnvoyTime;

use std::time::Duration;

use parking_lot::Mutex;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

/// Latency buckets in seconds: 0.5 ms to ~33 s.
#[derive(Debug, Clone, Copy, Default)]
pub struct LatencyBuckets;

impl MetricConstructor<Histogram> for LatencyBuckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(exponential_buckets(0.0005, 2.0, 17))
    }
}

type Latency = Family<Labels, Histogram, LatencyBuckets>;

/// Registers each `(name, help) => metric` row of a table.
macro_rules! register {
    ($registry:ident, $( ($name:literal, $help:literal) => $metric:expr, )*) => {
        $( $registry.register($name, $help, $metric.clone()); )*
    };
}

/// Counters by HTTP status class (1xx..5xx).
#[derive(Debug, Clone, Default)]
pub struct ByClass([Counter; 5]);

impl ByClass {
    fn new(family: &Family<Labels, Counter>, labels: &Labels) -> ByClass {
        ByClass(std::array::from_fn(|i| {
            let mut l = labels.clone();
            l.push(("code_class".into(), format!("{}xx", i + 1)));
            family.get_or_create_owned(&l)
        }))
    }

    /// Counts one response with `status`.
    pub fn record(&self, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.0[class].inc();
    }
}

/// Handles for one listener.
#[derive(Debug, Clone)]
pub struct ListenerStats {
    /// Responses by class.
    pub requests: ByClass,
    /// Open downstream connections (all workers).
    pub connections: Gauge,
    /// Connections closed at once: the listener had `max_connections` open.
    pub connections_refused: Counter,
    /// Request duration.
    pub latency: Histogram,
    /// The same in Envoy's histogram (`--stats-compat envoy` only).
    pub envoy_latency: Option<std::sync::Arc<EnvoyTime>>,
    /// Requests refused for their path (escaped slashes under `REJECT_REQUEST`, a NUL).
    pub path_rejected: Counter,
    /// Requests redirected to their normalized path (`UNESCAPE_AND_REDIRECT`).
    pub path_redirected: Counter,
    /// Responses replaced by a 502 because their head was over `max_response_headers_kb` or
    /// `max_response_headers`.
    pub response_headers_too_large: Counter,
    /// TLS handshakes completed.
    pub tls_handshakes: Counter,
    /// TLS handshakes that failed (protocol, certificate, client certificate refused).
    pub tls_handshake_errors: Counter,
}

/// Handles for one route.
#[derive(Debug, Clone)]
pub struct RouteStats {
    /// Responses by class.
    pub requests: ByClass,
    /// Request duration.
    pub latency: Histogram,
}

/// Handles for one cluster.
#[derive(Debug, Clone)]
pub struct ClusterStats {
    /// Upstream responses by class.
    pub requests: ByClass,
    /// Retries attempted.
    pub retries: Counter,
    /// Connection failures (refused, timed out).
    pub connect_failures: Counter,
    /// Requests refused by a circuit breaker.
    pub overflow: Counter,
    /// Requests whose route timeout passed before the upstream answered.
    pub timeouts: Counter,
    /// Open upstream connections.
    pub connections: Gauge,
    /// Upstream connections opened (a rate close to the request rate means no reuse).
    pub connections_opened: Counter,
    /// Upstream request duration (to response headers).
    pub latency: Histogram,
    /// The same in Envoy's histogram (`--stats-compat envoy` only).
    pub envoy_latency: Option<std::sync::Arc<EnvoyTime>>,
}

impl ListenerStats {
    /// Records a request's duration.
    pub fn observe(&self, elapsed: Duration) {
        self.latency.observe(seconds(elapsed));
        if let Some(envoy) = &self.envoy_latency {
            envoy.observe(elapsed);
        }
    }
}

impl ClusterStats {
    /// Records an upstream request's duration.
    pub fn observe(&self, elapsed: Duration) {
        self.latency.observe(seconds(elapsed));
        if let Some(envoy) = &self.envoy_latency {
            envoy.observe(elapsed);
        }
    }
}

/// Handles for one endpoint.
#[derive(Debug, Clone, Default)]
pub struct EndpointStats {
    /// Responses by class.
    pub requests: ByClass,
    /// 1 when healthy (health check and outlier detection), else 0.
    pub healthy: Gauge,
}

/// Every proxy statistic of the process.
#[derive(Debug)]
pub struct Stats {
    registry: Mutex<Registry>,
    listener_requests: Family<Labels, Counter>,
    listener_connections: Family<Labels, Gauge>,
    listener_refused: Family<Labels, Counter>,
    listener_latency: Latency,
    listener_paths: Family<Labels, Counter>,
    listener_large_responses: Family<Labels, Counter>,
    listener_tls: Family<Labels, Counter>,
    route_requests: Family<Labels, Counter>,
    route_latency: Latency,
    cluster_requests: Family<Labels, Counter>,
    cluster_retries: Family<Labels, Counter>,
    cluster_connect_failures: Family<Labels, Counter>,
    cluster_overflow: Family<Labels, Counter>,
    cluster_timeouts: Family<Labels, Counter>,
    cluster_connections: Family<Labels, Gauge>,
    cluster_connections_opened: Family<Labels, Counter>,
    cluster_latency: Latency,
    endpoint_requests: Family<Labels, Counter>,
    endpoint_healthy: Family<Labels, Gauge>,
    /// 1 while the xDS stream to the control plane is up.
    pub xds_connected: Gauge,
    xds_updates: Family<Labels, Counter>,
    /// The version of the runtime snapshot published to filters.
    pub runtime_version: Gauge,
    limits_exceeded: Family<Labels, Counter>,
    module_fetches: Family<Labels, Counter>,
    /// `--stats-compat envoy`: also export Envoy's names ([`Stats::encode_envoy`]).
    envoy_names: std::sync::atomic::AtomicBool,
    /// Envoy's `http.<prefix>.downstream_rq_time` and `cluster.<name>.upstream_rq_time`.
    envoy_listener_time: envoy_time::EnvoyTimes,
    envoy_cluster_time: envoy_time::EnvoyTimes,
}

impl Default for Stats {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("weir");
        let stats = Stats {
            registry: Mutex::new(Registry::default()),
            listener_requests: Family::default(),
            listener_connections: Family::default(),
            listener_refused: Family::default(),
            listener_latency: Family::new_with_constructor(LatencyBuckets),
            listener_paths: Family::default(),
            listener_large_responses: Family::default(),
            listener_tls: Family::default(),
            route_requests: Family::default(),
            route_latency: Family::new_with_constructor(LatencyBuckets),
            cluster_requests: Family::default(),
            cluster_retries: Family::default(),
            cluster_connect_failures: Family::default(),
            cluster_overflow: Family::default(),
            cluster_timeouts: Family::default(),
            cluster_connections: Family::default(),
            cluster_connections_opened: Family::default(),
            cluster_latency: Family::new_with_constructor(LatencyBuckets),
            endpoint_requests: Family::default(),
            endpoint_healthy: Family::default(),
            xds_connected: Gauge::default(),
            xds_updates: Family::default(),
            runtime_version: Gauge::default(),
            limits_exceeded: Family::default(),
            module_fetches: Family::default(),
            envoy_names: std::sync::atomic::AtomicBool::new(false),
            envoy_listener_time: Default::default(),
            envoy_cluster_time: Default::default(),
        };
        let s = &stats;
        // (name after the `weir_` prefix, help) => family
        register!(registry,
            ("downstream_rq", "Downstream responses by status class") => s.listener_requests,
            ("downstream_cx_active", "Open downstream connections") => s.listener_connections,
            ("downstream_cx_overflow", "Connections closed at once: the listener had max_connections open") => s.listener_refused,
            ("downstream_rq_time_seconds", "Downstream request duration") => s.listener_latency,
            ("downstream_rq_path_normalization", "Requests refused (rejected) or redirected (redirected) for their path") => s.listener_paths,
            ("downstream_rs_headers_too_large", "Responses replaced by a 502: their head was over the listener's response header limits") => s.listener_large_responses,
            ("downstream_tls_handshake", "TLS handshakes by result (ok, failed)") => s.listener_tls,
            ("route_rq", "Responses per route by status class") => s.route_requests,
            ("route_rq_time_seconds", "Request duration per route") => s.route_latency,
            ("cluster_upstream_rq", "Upstream responses by status class") => s.cluster_requests,
            ("cluster_upstream_rq_retry", "Upstream retries") => s.cluster_retries,
            ("cluster_upstream_cx_connect_fail", "Upstream connect failures") => s.cluster_connect_failures,
            ("cluster_upstream_rq_overflow", "Requests refused by circuit breakers") => s.cluster_overflow,
            ("cluster_upstream_rq_timeout", "Requests whose route timeout passed before the upstream answered") => s.cluster_timeouts,
            ("cluster_upstream_cx_active", "Open upstream connections") => s.cluster_connections,
            ("cluster_upstream_cx", "Upstream connections opened") => s.cluster_connections_opened,
            ("cluster_upstream_rq_time_seconds", "Upstream time to response headers") => s.cluster_latency,
            ("endpoint_upstream_rq", "Upstream responses per endpoint") => s.endpoint_requests,
            ("endpoint_healthy", "1 when the endpoint takes traffic") => s.endpoint_healthy,
            ("xds_connected", "1 while the xDS stream is up") => s.xds_connected,
            ("xds_update", "xDS responses by type and result (accepted, rejected)") => s.xds_updates,
            ("runtime_version", "Version of the runtime snapshot published to filters") => s.runtime_version,
            ("plugin_limit_exceeded", "Plugin limits hit, by plugin and limit") => s.limits_exceeded,
            ("module_fetch", "Remote modules obtained, by result (fetched, cached, digest_mismatch, failed)") => s.module_fetches,
        );
        *stats.registry.lock() = registry;
        stats
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), label_value(v))).collect()
}

/// A label value as the Prometheus text format needs it (`\\`, `\"` and `\n` escaped):
/// prometheus-client writes values as given, and names here come from configuration (and so
/// from the admin API and the control plane).
pub fn label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// `labels` plus one more.
fn with(labels: &Labels, key: &str, value: &str) -> Labels {
    let mut out = labels.clone();
    out.push((key.to_string(), label_value(value)));
    out
}

impl Stats {
    /// Handles for a listener.
    pub fn listener(&self, name: &str) -> ListenerStats {
        let l = labels(&[("listener", name)]);
        ListenerStats {
            requests: ByClass::new(&self.listener_requests, &l),
            connections: self.listener_connections.get_or_create_owned(&l),
            connections_refused: self.listener_refused.get_or_create_owned(&l),
            latency: self.listener_latency.get_or_create_owned(&l),
            envoy_latency: self.envoy_names().then(|| self.envoy_listener_time.get(name)),
            path_rejected: self.listener_paths.get_or_create_owned(&with(&l, "outcome", "rejected")),
            path_redirected: self.listener_paths.get_or_create_owned(&with(&l, "outcome", "redirected")),
            response_headers_too_large: self.listener_large_responses.get_or_create_owned(&l),
            tls_handshakes: self.listener_tls.get_or_create_owned(&with(&l, "result", "ok")),
            tls_handshake_errors: self.listener_tls.get_or_create_owned(&with(&l, "result", "failed")),
        }
    }

    /// Handles for a route.
    pub fn route(&self, listener: &str, route: &str) -> RouteStats {
        let l = labels(&[("listener", listener), ("route", route)]);
        RouteStats {
            requests: ByClass::new(&self.route_requests, &l),
            latency: self.route_latency.get_or_create_owned(&l),
        }
    }

    /// Handles for a cluster.
    pub fn cluster(&self, name: &str) -> ClusterStats {
        let l = labels(&[("cluster", name)]);
        ClusterStats {
            requests: ByClass::new(&self.cluster_requests, &l),
            retries: self.cluster_retries.get_or_create_owned(&l),
            connect_failures: self.cluster_connect_failures.get_or_create_owned(&l),
            overflow: self.cluster_overflow.get_or_create_owned(&l),
            timeouts: self.cluster_timeouts.get_or_create_owned(&l),
            connections: self.cluster_connections.get_or_create_owned(&l),
            connections_opened: self.cluster_connections_opened.get_or_create_owned(&l),
            latency: self.cluster_latency.get_or_create_owned(&l),
            envoy_latency: self.envoy_names().then(|| self.envoy_cluster_time.get(name)),
        }
    }

    /// Handles for an endpoint.
    pub fn endpoint(&self, cluster: &str, endpoint: &str) -> EndpointStats {
        let l = labels(&[("cluster", cluster), ("endpoint", endpoint)]);
        EndpointStats {
            requests: ByClass::new(&self.endpoint_requests, &l),
            healthy: self.endpoint_healthy.get_or_create_owned(&l),
        }
    }

    /// Counts a plugin hitting one of its limits.
    pub fn limit_exceeded(&self, plugin: &str, limit: &str) {
        self.limits_exceeded.get_or_create(&labels(&[("plugin", plugin), ("limit", limit)])).inc();
    }

    /// Whether `/stats/prometheus` also has Envoy's names (`--stats-compat envoy`).
    pub fn envoy_names(&self) -> bool {
        self.envoy_names.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Turns Envoy's names on or off.
    pub fn set_envoy_names(&self, on: bool) {
        self.envoy_names.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Counts one remote module obtained (or not), by result.
    pub fn module_fetch(&self, result: &str) {
        self.module_fetches.get_or_create(&labels(&[("result", result)])).inc();
    }

    /// Counts one xDS response of `type_url` (its short name is the label).
    pub fn xds_update(&self, type_url: &str, accepted: bool) {
        let short = type_url.rsplit('.').next().unwrap_or(type_url);
        let result = if accepted { "accepted" } else { "rejected" };
        self.xds_updates.get_or_create(&labels(&[("type", short), ("result", result)])).inc();
    }

    /// Prometheus text exposition.
    pub fn encode(&self, out: &mut String) {
        let registry = self.registry.lock();
        if let Err(e) = prometheus_client::encoding::text::encode_registry(out, &registry) {
            tracing::warn!("cannot encode stats: {e}");
        }
    }
}

/// Seconds as `f64`, for histograms.
pub fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl weir_proxy_wasm::embedder::Events for Stats {
    fn limit_exceeded(&self, plugin: &str, limit: &'static str) {
        Stats::limit_exceeded(self, plugin, limit);
    }
}
