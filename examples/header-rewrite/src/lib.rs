//! Example filter: edits request and response headers and logs each request.
//!
//! Configuration (JSON):
//!
//! ```json
//! {
//!   "request_headers_to_set": {"x-example": "header-rewrite"},
//!   "request_headers_to_remove": ["x-internal"],
//!   "response_headers_to_set": {"x-powered-by": "weir"},
//!   "response_headers_to_remove": ["server-timing"]
//! }
//! ```
//!
//! Every field is optional. "Set" replaces any existing value.

use std::collections::BTreeMap;
use std::rc::Rc;

use serde::Deserialize;
use weir_sdk::prelude::*;

/// The filter's configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Request headers to set (replacing existing values).
    #[serde(default)]
    pub request_headers_to_set: BTreeMap<String, String>,
    /// Request headers to remove.
    #[serde(default)]
    pub request_headers_to_remove: Vec<String>,
    /// Response headers to set (replacing existing values).
    #[serde(default)]
    pub response_headers_to_set: BTreeMap<String, String>,
    /// Response headers to remove.
    #[serde(default)]
    pub response_headers_to_remove: Vec<String>,
}

weir_sdk::main! {{
    weir_sdk::set_log_level(LogLevel::Trace);
    // Every callback the HTTP context implements; weir makes no others.
    weir_sdk::set_http_callbacks(HttpCallbacks::REQUEST_HEADERS | HttpCallbacks::RESPONSE_HEADERS);
    weir_sdk::set_root_context(|_| ConfigRoot::boxed("header-rewrite", |config| Rewrite { config }));
}}

impl FilterConfig for Config {}

struct Rewrite {
    config: Rc<Config>,
}

impl Context for Rewrite {}

impl HttpContext for Rewrite {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        for name in &self.config.request_headers_to_remove {
            self.set_http_request_header(name, None);
        }
        for (name, value) in &self.config.request_headers_to_set {
            self.set_http_request_header(name, Some(value));
        }
        let method = self.get_http_request_header(":method").unwrap_or_default();
        let path = self.get_http_request_header(":path").unwrap_or_default();
        log::info!("header-rewrite: {method} {path}");
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        for name in &self.config.response_headers_to_remove {
            self.set_http_response_header(name, None);
        }
        for (name, value) in &self.config.response_headers_to_set {
            self.set_http_response_header(name, Some(value));
        }
        Action::Continue
    }
}
