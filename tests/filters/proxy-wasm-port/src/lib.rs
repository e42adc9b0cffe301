//! A filter written against the proxy-wasm-rust-sdk API (`proxy_wasm::traits`,
//! `proxy_wasm::types`, `proxy_wasm::hostcalls`, `proxy_wasm::main!`), built twice from this
//! one file: against the `proxy-wasm` crate (`tests/filters/proxy-wasm-original`) and against
//! weir-sdk renamed to `proxy-wasm` in `Cargo.toml` (`tests/filters/proxy-wasm-port`). The
//! porting test (`host/tests/porting.rs`) runs both and expects the same answers.
//!
//! - `GET /hello`: a local reply `200 Hello, World!` with `powered-by: proxy-wasm` and the
//!   request count kept in shared data (compare-and-swap);
//! - anything else: `x-headers-seen` (how many request headers) and `x-via: port` added to the
//!   request; the response gets `x-request-path` (the `request.path` property) and
//!   `x-clock: set` when the host's clock reads after 2020.

use std::time::{Duration, UNIX_EPOCH};

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MapType};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(PortRoot) });
}}

struct PortRoot;

impl Context for PortRoot {}

impl RootContext for PortRoot {
    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Port { context_id }))
    }
}

struct Port {
    context_id: u32,
}

impl Port {
    /// Adds one to the shared request counter; returns the new count.
    fn count(&self) -> u64 {
        for _ in 0..8 {
            let (value, cas) = self.get_shared_data("port.requests");
            let count = value
                .and_then(|v| String::from_utf8(v).ok())
                .and_then(|text| text.parse::<u64>().ok())
                .unwrap_or(0)
                + 1;
            if self.set_shared_data("port.requests", Some(count.to_string().as_bytes()), cas).is_ok() {
                return count;
            }
        }
        0
    }
}

impl Context for Port {}

impl HttpContext for Port {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let count = self.count();
        if self.get_http_request_header(":path").as_deref() == Some("/hello") {
            let count = count.to_string();
            let headers = vec![("powered-by", "proxy-wasm"), ("x-count", count.as_str())];
            self.send_http_response(200, headers, Some(b"Hello, World!\n"));
            return Action::Pause;
        }
        let seen = self.get_http_request_headers().len().to_string();
        self.set_http_request_header("x-headers-seen", Some(&seen));
        if let Err(status) = hostcalls::add_map_value(MapType::HttpRequestHeaders, "x-via", "port") {
            log::warn!("#{}: add_map_value: {status:?}", self.context_id);
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let path = hostcalls::get_property(vec!["request", "path"]).ok().flatten().unwrap_or_default();
        self.set_http_response_header("x-request-path", Some(&String::from_utf8_lossy(&path)));
        let since_epoch = self.get_current_time().duration_since(UNIX_EPOCH).unwrap_or_default();
        // 2020-01-01: a clock that reads later is the host's, not zero.
        let set = since_epoch > Duration::from_secs(1_577_836_800);
        self.set_http_response_header("x-clock", Some(if set { "set" } else { "unset" }));
        Action::Continue
    }

    fn on_log(&mut self) {
        log::info!("#{} done", self.context_id);
    }
}
