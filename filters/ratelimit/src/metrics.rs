//! The filter's counters (`wasmcustom.ratelimit.*` in Envoy's and weir's stats).

use weir_sdk::metrics::Counter;

/// Counter handles, defined once a configuration is accepted.
#[derive(Debug, Clone, Copy, Default)]
pub struct Metrics {
    /// Requests let through (also after a failure that `on_contention: allow` or
    /// `failure_mode_deny: false` lets through).
    pub allowed: Counter,
    /// Requests denied (over the limit, or failures that deny).
    pub denied: Counter,
    /// Shared-data failures, unreadable buckets, RLS failures and timeouts.
    pub errors: Counter,
    /// Bucket updates given up after `max_cas_attempts` CAS conflicts.
    pub contention: Counter,
    /// Descriptor table slots taken over from a descriptor whose bucket was not full (the
    /// table of a value-less pattern is too small for its active values).
    pub evictions: Counter,
}

impl Metrics {
    /// Defines (or finds) the counters.
    pub fn define() -> Metrics {
        Metrics {
            allowed: Counter::define("ratelimit.allowed"),
            denied: Counter::define("ratelimit.denied"),
            errors: Counter::define("ratelimit.errors"),
            contention: Counter::define("ratelimit.contention"),
            evictions: Counter::define("ratelimit.descriptors_evicted"),
        }
    }
}
