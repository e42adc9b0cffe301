//! Metric handles: defined once (in `on_configure` or lazily), used per request without
//! lookups. A metric the host refuses to define becomes a no-op handle and is logged once.

use weir_abi::MetricType;

use crate::host;

fn define(kind: MetricType, name: &str) -> Option<u32> {
    match host::define_metric(kind, name) {
        Ok(id) => Some(id),
        Err(status) => {
            log::warn!("weir-sdk: cannot define metric {name}: {status:?}; it will not be recorded");
            None
        }
    }
}

/// A counter (`wasmcustom.<name>` in the host's stats).
#[derive(Debug, Clone, Copy, Default)]
pub struct Counter(Option<u32>);

impl Counter {
    /// Defines (or finds) the counter.
    pub fn define(name: &str) -> Counter {
        Counter(define(MetricType::Counter, name))
    }

    /// Adds one.
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n` (0 is ignored: hosts refuse non-positive counter increments).
    pub fn add(&self, n: u64) {
        if let (Some(id), true) = (self.0, n > 0) {
            let _ = host::increment_metric(id, i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// The current value, when the host can tell.
    pub fn value(&self) -> Option<u64> {
        self.0.and_then(|id| host::metric(id).ok())
    }
}

/// A gauge.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauge(Option<u32>);

impl Gauge {
    /// Defines (or finds) the gauge.
    pub fn define(name: &str) -> Gauge {
        Gauge(define(MetricType::Gauge, name))
    }

    /// Sets the value.
    pub fn set(&self, value: u64) {
        if let Some(id) = self.0 {
            let _ = host::record_metric(id, value);
        }
    }

    /// Adds (or, negative, subtracts).
    pub fn add(&self, delta: i64) {
        if let Some(id) = self.0 {
            let _ = host::increment_metric(id, delta);
        }
    }
}

/// A histogram.
#[derive(Debug, Clone, Copy, Default)]
pub struct Histogram(Option<u32>);

impl Histogram {
    /// Defines (or finds) the histogram.
    pub fn define(name: &str) -> Histogram {
        Histogram(define(MetricType::Histogram, name))
    }

    /// Records a value.
    pub fn record(&self, value: u64) {
        if let Some(id) = self.0 {
            let _ = host::record_metric(id, value);
        }
    }
}
