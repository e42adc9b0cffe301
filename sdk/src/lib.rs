//! # weir-sdk
//!
//! Write a proxy-wasm filter once, compile it to `wasm32-wasip1`, and run the same `.wasm` in
//! Envoy (`envoy.filters.http.wasm`) and in `weir`.
//!
//! weir-sdk is built on the [`proxy_wasm`] crate (re-exported for the raw API) and adds:
//!
//! - [`config`]: typed plugin configuration parsed once in `on_configure`, with errors that
//!   name the field.
//!
//! The order of callbacks and what each return value means is in `docs/lifecycle.md`.

pub mod config;

pub use proxy_wasm;

/// The usual imports for a filter.
pub mod prelude {
    pub use proxy_wasm::traits::{Context, HttpContext, RootContext};
    pub use proxy_wasm::types::{Action, ContextType, LogLevel, Status};

    pub use crate::config::{ConfigError, parse_config};
}
