//! `tests/filters/tcp-router` written with weir-sdk's [`StreamContext`] instead of the
//! `proxy-wasm` crate: the same behaviour, so the TCP proxy suite runs both alike:
//!
//! - its plugin configuration, if not empty, names the cluster each connection goes to: it
//!   sets Envoy's `envoy.tcp_proxy.cluster` filter state with the `set_envoy_filter_state`
//!   foreign function in `on_new_connection`;
//! - downstream data is held (Pause) until it ends with a newline, then all of it goes on
//!   upper-cased and prefixed with the number of data callbacks it took (`2:AB\n`);
//! - a line `close` closes the connection (`close_downstream`) instead of going on;
//! - upstream data goes back to the client upper-cased;
//! - counters: `tcp_router.held` (data callbacks that paused), `tcp_router.closed`
//!   (`on_downstream_close` calls), `tcp_router.logged` (`on_log` calls),
//!   `tcp_router.upstream_closed` (`on_upstream_close` calls); gauge `tcp_router.largest` (the
//!   most downstream data one callback was shown).

use weir_sdk::MetricType;
use weir_sdk::host::{self as hostcalls, callout};
use weir_sdk::prelude::*;

weir_sdk::main! {{
    weir_sdk::set_log_level(LogLevel::Info);
    weir_sdk::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

#[derive(Default, Clone, Copy)]
struct Metrics {
    held: u32,
    closed: u32,
    logged: u32,
    upstream_closed: u32,
    largest: u32,
}

#[derive(Default)]
struct Root {
    cluster: String,
    metrics: Metrics,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        self.cluster = String::from_utf8_lossy(&config).trim().to_string();
        let counter = |name| hostcalls::define_metric(MetricType::Counter, name).unwrap_or(0);
        self.metrics = Metrics {
            held: counter("tcp_router.held"),
            closed: counter("tcp_router.closed"),
            logged: counter("tcp_router.logged"),
            upstream_closed: counter("tcp_router.upstream_closed"),
            largest: hostcalls::define_metric(MetricType::Gauge, "tcp_router.largest").unwrap_or(0),
        };
        true
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::StreamContext)
    }

    fn create_stream_context(&self, _id: u32) -> Option<Box<dyn StreamContext>> {
        Some(Box::new(Connection { cluster: self.cluster.clone(), metrics: self.metrics, calls: 0 }))
    }
}

struct Connection {
    cluster: String,
    metrics: Metrics,
    /// Data callbacks since the last line went on.
    calls: u32,
}

impl Context for Connection {}

/// `SetEnvoyFilterStateArguments { path = 1, value = 2, span = 3 (DownstreamConnection) }`.
fn filter_state_arguments(path: &str, value: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for (field, bytes) in [(1u8, path.as_bytes()), (2, value.as_bytes())] {
        out.push(field << 3 | 2);
        out.push(bytes.len() as u8);
        out.extend_from_slice(bytes);
    }
    out.extend_from_slice(&[3 << 3, 2]);
    out
}

impl StreamContext for Connection {
    fn on_new_connection(&mut self) -> Action {
        if !self.cluster.is_empty() {
            let args = filter_state_arguments("envoy.tcp_proxy.cluster", &self.cluster);
            if let Err(e) = callout::call_foreign_function("set_envoy_filter_state", Some(&args)) {
                log::warn!("set_envoy_filter_state failed: {e:?}");
            }
        }
        Action::Continue
    }

    fn on_downstream_data(&mut self, size: usize, _end_of_stream: bool) -> Action {
        self.calls += 1;
        let largest = hostcalls::metric(self.metrics.largest).unwrap_or(0);
        if size as u64 > largest {
            let _ = hostcalls::record_metric(self.metrics.largest, size as u64);
        }
        let data = self.get_downstream_data(0, size).unwrap_or_default();
        if data.is_empty() {
            return Action::Continue;
        }
        if !data.ends_with(b"\n") {
            let _ = hostcalls::increment_metric(self.metrics.held, 1);
            return Action::Pause;
        }
        if data == b"close\n" {
            self.close_downstream();
            return Action::Pause;
        }
        let mut out = format!("{}:", self.calls).into_bytes();
        out.extend(data.to_ascii_uppercase());
        self.set_downstream_data(0, size, &out);
        self.calls = 0;
        Action::Continue
    }

    fn on_upstream_data(&mut self, size: usize, _end_of_stream: bool) -> Action {
        let data = self.get_upstream_data(0, size).unwrap_or_default();
        if !data.is_empty() {
            self.set_upstream_data(0, size, &data.to_ascii_uppercase());
        }
        Action::Continue
    }

    fn on_downstream_close(&mut self, _peer: PeerType) {
        let _ = hostcalls::increment_metric(self.metrics.closed, 1);
    }

    fn on_upstream_close(&mut self, _peer: PeerType) {
        let _ = hostcalls::increment_metric(self.metrics.upstream_closed, 1);
    }

    fn on_log(&mut self) {
        let _ = hostcalls::increment_metric(self.metrics.logged, 1);
    }
}
