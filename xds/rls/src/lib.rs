//! # weir-rls
//!
//! An Envoy Rate Limit Service (`envoy.service.ratelimit.v3.RateLimitService`) whose counters
//! live in Redis, so one limit holds across every proxy (Envoy or weir) and every weir-rls
//! replica that shares the Redis. Configured like envoyproxy/ratelimit (a YAML file per
//! domain with nested `descriptors`), reloaded on `SIGHUP`, with Prometheus metrics. See
//! `docs/ratelimit-service.md`.
//!
//! - [`config`]: the limits files; [`limits`]: the compiled trees and the lookup;
//! - [`store`]: the fixed-window counters and the one Lua script that decides atomically;
//! - [`service`]: `ShouldRateLimit`; [`admin`]: `/ready`, `/metrics`, `/limits`;
//! - [`server`]: the process (listeners, reload, shutdown).

pub mod admin;
pub mod config;
pub mod error;
pub mod limits;
pub mod metrics;
pub mod server;
pub mod service;
pub mod store;
