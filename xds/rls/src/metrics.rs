//! Counters, and `GET /metrics` in the Prometheus text format. Series are per domain and
//! configured limit (bounded by the limits files), never per descriptor value.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

/// One limit's counters (envoyproxy/ratelimit's `total_hits`, `over_limit`, `within_limit`,
/// `shadow_mode`), counted in hits (`hits_addend`).
#[derive(Debug, Default)]
pub struct LimitCounters {
    /// Hits that landed on the limit.
    pub total_hits: AtomicU64,
    /// Hits answered `OVER_LIMIT`.
    pub over_limit: AtomicU64,
    /// Hits within the limit.
    pub within_limit: AtomicU64,
    /// Hits over a shadow-mode limit (answered `OK`).
    pub shadow_mode: AtomicU64,
}

/// Process-wide counters.
#[derive(Debug, Default)]
pub struct Metrics {
    limits: Mutex<BTreeMap<(String, String), Arc<LimitCounters>>>,
    /// `ShouldRateLimit` calls.
    pub requests: AtomicU64,
    /// Calls answered `OVER_LIMIT`.
    pub over_limit_responses: AtomicU64,
    /// Calls refused as invalid (empty domain, no descriptors, over a cap).
    pub invalid_requests: AtomicU64,
    /// Calls for a domain no file defines (answered `OK`).
    pub unknown_domain: AtomicU64,
    /// Calls that failed because Redis failed or timed out.
    pub redis_errors: AtomicU64,
    /// Limits files loaded.
    pub config_loads: AtomicU64,
    /// Limits files refused (the running limits stayed).
    pub config_load_errors: AtomicU64,
}

/// Adds one.
pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Adds `n`.
pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Metrics {
    /// The counters of `domain`'s limit at `path` (the same ones after a reload).
    pub fn limit(&self, domain: &str, path: &str) -> Arc<LimitCounters> {
        self.limits.lock().entry((domain.to_string(), path.to_string())).or_default().clone()
    }

    /// Forgets counters of limits that no loaded file defines any more.
    pub fn retain(&self, keep: impl Fn(&str, &str) -> bool) {
        self.limits.lock().retain(|(domain, path), _| keep(domain, path));
    }

    /// The Prometheus text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let totals = [
            ("requests", "ShouldRateLimit calls", &self.requests),
            ("over_limit_responses", "calls answered OVER_LIMIT", &self.over_limit_responses),
            ("invalid_requests", "calls refused as invalid", &self.invalid_requests),
            ("unknown_domain", "calls for a domain no limits file defines", &self.unknown_domain),
            ("redis_errors", "calls failed because Redis failed or timed out", &self.redis_errors),
            ("config_loads", "limits loaded", &self.config_loads),
            ("config_load_errors", "limits refused (the running ones stayed)", &self.config_load_errors),
        ];
        for (name, help, value) in totals {
            let _ =
                writeln!(out, "# HELP weir_rls_{name}_total {help}\n# TYPE weir_rls_{name}_total counter");
            let _ = writeln!(out, "weir_rls_{name}_total {}", value.load(Ordering::Relaxed));
        }
        let limits = self.limits.lock().clone();
        let series: [(&str, &str, Pick); 4] = [
            ("hits", "hits that landed on the limit", |c| &c.total_hits),
            ("over_limit", "hits answered OVER_LIMIT", |c| &c.over_limit),
            ("within_limit", "hits within the limit", |c| &c.within_limit),
            ("shadow_mode", "hits over a shadow-mode limit", |c| &c.shadow_mode),
        ];
        for (name, help, get) in series {
            let _ =
                writeln!(out, "# HELP weir_rls_{name}_total {help}\n# TYPE weir_rls_{name}_total counter");
            for ((domain, path), c) in &limits {
                let value = get(c).load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "weir_rls_{name}_total{{domain=\"{}\",limit=\"{}\"}} {value}",
                    escape(domain),
                    escape(path)
                );
            }
        }
        out
    }
}

/// Picks one of a limit's counters.
type Pick = fn(&LimitCounters) -> &AtomicU64;

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
