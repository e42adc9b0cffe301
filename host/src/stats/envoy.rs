//! `--stats-compat envoy`: the statistics Envoy users' dashboards and alerts read, under
//! Envoy's Prometheus names and labels (`envoy_http_downstream_rq_xx{envoy_response_code_class,
//! envoy_http_conn_manager_prefix}`, `envoy_cluster_upstream_rq_total{envoy_cluster_name}`, …),
//! next to weir's own. A listener's name stands for the connection manager's `stat_prefix`.
//! Request times are kept in Envoy's own histograms (milliseconds, Envoy's buckets) while the
//! option is on.

use std::fmt::Write;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use super::{Labels, Stats, label_value, labels};

/// What a series is about: weir's label, Envoy's, and the names.
struct Scope<'a> {
    weir: &'static str,
    envoy: &'static str,
    names: &'a [&'a str],
}

impl Stats {
    /// Appends the Envoy-named series of `listeners` and `clusters` to `out`.
    pub fn encode_envoy(&self, out: &mut String, listeners: &[&str], clusters: &[&str]) {
        let http = Scope { weir: "listener", envoy: "envoy_http_conn_manager_prefix", names: listeners };
        let cluster = Scope { weir: "cluster", envoy: "envoy_cluster_name", names: clusters };
        // Envoy declares a connection manager's five classes up front, and makes a cluster's as
        // responses of that class arrive.
        by_class(out, "envoy_http_downstream_rq", &self.listener_requests, &http, true);
        gauge(out, "envoy_http_downstream_cx_active", &self.listener_connections, &http);
        by_class(out, "envoy_cluster_upstream_rq", &self.cluster_requests, &cluster, false);
        counter(out, "envoy_cluster_upstream_cx_total", &self.cluster_connections_opened, &cluster);
        counter(out, "envoy_cluster_upstream_cx_connect_fail", &self.cluster_connect_failures, &cluster);
        counter(out, "envoy_cluster_upstream_rq_retry", &self.cluster_retries, &cluster);
        counter(out, "envoy_cluster_upstream_rq_timeout", &self.cluster_timeouts, &cluster);
        counter(out, "envoy_cluster_upstream_rq_pending_overflow", &self.cluster_overflow, &cluster);
        gauge(out, "envoy_cluster_upstream_cx_active", &self.cluster_connections, &cluster);
        self.envoy_listener_time.encode(out, "envoy_http_downstream_rq_time", http.envoy, listeners);
        self.envoy_cluster_time.encode(out, "envoy_cluster_upstream_rq_time", cluster.envoy, clusters);
    }
}

/// `<base>_xx{envoy_response_code_class}` per class (`all`: zeros too) and `<base>_total`,
/// from weir's `{<scope>, code_class}` counters.
fn by_class(out: &mut String, base: &str, family: &Family<Labels, Counter>, scope: &Scope<'_>, all: bool) {
    let _ = writeln!(out, "# TYPE {base}_xx counter");
    let mut totals = Vec::with_capacity(scope.names.len());
    for name in scope.names {
        let mut total = 0;
        for class in 1..=5 {
            let code_class = format!("{class}xx");
            let value =
                family.get_or_create(&labels(&[(scope.weir, name), ("code_class", &code_class)])).get();
            total += value;
            if value > 0 || all {
                let (envoy, name) = (scope.envoy, label_value(name));
                let _ = writeln!(
                    out,
                    "{base}_xx{{envoy_response_code_class=\"{class}\",{envoy}=\"{name}\"}} {value}"
                );
            }
        }
        totals.push(total);
    }
    let _ = writeln!(out, "# TYPE {base}_total counter");
    for (name, total) in scope.names.iter().zip(totals) {
        let _ = writeln!(out, "{base}_total{{{}=\"{}\"}} {total}", scope.envoy, label_value(name));
    }
}

fn counter(out: &mut String, name: &str, family: &Family<Labels, Counter>, scope: &Scope<'_>) {
    let _ = writeln!(out, "# TYPE {name} counter");
    for n in scope.names {
        let value = family.get_or_create(&labels(&[(scope.weir, n)])).get();
        let _ = writeln!(out, "{name}{{{}=\"{}\"}} {value}", scope.envoy, label_value(n));
    }
}

fn gauge(out: &mut String, name: &str, family: &Family<Labels, Gauge>, scope: &Scope<'_>) {
    let _ = writeln!(out, "# TYPE {name} gauge");
    for n in scope.names {
        let value = family.get_or_create(&labels(&[(scope.weir, n)])).get();
        let _ = writeln!(out, "{name}{{{}=\"{}\"}} {value}", scope.envoy, label_value(n));
    }
}
