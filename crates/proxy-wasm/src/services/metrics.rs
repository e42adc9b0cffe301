//! Metrics defined by plugins (`proxy_define_metric` and friends), process-wide by name as in
//! Envoy, exported under `wasmcustom_<name>` on the admin `/stats/prometheus` and as Envoy's
//! `wasmcustom.<name>` lines on `/stats` (histograms as Envoy shows them, see [`super::histogram`]).
//!
//! Metric ids encode the kind in their two low bits (Envoy's scheme), so `get_metric` on a
//! histogram can answer `BadArgument` without a lookup.
//!
//! Names come from guests, so they are checked before anything is registered: at most
//! [`MAX_NAME`] bytes, and no two metrics may share a Prometheus name once sanitized (`a.b`
//! and `a_b` would make Prometheus refuse the whole scrape) or collide with the names a
//! counter or histogram adds (`_total`, `_bucket`, ...): such a definition is `BadArgument`.
//! Each `vm_id` may define at most `limits.max_metrics` metrics. Nothing a guest names reaches
//! the exposition unescaped (`# HELP` carries no guest text; `/stats` escapes it).

use std::collections::HashMap;

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use weir_abi::{MetricType, Status};

use super::histogram::{EnvoyHistogram, FlushClock};

#[derive(Debug, Clone)]
enum Metric {
    Counter(Counter),
    Gauge(Gauge),
    /// The Prometheus histogram and Envoy's view of the same values.
    Histogram(Histogram, Arc<EnvoyHistogram>),
}

/// Plugin-defined metrics of the whole process.
#[derive(Debug, Default)]
pub struct PluginMetrics {
    by_name: RwLock<HashMap<(u32, String), u32>>,
    metrics: RwLock<Vec<Metric>>,
    registry: Mutex<Registry>,
    /// Exposition names taken (sanitized names and the suffixes their kinds add), and the
    /// metric (kind, name) that took each.
    taken: Mutex<HashMap<String, (u32, String)>>,
    /// Metrics defined and limit, per `vm_id`.
    per_vm: Mutex<HashMap<String, (usize, usize)>>,
    /// Envoy's stats flush periods, for the histograms' `/stats` lines.
    flushes: FlushClock,
}

/// Longest metric name a guest may define, in bytes.
pub const MAX_NAME: usize = 256;

/// Metrics a `vm_id` may define until its plugins say otherwise (`PluginLimits` default).
pub const DEFAULT_LIMIT: usize = 1000;

/// The exposition names a metric of `kind` named `base` (sanitized) uses.
fn exposed_names(kind: MetricType, base: &str) -> Vec<String> {
    let suffixes: &[&str] = match kind {
        MetricType::Counter => &["", "_total", "_created"],
        MetricType::Gauge => &[""],
        MetricType::Histogram => &["", "_bucket", "_sum", "_count", "_created"],
    };
    suffixes.iter().map(|s| format!("{base}{s}")).collect()
}

const TYPE_MASK: u32 = 0x3;

/// Envoy's default histogram buckets (milliseconds-oriented).
const BUCKETS: [f64; 19] = [
    0.5, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0, 60000.0,
    300000.0, 600000.0, 1800000.0, 3600000.0,
];

impl PluginMetrics {
    /// Defines (or finds) a metric for a VM of `vm_id`; returns its id. A name that is too
    /// long or that would collide with another metric's once exposed is
    /// `Status(BadArgument)`; a new metric past `vm_id`'s limit is `Limit`.
    pub fn define(&self, vm_id: &str, kind: MetricType, name: &str) -> Result<u32, super::Refusal> {
        let key = (kind.raw(), name.to_string());
        if let Some(id) = self.by_name.read().get(&key) {
            return Ok(*id);
        }
        if name.len() > MAX_NAME {
            return Err(super::Refusal::Status(Status::BadArgument));
        }
        let mut by_name = self.by_name.write();
        if let Some(id) = by_name.get(&key) {
            return Ok(*id);
        }
        let base = format!("wasmcustom_{}", sanitize(name));
        let names = exposed_names(kind, &base);
        {
            let taken = self.taken.lock();
            if names
                .iter()
                .any(|n| taken.get(n).is_some_and(|owner| *owner != (kind.raw(), name.to_string())))
            {
                return Err(super::Refusal::Status(Status::BadArgument));
            }
        }
        {
            let mut per_vm = self.per_vm.lock();
            let (defined, limit) = per_vm.entry(vm_id.to_string()).or_insert((0, DEFAULT_LIMIT));
            if *defined >= *limit {
                return Err(super::Refusal::Limit("max_metrics"));
            }
            *defined += 1;
        }
        {
            let mut taken = self.taken.lock();
            for n in names {
                taken.insert(n, (kind.raw(), name.to_string()));
            }
        }
        let metric = match kind {
            MetricType::Counter => Metric::Counter(Counter::default()),
            MetricType::Gauge => Metric::Gauge(Gauge::default()),
            MetricType::Histogram => Metric::Histogram(Histogram::new(BUCKETS), Arc::default()),
        };
        {
            let mut registry = self.registry.lock();
            let help = format!("Plugin-defined {}.", kind_name(kind));
            match &metric {
                Metric::Counter(c) => registry.register(base, help, c.clone()),
                Metric::Gauge(g) => registry.register(base, help, g.clone()),
                Metric::Histogram(h, _) => registry.register(base, help, h.clone()),
            }
        }
        let mut metrics = self.metrics.write();
        let id = ((metrics.len() as u32) << 2) | kind.raw();
        metrics.push(metric);
        by_name.insert(key, id);
        Ok(id)
    }

    /// Sets the most metrics `vm_id` may define.
    pub fn set_limit(&self, vm_id: &str, count: usize) {
        self.per_vm.lock().entry(vm_id.to_string()).or_insert((0, DEFAULT_LIMIT)).1 = count;
    }

    /// Runs `f` on metric `id` under the read lock (no clone: this is on every hostcall).
    fn with<R>(&self, id: u32, f: impl FnOnce(Option<&Metric>) -> R) -> R {
        f(self.metrics.read().get((id >> 2) as usize))
    }

    /// `proxy_increment_metric`: counters take positive deltas only; gauges any; histograms
    /// none.
    pub fn increment(&self, id: u32, delta: i64) -> Result<(), Status> {
        match MetricType::from_raw(id & TYPE_MASK) {
            Some(MetricType::Counter) => self.with(id, |m| match m {
                Some(Metric::Counter(c)) if delta > 0 => {
                    c.inc_by(delta as u64);
                    Ok(())
                }
                Some(Metric::Counter(_)) => Err(Status::BadArgument),
                _ => Err(Status::NotFound),
            }),
            Some(MetricType::Gauge) => self.with(id, |m| match m {
                Some(Metric::Gauge(g)) => {
                    g.inc_by(delta);
                    Ok(())
                }
                _ => Err(Status::NotFound),
            }),
            _ => Err(Status::BadArgument),
        }
    }

    /// `proxy_record_metric`: adds to a counter, sets a gauge, records into a histogram.
    pub fn record(&self, id: u32, value: u64) -> Result<(), Status> {
        self.with(id, |m| match m {
            Some(Metric::Counter(c)) if id & TYPE_MASK == MetricType::Counter.raw() => {
                c.inc_by(value);
                Ok(())
            }
            Some(Metric::Gauge(g)) if id & TYPE_MASK == MetricType::Gauge.raw() => {
                g.set(i64::try_from(value).unwrap_or(i64::MAX));
                Ok(())
            }
            Some(Metric::Histogram(h, envoy)) if id & TYPE_MASK == MetricType::Histogram.raw() => {
                h.observe(value as f64);
                envoy.record(value, self.flushes.period());
                Ok(())
            }
            _ => Err(Status::NotFound),
        })
    }

    /// `proxy_get_metric`: counters and gauges; histograms are `BadArgument`.
    pub fn get(&self, id: u32) -> Result<u64, Status> {
        if id & TYPE_MASK == MetricType::Histogram.raw() {
            return Err(Status::BadArgument);
        }
        self.with(id, |m| match m {
            Some(Metric::Counter(c)) if id & TYPE_MASK == MetricType::Counter.raw() => Ok(c.get()),
            Some(Metric::Gauge(g)) if id & TYPE_MASK == MetricType::Gauge.raw() => Ok(g.get() as u64),
            _ => Err(Status::NotFound),
        })
    }

    /// Envoy's `/stats` text (`wasmcustom.<name>: <value>`): counters and gauges sorted by
    /// name, then histograms (`No recorded values`, or quantiles after a flush).
    pub fn envoy_text(&self, out: &mut String) {
        let by_name = self.by_name.read();
        let mut names: Vec<(&String, u32)> = by_name.iter().map(|((_, name), id)| (name, *id)).collect();
        names.sort();
        let period = self.flushes.period();
        let mut histograms = Vec::new();
        for (name, id) in names {
            let value = self.with(id, |m| match m {
                Some(Metric::Counter(c)) => Some(c.get().to_string()),
                Some(Metric::Gauge(g)) => Some(g.get().to_string()),
                Some(Metric::Histogram(_, envoy)) => {
                    histograms.push((name, envoy.summary(period)));
                    None
                }
                None => None,
            });
            if let Some(value) = value {
                out.push_str(&format!("wasmcustom.{}: {value}\n", stats_name(name)));
            }
        }
        for (name, summary) in histograms {
            out.push_str(&format!("wasmcustom.{}: {summary}\n", stats_name(name)));
        }
    }

    /// Prometheus text exposition of every plugin metric.
    pub fn encode(&self, out: &mut String) {
        let registry = self.registry.lock();
        if let Err(e) = prometheus_client::encoding::text::encode_registry(out, &registry) {
            tracing::warn!("cannot encode plugin metrics: {e}");
        }
    }
}

fn kind_name(kind: MetricType) -> &'static str {
    match kind {
        MetricType::Counter => "counter",
        MetricType::Gauge => "gauge",
        MetricType::Histogram => "histogram",
    }
}

/// A guest's metric name as Envoy's `/stats` text can show it: whitespace and control
/// characters (which would start a line of their own) become `_`.
fn stats_name(name: &str) -> String {
    name.chars().map(|c| if c.is_whitespace() || c.is_control() { '_' } else { c }).collect()
}

/// Prometheus names allow `[a-zA-Z0-9_:]`; anything else becomes `_`.
pub fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == ':' { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_envoy() {
        let m = PluginMetrics::default();
        let c = m.define("vm", MetricType::Counter, "reqs.total").unwrap();
        let g = m.define("vm", MetricType::Gauge, "inflight").unwrap();
        let h = m.define("vm", MetricType::Histogram, "latency").unwrap();
        assert_eq!(m.define("vm", MetricType::Counter, "reqs.total"), Ok(c));
        assert_eq!(m.increment(c, 0), Err(Status::BadArgument));
        m.increment(c, 2).unwrap();
        m.record(c, 3).unwrap();
        assert_eq!(m.get(c), Ok(5));
        m.increment(g, -4).unwrap();
        assert_eq!(m.get(g), Ok((-4i64) as u64));
        assert_eq!(m.get(h), Err(Status::BadArgument));
        assert_eq!(m.increment(h, 1), Err(Status::BadArgument));
        m.record(h, 7).unwrap();
        assert_eq!(m.get(1 << 10), Err(Status::NotFound));
        let mut text = String::new();
        m.encode(&mut text);
        assert!(text.contains("wasmcustom_reqs_total_total 5"), "{text}");
    }

    #[test]
    fn guest_names_cannot_break_the_exposition() {
        use super::super::Refusal;
        let m = PluginMetrics::default();
        let bad = Refusal::Status(Status::BadArgument);
        m.define("vm", MetricType::Counter, "a.b").unwrap();
        // Same Prometheus name once sanitized, or a suffix a counter adds.
        assert_eq!(m.define("vm", MetricType::Counter, "a_b"), Err(bad));
        assert_eq!(m.define("vm", MetricType::Gauge, "a.b_total"), Err(bad));
        assert_eq!(m.define("vm", MetricType::Gauge, &"x".repeat(MAX_NAME + 1)), Err(bad));
        let forged = m.define("vm", MetricType::Gauge, "g 1\n# HELP evil\nevil_metric").unwrap();
        m.record(forged, 7).unwrap();
        let mut text = String::new();
        m.encode(&mut text);
        assert!(
            text.lines().all(|l| l.starts_with("# HELP wasmcustom_")
                || l.starts_with("# TYPE wasmcustom_")
                || l.starts_with("wasmcustom_")
                || l == "# EOF"),
            "{text}"
        );
        let mut stats = String::new();
        m.envoy_text(&mut stats);
        assert_eq!(stats.lines().filter(|l| l.contains("evil")).count(), 1, "{stats}");
        m.set_limit("small", 2);
        m.define("small", MetricType::Counter, "one").unwrap();
        m.define("small", MetricType::Counter, "two").unwrap();
        assert_eq!(m.define("small", MetricType::Counter, "three"), Err(Refusal::Limit("max_metrics")));
        // Finding an existing metric is free.
        assert!(m.define("small", MetricType::Counter, "one").is_ok());
    }
}
