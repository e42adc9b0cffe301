//! Envoy's request-time histograms for `--stats-compat envoy`: milliseconds, Envoy's default
//! buckets, written as Envoy writes them (`le="0.5"`, `le="1"`, …, `le="+Inf"`), so queries
//! such as `histogram_quantile(0.99, envoy_http_downstream_rq_time_bucket)` carry over.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::label_value;

/// Envoy's default histogram buckets, in milliseconds.
const BUCKETS: [f64; 19] = [
    0.5, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0, 60000.0,
    300000.0, 600000.0, 1800000.0, 3600000.0,
];

/// One histogram: a count per bucket (not cumulative; the last is `+Inf` alone), the sum in
/// microseconds and the count.
#[derive(Debug, Default)]
pub struct EnvoyTime {
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_us: AtomicU64,
    count: AtomicU64,
}

impl EnvoyTime {
    /// Records one duration.
    pub fn observe(&self, elapsed: Duration) {
        let ms = elapsed.as_secs_f64() * 1000.0;
        let bucket = BUCKETS.iter().position(|upper| ms <= *upper).unwrap_or(BUCKETS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// The histograms of one name, by the listener or cluster they are about.
#[derive(Debug, Default)]
pub struct EnvoyTimes {
    by_name: Mutex<HashMap<String, Arc<EnvoyTime>>>,
}

impl EnvoyTimes {
    /// The histogram of `name`, made on first use.
    pub fn get(&self, name: &str) -> Arc<EnvoyTime> {
        self.by_name.lock().entry(name.to_string()).or_default().clone()
    }

    /// Appends `metric` (`_bucket`, `_sum`, `_count`) for each of `names`, labelled `label`.
    pub fn encode(&self, out: &mut String, metric: &str, label: &str, names: &[&str]) {
        let _ = writeln!(out, "# TYPE {metric} histogram");
        for name in names {
            let time = self.get(name);
            let value = label_value(name);
            let mut cumulative = 0;
            for (i, counted) in time.buckets.iter().enumerate() {
                cumulative += counted.load(Ordering::Relaxed);
                let le = BUCKETS.get(i).map_or_else(|| "+Inf".to_string(), |b| b.to_string());
                let _ = writeln!(out, "{metric}_bucket{{{label}=\"{value}\",le=\"{le}\"}} {cumulative}");
            }
            let sum = time.sum_us.load(Ordering::Relaxed) as f64 / 1000.0;
            let _ = writeln!(out, "{metric}_sum{{{label}=\"{value}\"}} {sum}");
            let _ =
                writeln!(out, "{metric}_count{{{label}=\"{value}\"}} {}", time.count.load(Ordering::Relaxed));
        }
    }
}
