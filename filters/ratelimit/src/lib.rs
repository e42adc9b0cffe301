//! # weir-filter-ratelimit
//!
//! Rate limiting for Envoy and weir from one `.wasm`: Envoy `local_ratelimit`-compatible token
//! buckets kept in proxy-wasm shared data (one key per bucket, refilled lazily inside the same
//! compare-and-swap update that takes the token), or a global mode that asks an Envoy Rate
//! Limit Service (`envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit`) over gRPC.
//! Denied requests get `429` with `x-ratelimit-limit`, `x-ratelimit-remaining`,
//! `x-ratelimit-reset` and `retry-after`.
//!
//! The configuration, shared-data layout, metrics and edge cases are in the crate's README.
//! The pure parts (durations, descriptors, bucket math, keys, the decision, the RLS wire
//! format) are plain Rust and tested natively; [`root`] and [`http`] are the proxy-wasm glue.

pub mod actions;
pub mod bucket;
pub mod config;
pub mod duration;
pub mod headers;
pub mod http;
pub mod keys;
pub mod local;
pub mod metrics;
pub mod rls;
pub mod root;
pub mod settings;
pub mod store;
pub mod table;

use weir_sdk::prelude::*;

weir_sdk::main! {{
    weir_sdk::set_log_level(LogLevel::Info);
    // Every callback the HTTP context implements; weir makes no others.
    weir_sdk::set_http_callbacks(HttpCallbacks::REQUEST_HEADERS | HttpCallbacks::RESPONSE_HEADERS);
    weir_sdk::set_root_context(|_| RulesRoot::<root::Filter>::boxed());
}}
