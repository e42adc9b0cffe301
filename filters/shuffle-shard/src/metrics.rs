//! The filter's counters (`wasmcustom.shuffle_shard.*` in Envoy's and weir's stats).

use weir_sdk::metrics::Counter;

/// Counter handles, defined once in `on_configure`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Metrics {
    /// `shuffle_shard.requests`: every request the filter saw.
    pub requests: Counter,
    /// `shuffle_shard.routed`: requests given a shard and a cluster header.
    pub routed: Counter,
    /// `shuffle_shard.rejected`: requests answered 400 for a missing customer id.
    pub rejected: Counter,
    /// `shuffle_shard.defaulted`: requests without a customer id sharded as
    /// `default_customer`.
    pub defaulted: Counter,
    /// `shuffle_shard.invalid_runtime`: invalid runtime values met (one per key per request).
    pub invalid_runtime: Counter,
    /// `shuffle_shard.clamped`: requests whose shard size was larger than `total_hosts`.
    pub clamped: Counter,
    /// `shuffle_shard.errors`: hostcalls the host refused (e.g. setting a header).
    pub errors: Counter,
}

impl Metrics {
    /// Defines (or finds) every counter.
    pub fn define() -> Metrics {
        Metrics {
            requests: Counter::define("shuffle_shard.requests"),
            routed: Counter::define("shuffle_shard.routed"),
            rejected: Counter::define("shuffle_shard.rejected"),
            defaulted: Counter::define("shuffle_shard.defaulted"),
            invalid_runtime: Counter::define("shuffle_shard.invalid_runtime"),
            clamped: Counter::define("shuffle_shard.clamped"),
            errors: Counter::define("shuffle_shard.errors"),
        }
    }
}
