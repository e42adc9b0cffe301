//! `abi-v010`: a filter built with proxy-wasm 0.1.4, so the module exports
//! `proxy_abi_version_0_1_0` and uses the 0.1.0 imports (`proxy_get_configuration`,
//! `proxy_continue_request`, two-argument `proxy_on_request_headers`).
//!
//! Configuration (plain text): the name of a header that blocks requests. Requests with it get
//! 451; the others get `x-abi-010: seen` upstream and `x-abi: 0.1.0` on the response.

#![allow(unsafe_code)]

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use proxy_wasm_010 as proxy_wasm;

/// Module entry point (0.1.x SDKs had no `main!` macro).
#[cfg_attr(target_arch = "wasm32", unsafe(no_mangle))]
pub fn _start() {
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> {
        Box::new(Root { block_header: String::new() })
    });
}

struct Root {
    block_header: String,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self.get_configuration().unwrap_or_default();
        self.block_header = String::from_utf8_lossy(&config).trim().to_string();
        !self.block_header.is_empty()
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Filter { block_header: self.block_header.clone() }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Filter {
    block_header: String,
}

impl Context for Filter {}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _headers: usize) -> Action {
        if self.get_http_request_header(&self.block_header).is_some() {
            self.send_http_response(451, vec![("x-abi", "0.1.0")], Some(b"blocked by an ABI 0.1.0 filter"));
            return Action::Pause;
        }
        let absent = self.get_http_request_header("x-absent").unwrap_or_else(|| "<none>".into());
        self.set_http_request_header("x-abi-010", Some("seen"));
        self.set_http_request_header("x-abi-010-absent", Some(&absent));
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _headers: usize) -> Action {
        self.set_http_response_header("x-abi", Some("0.1.0"));
        Action::Continue
    }
}
