//! The bridge's metrics (`wasmcustom.rtds_bridge.*` in Envoy's `/stats`).

use weir_sdk::metrics::{Counter, Gauge};

/// Metric handles, defined once in `on_configure`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Metrics {
    /// `rtds_bridge.connected`: 1 while the stream is up (a response arrived on it), else 0.
    pub connected: Gauge,
    /// `rtds_bridge.updates_accepted`: responses applied and ACKed.
    pub accepted: Counter,
    /// `rtds_bridge.updates_rejected`: responses NACKed (the previous values stay).
    pub rejected: Counter,
    /// `rtds_bridge.reconnects`: stream (re)opening attempts after the first.
    pub reconnects: Counter,
}

impl Metrics {
    /// Defines (or finds) every metric.
    pub fn define() -> Metrics {
        let metrics = Metrics {
            connected: Gauge::define("rtds_bridge.connected"),
            accepted: Counter::define("rtds_bridge.updates_accepted"),
            rejected: Counter::define("rtds_bridge.updates_rejected"),
            reconnects: Counter::define("rtds_bridge.reconnects"),
        };
        metrics.connected.set(0);
        metrics
    }
}
