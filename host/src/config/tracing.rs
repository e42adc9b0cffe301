//! `tracing`: OpenTelemetry traces of requests. weir continues the trace a request carries
//! (W3C `traceparent`/`tracestate`, or B3), makes a span per request with a child span per
//! plugin, passes its own span on to the upstream, and exports the sampled spans to an OTLP
//! collector over gRPC.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, duration};

/// Request tracing (Envoy's `tracing` with the `envoy.tracers.opentelemetry` provider).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TracingConfig {
    /// The OTLP/gRPC collector, `http://host:port` (plaintext HTTP/2: a collector on this
    /// machine or a sidecar; `https` is refused for now).
    pub otlp_endpoint: String,
    /// `service.name` of the spans' resource. Default `weir`.
    #[serde(default = "default_service")]
    pub service_name: String,
    /// Share of new traces sampled, 0–100 (Envoy's `random_sampling`). A request whose
    /// `traceparent` or B3 headers say sampled or not is followed as they say. Default 100.
    #[serde(default = "default_sampling")]
    pub sampling_percent: f64,
    /// Which headers carry the trace, read in this order, all written towards the upstream:
    /// `tracecontext` (W3C) and `b3` (Zipkin's `x-b3-*`, and the single `b3` read).
    /// Default `[tracecontext]`.
    #[serde(default = "default_propagation")]
    pub propagation: Vec<Propagation>,
    /// Spans waiting for export before new ones are dropped (counted in
    /// `weir_tracing_spans_dropped_total`). Default 4096.
    #[serde(default = "default_queue")]
    pub max_queued_spans: usize,
    /// Most spans per export request. Default 512.
    #[serde(default = "default_batch")]
    pub max_export_batch: usize,
    /// Longest a finished span waits for its batch. Default `1s`.
    #[serde(default = "default_interval", with = "duration")]
    pub export_interval: Duration,
    /// Time allowed for one export request (a failed or late one is counted in
    /// `weir_tracing_export_failures_total` and its spans dropped). Default `5s`.
    #[serde(default = "default_timeout", with = "duration")]
    pub export_timeout: Duration,
}

/// A trace header format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Propagation {
    /// W3C Trace Context: `traceparent`, `tracestate`.
    Tracecontext,
    /// Zipkin B3: `x-b3-traceid`, `x-b3-spanid`, `x-b3-sampled` (and `b3` read).
    B3,
}

impl TracingConfig {
    /// Checks every field; errors name it under `tracing`.
    pub fn check(&self) -> Result<(), ConfigError> {
        let invalid =
            |field: &str, reason: &str| Err(ConfigError::invalid(format!("tracing.{field}"), reason));
        match self.otlp_endpoint.strip_prefix("http://") {
            Some(rest) if !rest.is_empty() && http::Uri::try_from(self.otlp_endpoint.as_str()).is_ok() => {}
            _ if self.otlp_endpoint.starts_with("https://") => {
                return invalid("otlp_endpoint", "OTLP over TLS is not supported yet: use http://host:port");
            }
            _ => return invalid("otlp_endpoint", "must be http://host:port"),
        }
        if !(0.0..=100.0).contains(&self.sampling_percent) {
            return invalid("sampling_percent", "must be between 0 and 100");
        }
        if self.propagation.is_empty() {
            return invalid("propagation", "at least one of `tracecontext`, `b3`");
        }
        if self.max_queued_spans == 0 || self.max_queued_spans > 1 << 20 {
            return invalid("max_queued_spans", "must be between 1 and 1048576");
        }
        if self.max_export_batch == 0 || self.max_export_batch > self.max_queued_spans {
            return invalid("max_export_batch", "must be between 1 and max_queued_spans");
        }
        if self.export_interval.is_zero() {
            return invalid("export_interval", "must be above 0");
        }
        if self.export_timeout.is_zero() {
            return invalid("export_timeout", "must be above 0");
        }
        Ok(())
    }
}

fn default_service() -> String {
    "weir".into()
}

fn default_sampling() -> f64 {
    100.0
}

fn default_propagation() -> Vec<Propagation> {
    vec![Propagation::Tracecontext]
}

fn default_queue() -> usize {
    4096
}

fn default_batch() -> usize {
    512
}

fn default_interval() -> Duration {
    Duration::from_secs(1)
}

fn default_timeout() -> Duration {
    Duration::from_secs(5)
}
