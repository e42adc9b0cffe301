//! # weir-filter-auth
//!
//! A proxy-wasm HTTP filter that authenticates requests and enforces per-route access, built
//! once for `wasm32-wasip1` and run unchanged in Envoy and in weir.
//!
//! - **Credentials**: API keys (header or query parameter), HTTP Basic, and JWTs (HS256,
//!   RS256, ES256) checked against a JWKS given inline or fetched from a cluster by callout
//!   and cached per worker.
//! - **Replies** as Envoy's `jwt_authn`: 401 with `WWW-Authenticate` for a missing or invalid
//!   credential, 403 for an identity a route does not allow.
//! - **Forwarding**: the consumer's name and chosen claims go to the upstream as request
//!   headers (any copies sent by the client are removed first); the credential is removed
//!   unless `forward_credentials`.
//! - **Routes**: `policy` (allowed consumers and scopes, accepted methods, bypass paths, CORS
//!   preflight, anonymous access) with per-route overrides through `weir_sdk::rules`.
//!
//! Configuration reference, metrics and failure behaviour: `filters/auth/README.md`.
//! Module map: [`config`] (what operators write) → [`settings`] (checked) → [`authn`] (the
//! decision, pure) → `http` / `root` (hostcalls).

pub mod authn;
pub mod config;
pub mod credential;
pub mod denial;
mod http;
pub mod jwt;
pub mod metrics;
mod root;
pub mod secret;
pub mod settings;
mod shared;
pub mod strictest;

use weir_sdk::prelude::*;

weir_sdk::main! {{
    weir_sdk::set_log_level(LogLevel::Trace);
    // Every callback the HTTP context implements; weir makes no others.
    weir_sdk::set_http_callbacks(HttpCallbacks::REQUEST_HEADERS);
    weir_sdk::set_root_context(|context_id| -> Box<dyn RootContext> { Box::new(root::Root::new(context_id)) });
}}

#[cfg(test)]
#[path = "../tests/support/sign.rs"]
mod sign;
#[cfg(test)]
mod test_config;
