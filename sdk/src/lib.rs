//! # weir-sdk
//!
//! Write a proxy-wasm filter once, compile it to `wasm32-wasip1`, and run the same `.wasm` in
//! Envoy (`envoy.filters.http.wasm`) and in `weir`.
//!
//! weir-sdk sits on the [`proxy_wasm`] crate (re-exported: implement its `RootContext` and
//! `HttpContext` traits as usual) and adds what filters keep needing:
//!
//! - [`host`]: hostcalls that return `Result` with the host's status instead of panicking on an
//!   unexpected one, and header values as bytes with UTF-8 views;
//! - [`config`]: typed configuration parsed once in `on_configure`, errors naming the field;
//! - [`root`]: a ready-made root context for filters whose state is that configuration;
//! - [`rules`]: per-route configuration (route name, authority, path prefix), which Envoy's
//!   Wasm filter lacks;
//! - [`runtime`]: runtime values pushed by the control plane (RTDS), read the same way in both
//!   hosts, cached per VM and refreshed when their version moves;
//! - [`shared`]: compare-and-swap updates of shared data with bounded retries;
//! - [`metrics`]: counter, gauge and histogram handles defined once;
//! - [`reply`]: local replies in one call;
//! - [`alloc`]: a size-class allocator, the filters' global allocator on wasm32 (feature
//!   `fast-alloc`, on by default).
//!
//! Filters are testable without Envoy: `weir_host::testing` runs a compiled filter in-process
//! on the weir host (see its docs). The order of callbacks and the meaning of their return
//! values are in `docs/lifecycle.md`.

pub mod alloc;
pub mod config;
pub mod host;
pub mod metrics;
pub mod reply;
pub mod root;
pub mod rules;
pub mod runtime;
pub mod shared;

pub use proxy_wasm;

/// Small blocks from size classes, the rest from dlmalloc (see [`alloc`]). Off with
/// `default-features = false` for a filter that brings its own allocator.
#[cfg(all(target_arch = "wasm32", feature = "fast-alloc"))]
#[global_allocator]
static ALLOCATOR: alloc::SizeClasses = alloc::SizeClasses::new();
pub use weir_abi::{BufferType, IntHasher, MapType, MetricType, Status, StreamType};

/// The usual imports for a filter.
pub mod prelude {
    pub use proxy_wasm::traits::{Context, HttpContext, RootContext};
    pub use proxy_wasm::types::{Action, ContextType, LogLevel};

    pub use crate::config::{ConfigError, parse_config};
    pub use crate::metrics::{Counter, Gauge, Histogram};
    pub use crate::reply::{json_error, reply};
    pub use crate::root::{ConfigRoot, FilterConfig};
    pub use crate::rules::Rules;
    pub use crate::{BufferType, MapType, Status, StreamType, host, runtime};
}
