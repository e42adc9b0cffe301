//! CORS, as Envoy's `envoy.filters.http.cors` does it, as a proxy-wasm filter: the same
//! `.wasm` in Envoy and in weir, with Envoy's `CorsPolicy` fields (see `README.md`).
//!
//! - A request without an `Origin` (or with an empty one), or on a route without a policy,
//!   passes untouched.
//! - A **preflight** (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) from an
//!   allowed origin is answered here: `200`, `access-control-allow-origin: <origin>`, and the
//!   policy's credentials, methods, headers, max age and private network access. From an
//!   origin not allowed it goes on to the upstream, unless `forward_not_matching_preflights`
//!   is `false` (then the answer lacks `access-control-allow-origin`).
//! - Any other request from an allowed origin gets `access-control-allow-origin: <origin>`,
//!   `access-control-allow-credentials` and `access-control-expose-headers` on its response.
//!
//! Policies: `policy` for every route, `routes[<route name>]` over it setting by setting (see
//! [`policy`]).

pub mod http;
pub mod matcher;
pub mod policy;

use weir_sdk::prelude::*;

pub use policy::{Config, Policies};

weir_sdk::main! {{
    weir_sdk::set_log_level(LogLevel::Info);
    weir_sdk::set_http_callbacks(HttpCallbacks::REQUEST_HEADERS | HttpCallbacks::RESPONSE_HEADERS);
    weir_sdk::set_root_context(|_| ConfigRoot::boxed("cors", http::Cors::new));
}}

impl FilterConfig for Policies {}
