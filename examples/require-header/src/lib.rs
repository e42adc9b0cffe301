//! Example filter: answers a local reply when a request lacks a header.
//!
//! Configuration (JSON):
//!
//! ```json
//! {"header": "x-api-key", "status": 403, "body": "missing x-api-key\n"}
//! ```
//!
//! Requests that carry the header continue untouched; the others get `status` with `body` and
//! an `x-denied-by: require-header` header, and never reach the upstream.

use std::rc::Rc;

use serde::Deserialize;
use weir_sdk::prelude::*;

/// The filter's configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The header every request must carry.
    pub header: String,
    /// Status of the local reply (default 403).
    #[serde(default = "default_status")]
    pub status: u32,
    /// Body of the local reply.
    #[serde(default)]
    pub body: String,
}

fn default_status() -> u32 {
    403
}

weir_sdk::main! {{
    weir_sdk::set_log_level(LogLevel::Trace);
    // Every callback the HTTP context implements; weir makes no others.
    weir_sdk::set_http_callbacks(HttpCallbacks::REQUEST_HEADERS);
    weir_sdk::set_root_context(|_| ConfigRoot::boxed("require-header", |config| Require { config }));
}}

impl FilterConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if self.header.is_empty() { Err("`header` must not be empty".into()) } else { Ok(()) }
    }
}

struct Require {
    config: Rc<Config>,
}

impl Context for Require {}

impl HttpContext for Require {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        if self.get_http_request_header_bytes(&self.config.header).is_some() {
            return Action::Continue;
        }
        log::info!("require-header: rejecting request without {}", self.config.header);
        self.send_http_response(
            self.config.status,
            vec![("x-denied-by", "require-header")],
            Some(self.config.body.as_bytes()),
        );
        Action::Pause
    }
}
