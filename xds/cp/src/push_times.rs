//! How long changes take to reach the fleet, in the spirit of istiod's `pilot_xds_push_time`
//! and `pilot_proxy_convergence_time`: two Prometheus histograms, from a change of the store
//! to each response it caused being handed to its stream (`weir_cp_push_seconds`), and to the
//! node's ACK of that response (`weir_cp_convergence_seconds`; a NACK is not counted). Fixed
//! buckets, atomics only: observing never takes a lock.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, in seconds (`+Inf` follows).
pub const BOUNDS: [f64; 12] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// One histogram.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations per bucket (not cumulative); the last is above every bound.
    counts: [AtomicU64; BOUNDS.len() + 1],
    /// Sum of the observations, microseconds.
    sum_us: AtomicU64,
}

impl Histogram {
    /// Records one duration.
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let bucket = BOUNDS.iter().position(|bound| seconds <= *bound).unwrap_or(BOUNDS.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_us.fetch_add(micros, Ordering::Relaxed);
    }

    /// Writes the family `weir_cp_<name>` in the Prometheus text format.
    pub fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP weir_cp_{name} {help}\n# TYPE weir_cp_{name} histogram");
        let mut cumulative = 0;
        for (i, count) in self.counts.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            match BOUNDS.get(i) {
                Some(bound) => writeln!(out, "weir_cp_{name}_bucket{{le=\"{bound}\"}} {cumulative}"),
                None => writeln!(out, "weir_cp_{name}_bucket{{le=\"+Inf\"}} {cumulative}"),
            }
            .ok();
        }
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "weir_cp_{name}_sum {sum}\nweir_cp_{name}_count {cumulative}");
    }
}

/// The two histograms.
#[derive(Debug, Default)]
pub struct PushTimes {
    /// Change → a response it caused handed to its stream.
    pub push: Histogram,
    /// Change → the node's ACK of that response.
    pub convergence: Histogram,
}

impl PushTimes {
    /// Writes both families.
    pub fn render(&self, out: &mut String) {
        self.push.render(
            out,
            "push_seconds",
            "time from a change to each response it caused being handed to its xDS stream",
        );
        self.convergence.render(
            out,
            "convergence_seconds",
            "time from a change to the node's ACK of the response it caused",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_with_sum_and_count() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(30));
        h.observe(Duration::from_secs(20));
        let mut out = String::new();
        h.render(&mut out, "t", "help");
        assert!(out.contains("# TYPE weir_cp_t histogram\n"), "{out}");
        assert!(out.contains("weir_cp_t_bucket{le=\"0.001\"} 1\n"), "{out}");
        assert!(out.contains("weir_cp_t_bucket{le=\"0.025\"} 1\n"), "{out}");
        assert!(out.contains("weir_cp_t_bucket{le=\"0.05\"} 2\n"), "{out}");
        assert!(out.contains("weir_cp_t_bucket{le=\"10\"} 2\n"), "{out}");
        assert!(out.contains("weir_cp_t_bucket{le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("weir_cp_t_sum 20.0305\n"), "{out}");
        assert!(out.contains("weir_cp_t_count 3\n"), "{out}");
    }
}
