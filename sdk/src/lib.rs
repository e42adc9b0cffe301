//! # weir-sdk
//!
//! Write a proxy-wasm filter once, compile it to `wasm32-wasip1`, and run the same `.wasm` in
//! Envoy (`envoy.filters.http.wasm`) and in `weir`.
//!
//! A filter implements [`traits::RootContext`] and [`traits::HttpContext`] (the methods and
//! signatures of the `proxy-wasm` crate's traits, without its panics) and registers its root
//! context in [`main!`]; a network (TCP) filter implements [`stream::StreamContext`] instead,
//! its root answering `StreamContext` from `get_type` (Envoy's `envoy.filters.network.wasm`,
//! weir's `network_filters`). weir-sdk is the module's whole proxy-wasm runtime: its exports, a
//! dispatcher built for the few-microsecond budget of a request ([`dispatch`]), its logger and
//! allocator. Around that, what filters keep needing:
//!
//! - [`host`]: hostcalls that return `Result` with the host's status instead of panicking on an
//!   unexpected one, and header values as bytes with UTF-8 views;
//! - [`config`]: typed configuration parsed once in `on_configure`, errors naming the field;
//! - [`root`]: a ready-made root context for filters whose state is that configuration;
//! - [`rules`]: per-route configuration (route name, authority, path prefix matched on every
//!   reading of the path, see [`weir_path::views`]), which Envoy's Wasm filter lacks;
//! - [`runtime`]: runtime values pushed by the control plane (RTDS), read the same way in both
//!   hosts, cached per VM and refreshed when their version moves;
//! - [`shared`]: compare-and-swap updates of shared data with bounded retries;
//! - [`metrics`]: counter, gauge and histogram handles defined once;
//! - [`reply`]: local replies in one call;
//! - [`hostcalls`]: the `proxy-wasm` crate's hostcall functions, same names and signatures
//!   (with [`traits`], [`types`], [`main!`] and the `set_*` functions, a proxy-wasm-rust-sdk
//!   filter builds by renaming its dependency, see `docs/writing-filters.md`);
//! - [`alloc`]: a size-class allocator, the filters' global allocator on wasm32 (feature
//!   `fast-alloc`, on by default).
//!
//! ```ignore
//! use weir_sdk::prelude::*;
//!
//! struct Root;
//! impl Context for Root {}
//! impl RootContext for Root {
//!     fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> { Some(Box::new(Request)) }
//!     fn get_type(&self) -> Option<ContextType> { Some(ContextType::HttpContext) }
//! }
//! struct Request;
//! impl Context for Request {}
//! impl HttpContext for Request {}
//!
//! weir_sdk::main! {{
//!     weir_sdk::set_log_level(LogLevel::Info);
//!     weir_sdk::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root) });
//! }}
//! ```
//!
//! Filters are testable without Envoy: `weir_testing` runs a compiled filter in-process
//! on the weir host (see its docs). The order of callbacks and the meaning of their return
//! values are in `docs/lifecycle.md`.

pub mod alloc;
pub mod config;
mod context;
pub mod dispatch;
pub mod host;
pub mod hostcalls;
mod logger;
pub mod metrics;
pub mod reply;
pub mod root;
pub mod rules;
pub mod runtime;
pub mod shared;
pub mod stream;
pub mod traits;
pub mod types;

pub use dispatch::{set_http_callbacks, set_http_context, set_root_context};
pub use logger::set_log_level;

/// The module's initializer (`_initialize`): runs the static constructors, then `$code`, which
/// registers the root context ([`set_root_context`]) and usually the log level.
#[macro_export]
macro_rules! main {
    ($code:block) => {
        #[cfg(target_os = "wasi")]
        unsafe extern "C" {
            fn __wasm_call_ctors();
        }

        #[unsafe(no_mangle)]
        pub extern "C" fn _initialize() {
            #[cfg(target_os = "wasi")]
            // SAFETY: called once, first, as the WASI reactor model asks.
            unsafe {
                __wasm_call_ctors();
            }
            $code;
        }
    };
}

/// Small blocks from size classes, the rest from dlmalloc (see [`alloc`]). Off with
/// `default-features = false` for a filter that brings its own allocator.
#[cfg(all(target_arch = "wasm32", feature = "fast-alloc"))]
#[global_allocator]
static ALLOCATOR: alloc::SizeClasses = alloc::SizeClasses::new();
pub use weir_abi::{BufferType, HttpCallbacks, IntHasher, MapType, MetricType, Status, StreamType};

/// The usual imports for a filter.
pub mod prelude {
    pub use crate::stream::StreamContext;
    pub use crate::traits::{Context, HttpContext, RootContext};
    pub use crate::types::{Action, ContextType, HttpCallbacks, LogLevel, PeerType};

    pub use crate::config::{ConfigError, parse_config};
    pub use crate::metrics::{Counter, Gauge, Histogram};
    pub use crate::reply::{json_error, reply};
    pub use crate::root::{ConfigRoot, FilterConfig, RulesFilter, RulesRoot};
    pub use crate::rules::Rules;
    pub use crate::{BufferType, MapType, Status, StreamType, host, runtime};
}
