//! # weir-host
//!
//! `weir`, a proxy that runs proxy-wasm filters compiled for Envoy, unchanged, with Envoy's
//! semantics. Data path: listener → virtual host → route → per-route chain of plugins →
//! cluster → pooled upstream connection.
//!
//! - [`config`]: the `weir.yaml` schema and its validation.
//! - [`wasm`]: the Wasm runtime (engine, modules, per-worker VMs under limits).
//! - [`abi`]: every proxy-wasm hostcall, with Envoy's status codes.
//! - [`http`]: listeners, the plugin chain, bodies, local replies.
//! - [`server`]: start, reload, stop.
//!
//! Start one in-process:
//!
//! ```no_run
//! let config = weir_host::config::Config::load(std::path::Path::new("weir.yaml"))?;
//! let server = weir_host::server::RunningServer::start(config, Default::default())?;
//! println!("listening on {:?}", server.listener_addr("main"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod abi;
pub mod access_log;
pub mod admin;
pub mod callout;
pub mod config;
pub mod control;
pub mod http;
pub mod logging;
pub mod plugin;
pub mod router;
pub mod runtime_values;
pub mod server;
pub mod services;
pub mod snapshot;
pub mod state;
pub mod stats;
pub mod testing;
pub mod upstream;
pub mod wasm;
mod worker;
pub mod xds;
