//! OpenTelemetry request tracing: a span per request (kind server) continuing the trace the
//! request carries, a child span per plugin (from its first callback to its last, with the time
//! spent in them), weir's span passed on to the upstream, sampled spans exported over OTLP.

mod context;
mod export;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::trace::v1::{Span, Status, span, status};
use parking_lot::Mutex;
use weir_http::{HeaderMap, HttpStream};

use crate::config::TracingConfig;
use context::{decision_only, extract, inject};
use export::{Counters, Exporter, int, text};

/// Longest `tracestate` passed on and put on spans (W3C allows dropping longer ones).
const MAX_TRACESTATE: usize = 512;
/// Longest text attribute on a span (paths, authorities, request ids), in bytes.
const MAX_ATTRIBUTE: usize = 256;

/// The tracer of a configuration: what it propagates and samples, and its exporter.
#[derive(Debug)]
pub struct Tracer {
    config: TracingConfig,
    exporter: Exporter,
}

/// The span of one request.
#[derive(Debug, Clone, Copy)]
pub struct RequestSpan {
    /// Its trace (the caller's, or new).
    pub trace_id: [u8; 16],
    /// weir's span id.
    pub span_id: [u8; 8],
    /// The caller's span, if the request carried one.
    pub parent: Option<[u8; 8]>,
    /// Whether it is exported (and said sampled to the upstream).
    pub sampled: bool,
    /// The request's `tracestate` goes with the trace: it came with the `traceparent`
    /// continued, and is at most 512 bytes.
    pub keep_state: bool,
    /// When it started, on the plugins' clock (`weir_proxy_wasm::plugin::clock`).
    pub start_ticks: u64,
}

/// One plugin's callbacks in one exchange.
#[derive(Debug, Clone, Copy)]
pub struct PluginTime<'a> {
    /// The plugin.
    pub name: &'a str,
    /// Callbacks run.
    pub calls: u64,
    /// Time in them, in nanoseconds.
    pub ns: u64,
    /// Start of the first and end of the last, on the plugins' clock.
    pub first: u64,
    /// See `first`.
    pub last: u64,
}

impl Tracer {
    /// Starts the span of a request with these headers (as received).
    pub fn start(&self, headers: &HeaderMap) -> RequestSpan {
        let incoming = extract(headers, &self.config.propagation);
        let decided = match incoming {
            Some(incoming) => incoming.sampled,
            None => decision_only(headers, &self.config.propagation),
        };
        let sampled = decided.unwrap_or_else(|| fastrand::f64() * 100.0 < self.config.sampling_percent);
        let state_len = headers.get(b"tracestate").map_or(0, |s| s.len());
        RequestSpan {
            trace_id: incoming.map_or_else(|| fastrand::u128(1..).to_be_bytes(), |i| i.trace_id),
            span_id: new_span_id(),
            parent: incoming.map(|i| i.span_id),
            sampled,
            keep_state: incoming.is_some_and(|i| i.w3c) && state_len <= MAX_TRACESTATE,
            start_ticks: weir_proxy_wasm::plugin::clock::ticks(),
        }
    }

    /// Writes `span` into the headers going upstream.
    pub fn inject(&self, headers: &mut HeaderMap, span: &RequestSpan) {
        let ids = (span.trace_id, span.span_id);
        inject(headers, &self.config.propagation, ids, span.sampled, span.keep_state);
    }

    /// Ends the span of `stream` and its plugins' spans, and queues them for export if sampled.
    pub fn finish<'a>(
        &self,
        span: &RequestSpan,
        stream: &HttpStream,
        plugins: impl Iterator<Item = PluginTime<'a>>,
    ) {
        if !span.sampled {
            return;
        }
        let info = &stream.info;
        let start = unix_nanos(info.start_time);
        let at = |ticks: u64| start + weir_proxy_wasm::plugin::clock::nanos_between(span.start_ticks, ticks);
        let end = start.max(unix_nanos(SystemTime::now()));
        let header = |name: &str| cut(stream.request_headers.get_str(name).unwrap_or_default());
        let code = info.response_code.unwrap_or(0);
        let mut attributes = vec![
            text("http.request.method", header(":method")),
            text("url.path", header(":path")),
            text("server.address", header(":authority")),
            text("network.protocol.name", "http"),
            text("network.protocol.version", info.protocol.trim_start_matches("HTTP/")),
            int("http.response.status_code", i64::from(code)),
            text("client.address", &info.downstream_remote.ip().to_string()),
            text("weir.listener", &info.listener_name),
            text("weir.response_code_details", &info.response_code_details),
            // Envoy's keys for these two, as its spans carry them.
            text(
                "response_flags",
                crate::access_log::response_flags(info.response_flags, &info.response_code_details),
            ),
            text("guid:x-request-id", header("x-request-id")),
        ];
        if !info.route_name.is_empty() {
            attributes.push(text("weir.route", &info.route_name));
        }
        if let Some(cluster) = &info.cluster_name {
            attributes.push(text("weir.upstream_cluster", cluster));
        }
        if let Some(address) = info.upstream_address {
            attributes.push(text("server.upstream.address", &address.to_string()));
        }
        let method = header(":method");
        let name = if info.route_name.is_empty() {
            method.to_string()
        } else {
            format!("{method} {}", info.route_name)
        };
        let status = (code >= 500 || code == 0).then(|| Status {
            code: status::StatusCode::Error as i32,
            message: info.response_code_details.clone(),
        });
        let trace_state = match span.keep_state {
            true => stream.request_headers.get_str("tracestate").map(cut).unwrap_or_default().to_string(),
            false => String::new(),
        };
        for plugin in plugins.filter(|p| p.calls > 0) {
            self.exporter.send(Span {
                trace_id: span.trace_id.to_vec(),
                span_id: new_span_id().to_vec(),
                parent_span_id: span.span_id.to_vec(),
                trace_state: trace_state.clone(),
                name: format!("plugin {}", plugin.name),
                kind: span::SpanKind::Internal as i32,
                start_time_unix_nano: at(plugin.first),
                end_time_unix_nano: at(plugin.last),
                attributes: vec![
                    text("weir.plugin", plugin.name),
                    int("weir.plugin.callbacks", i64::try_from(plugin.calls).unwrap_or(i64::MAX)),
                    int("weir.plugin.callback_time_ns", i64::try_from(plugin.ns).unwrap_or(i64::MAX)),
                ],
                ..Span::default()
            });
        }
        self.exporter.send(Span {
            trace_id: span.trace_id.to_vec(),
            span_id: span.span_id.to_vec(),
            parent_span_id: span.parent.map(|p| p.to_vec()).unwrap_or_default(),
            trace_state,
            name,
            kind: span::SpanKind::Server as i32,
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            attributes,
            status,
            ..Span::default()
        });
    }
}

/// The process's tracer, kept across configurations while `tracing` stays the same, and
/// its counters (kept across tracers, so they never go back).
#[derive(Debug, Default)]
pub struct Tracers {
    /// Held by the workers' listeners: once none uses it, its thread exports what it holds
    /// and ends.
    current: Mutex<std::sync::Weak<Tracer>>,
    counters: Arc<Counters>,
}

impl Tracers {
    /// The tracer for `config`: the running one if its config is the same, else a new one.
    pub fn get(&self, config: &TracingConfig) -> Result<Arc<Tracer>, String> {
        let mut current = self.current.lock();
        if let Some(tracer) = current.upgrade().filter(|t| t.config == *config) {
            return Ok(tracer);
        }
        let exporter = Exporter::start(config, self.counters.clone())
            .map_err(|e| format!("tracing: exporter not started: {e}"))?;
        let tracer = Arc::new(Tracer { config: config.clone(), exporter });
        *current = Arc::downgrade(&tracer);
        Ok(tracer)
    }

    /// Spans exported, dropped, and failed export requests so far (every tracer of the
    /// process).
    pub fn counts(&self) -> (u64, u64, u64) {
        let c = &self.counters;
        // Failures first: the spans of a failure read are in `dropped` (counted before it).
        let failures = c.failures.load(Ordering::Acquire);
        (c.exported.load(Ordering::Relaxed), c.dropped.load(Ordering::Acquire), failures)
    }
}

/// `text` cut to [`MAX_ATTRIBUTE`] bytes (on a character boundary).
fn cut(text: &str) -> &str {
    if text.len() <= MAX_ATTRIBUTE {
        return text;
    }
    let end = (0..=MAX_ATTRIBUTE).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
    &text[..end]
}

/// A random span id (never all zeros, which W3C reserves for "none").
fn new_span_id() -> [u8; 8] {
    fastrand::u64(1..).to_be_bytes()
}

fn unix_nanos(time: SystemTime) -> u64 {
    u64::try_from(time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_nanos()).unwrap_or(u64::MAX)
}
