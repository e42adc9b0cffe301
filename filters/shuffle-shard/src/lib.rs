//! # weir-filter-shuffle-shard
//!
//! Shuffle sharding as a proxy-wasm HTTP filter: every customer (the `x-customer-id` request
//! header) gets a stable shard of `k` hosts out of `total_hosts`, chosen by rendezvous
//! (highest-random-weight) hashing with XXH64, so that customers share as few hosts as
//! possible and a change of `total_hosts` moves as few customers as possible. One host of the
//! shard is picked by hashing the request path, and the filter sets a request header naming
//! that host's cluster (`x-shard-cluster: shard-7`) for the route's `cluster_header`, plus
//! `x-shard-hosts` and `x-shard-config` for observability.
//!
//! `total_hosts` and shard sizes come from runtime values (`shuffle_sharding.*`, pushed by the
//! control plane; see `docs/runtime-values.md`), with the plugin configuration as the
//! fallback. The same `.wasm` runs in Envoy and in weir; see `README.md` for both configs.
//!
//! Modules: [`hash`] (the pinned hash), [`shard`] (the algorithm), [`params`] (runtime and
//! config precedence) and [`headers`] (header values) are pure and tested natively;
//! [`config`] is the typed configuration; `http` and [`metrics`] talk to the host.

pub mod cache;
pub mod config;
pub mod decimal;
pub mod hash;
pub mod headers;
mod http;
pub mod metrics;
pub mod params;
pub mod shard;

pub use config::{Config, OnMissingCustomer};
pub use shard::{Assignment, Shard, assign};

use weir_sdk::prelude::*;

weir_sdk::main! {{
    weir_sdk::set_log_level(LogLevel::Info);
    // Every callback the HTTP context implements; weir makes no others.
    weir_sdk::set_http_callbacks(HttpCallbacks::REQUEST_HEADERS | HttpCallbacks::RESPONSE_HEADERS);
    weir_sdk::set_root_context(|_| RulesRoot::<http::Filter>::boxed());
}}
