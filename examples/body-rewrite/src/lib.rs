//! Example filter: rewrites a whole request or response body (upper-cases its ASCII letters,
//! or replaces it with a fixed text). Used by `cargo xtask bench` for the 64 KiB body case.
//!
//! Configuration (JSON):
//!
//! ```json
//! {"direction": "request", "replace_with": null}
//! ```
//!
//! - `direction`: `request` (default), `response` or `both`: which body is rewritten.
//! - `replace_with`: when set, the body becomes this text; otherwise its ASCII letters are
//!   upper-cased (same length).
//!
//! The body is buffered until end of stream (`Pause` from the body callback, Envoy's
//! `StopIterationAndBuffer`), then rewritten whole with `proxy_set_buffer_bytes`. A
//! replacement changes the length, so the filter then removes `content-length` in the headers
//! callback, as every body-changing filter must; upper-casing keeps it.

use std::rc::Rc;

use serde::Deserialize;
use weir_sdk::prelude::*;

/// Which body the filter rewrites.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The request body only.
    #[default]
    Request,
    /// The response body only.
    Response,
    /// Both bodies.
    Both,
}

impl Direction {
    fn request(self) -> bool {
        matches!(self, Direction::Request | Direction::Both)
    }

    fn response(self) -> bool {
        matches!(self, Direction::Response | Direction::Both)
    }
}

/// The filter's configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Which body to rewrite.
    #[serde(default)]
    pub direction: Direction,
    /// Replace the body with this text instead of upper-casing it.
    #[serde(default)]
    pub replace_with: Option<String>,
}

/// The rewritten body (upper-cased in place, or replaced).
pub fn rewrite(config: &Config, mut body: Vec<u8>) -> Vec<u8> {
    match &config.replace_with {
        Some(text) => text.as_bytes().to_vec(),
        None => {
            body.make_ascii_uppercase();
            body
        }
    }
}

weir_sdk::main! {{
    weir_sdk::set_log_level(LogLevel::Trace);
    // Every callback the HTTP context implements; weir makes no others.
    weir_sdk::set_http_callbacks(HttpCallbacks::REQUEST_HEADERS
        | HttpCallbacks::REQUEST_BODY
        | HttpCallbacks::RESPONSE_HEADERS
        | HttpCallbacks::RESPONSE_BODY);
    weir_sdk::set_root_context(|_| ConfigRoot::boxed("body-rewrite", |config| Rewrite { config }));
}}

impl FilterConfig for Config {}

struct Rewrite {
    config: Rc<Config>,
}

impl Context for Rewrite {}

impl HttpContext for Rewrite {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        if self.config.direction.request() && self.config.replace_with.is_some() {
            self.set_http_request_header("content-length", None);
        }
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !self.config.direction.request() {
            return Action::Continue;
        }
        if !end_of_stream {
            return Action::Pause;
        }
        let body = self.get_http_request_body(0, body_size).unwrap_or_default();
        self.set_http_request_body(0, body_size, &rewrite(&self.config, body));
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        if self.config.direction.response() && self.config.replace_with.is_some() {
            self.set_http_response_header("content-length", None);
        }
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !self.config.direction.response() {
            return Action::Continue;
        }
        if !end_of_stream {
            return Action::Pause;
        }
        let body = self.get_http_response_body(0, body_size).unwrap_or_default();
        self.set_http_response_body(0, body_size, &rewrite(&self.config, body));
        Action::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_cases_or_replaces() {
        let upper = Config::default();
        assert_eq!(rewrite(&upper, b"Hello, body 1!".to_vec()), b"HELLO, BODY 1!");
        let replace = Config { direction: Direction::Both, replace_with: Some("gone".into()) };
        assert_eq!(rewrite(&replace, b"anything".to_vec()), b"gone");
    }

    #[test]
    fn config_fields() {
        let c: Config = parse_config(br#"{"direction":"response","replace_with":"x"}"#).unwrap_or_default();
        assert_eq!(c.direction, Direction::Response);
        assert_eq!(c.replace_with.as_deref(), Some("x"));
        assert!(parse_config::<Config>(br#"{"direction":"sideways"}"#).is_err());
        assert_eq!(parse_config::<Config>(b"").map(|c| c.direction).ok(), Some(Direction::Request));
    }
}
