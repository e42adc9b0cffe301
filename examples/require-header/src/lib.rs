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
use weir_sdk::proxy_wasm;

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

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Trace);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { config: None }) });
}}

struct Root {
    config: Option<Rc<Config>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        match parse_config::<Config>(&bytes) {
            Ok(config) if !config.header.is_empty() => {
                self.config = Some(Rc::new(config));
                true
            }
            Ok(_) => {
                log::error!("require-header: `header` must not be empty");
                false
            }
            Err(e) => {
                log::error!("require-header: {e}");
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        let config = self.config.clone()?;
        Some(Box::new(Require { config }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
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
