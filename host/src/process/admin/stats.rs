//! The read-only views: Prometheus and Envoy-style stats, clusters.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::process::ProcessControl;

/// `GET /stats/prometheus`.
pub fn prometheus(state: &dyn ProcessControl) -> String {
    let generation = state.generation();
    let mut out = String::new();
    generation.process.stats.encode(&mut out);
    if generation.process.stats.envoy_names() {
        let listeners: Vec<&str> = generation.config.listeners.iter().map(|l| l.name.as_str()).collect();
        let clusters: Vec<&str> = generation.config.clusters.iter().map(|c| c.name.as_str()).collect();
        generation.process.stats.encode_envoy(&mut out, &listeners, &clusters);
    }
    generation.process.guest.metrics.encode(&mut out);
    let series: [Series; 7] = [
        ("weir_plugin_calls_total", "counter", "Plugin HTTP callbacks run.", |s| load(&s.calls)),
        ("weir_plugin_callback_seconds_total", "counter", "Time spent in plugin callbacks.", |s| {
            load(&s.time_ns) / 1e9
        }),
        ("weir_plugin_failures_total", "counter", "Plugin callbacks that failed.", |s| load(&s.failures)),
        ("weir_plugin_traps_total", "counter", "Plugin traps (and proc_exit).", |s| load(&s.traps)),
        ("weir_plugin_timeouts_total", "counter", "Callbacks past max_callback_time.", |s| load(&s.timeouts)),
        ("weir_plugin_vm_reloads_total", "counter", "Failed VMs replaced (FAIL_RELOAD).", |s| {
            load(&s.reloads)
        }),
        ("weir_plugin_failed_vms", "gauge", "VMs failed and not replaced.", |s| {
            s.failed_vms.load(Ordering::Relaxed) as f64
        }),
    ];
    for (name, kind, help, value) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for plugin in &generation.plugins {
            let plugin_label = crate::stats::label_value(plugin.name());
            let _ = writeln!(out, "{name}{{plugin=\"{plugin_label}\"}} {}", value(&plugin.stats));
        }
    }
    let _ = writeln!(
        out,
        "# HELP weir_access_log_lines_dropped_total Access log lines dropped because the writer fell behind.\n\
         # TYPE weir_access_log_lines_dropped_total counter"
    );
    for (path, dropped) in generation.process.access_logs.dropped() {
        let path = crate::stats::label_value(&path);
        let _ = writeln!(out, "weir_access_log_lines_dropped_total{{path=\"{path}\"}} {dropped}");
    }
    if generation.config.tracing.is_some() {
        let (exported, dropped, failures) = generation.process.tracers.counts();
        let _ = writeln!(
            out,
            "# HELP weir_tracing_spans_exported_total Trace spans the OTLP collector accepted.\n\
             # TYPE weir_tracing_spans_exported_total counter\nweir_tracing_spans_exported_total {exported}\n\
             # HELP weir_tracing_spans_dropped_total Trace spans dropped: the export queue was full or their export failed.\n\
             # TYPE weir_tracing_spans_dropped_total counter\nweir_tracing_spans_dropped_total {dropped}\n\
             # HELP weir_tracing_export_failures_total OTLP export requests that failed or timed out.\n\
             # TYPE weir_tracing_export_failures_total counter\nweir_tracing_export_failures_total {failures}"
        );
    }
    let dropped = crate::logging::dropped_lines();
    let _ = writeln!(
        out,
        "# HELP weir_log_lines_dropped_total Log lines dropped because the log writer fell behind.\n\
         # TYPE weir_log_lines_dropped_total counter\nweir_log_lines_dropped_total {dropped}"
    );
    out
}

/// A Prometheus series over plugin stats: name, type, help, value.
type Series = (&'static str, &'static str, &'static str, fn(&weir_proxy_wasm::services::PluginStats) -> f64);

fn load(counter: &std::sync::atomic::AtomicU64) -> f64 {
    counter.load(Ordering::Relaxed) as f64
}

/// Envoy's `/stats` text format (`name: value`), for the plugin metrics.
pub fn envoy_stats(state: &dyn ProcessControl) -> String {
    let mut out = String::new();
    state.generation().process.guest.metrics.envoy_text(&mut out);
    out
}

/// Clusters and their endpoints: health, ejection, load, priority levels and their loads.
pub fn clusters(state: &dyn ProcessControl) -> serde_json::Value {
    let generation = state.generation();
    let mut clusters: Vec<serde_json::Value> = generation
        .clusters
        .iter()
        .map(|c| {
            let set = c.endpoints();
            serde_json::json!({
                "name": c.name(),
                "lb_policy": c.config.lb_policy,
                "active_requests": c.breakers.active_requests(),
                "priority_loads": set.loads,
                "endpoints": set.all.iter().map(|e| serde_json::json!({
                    "address": e.addr.to_string(),
                    "priority": e.priority(),
                    "healthy": e.is_healthy(),
                    "ejected": e.is_ejected(),
                    "active_requests": e.active_requests(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    clusters.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    serde_json::Value::Array(clusters)
}
