//! # weir-host
//!
//! `weir`, a proxy that runs proxy-wasm filters compiled for Envoy, unchanged, with Envoy's
//! semantics. Data path: listener → virtual host → route → per-route chain of plugins →
//! cluster → pooled upstream connection.
//!
//! - [`config`]: the `weir.yaml` schema and its validation.
//! - [`http`]: the request driver: listeners, the plugin chain, bodies, forwarding.
//! - [`router`], [`upstream`]: routes, clusters, balancing, connection pools.
//! - [`process`]: start, reload, stop; the admin API and xDS glue.
//!
//! Start one in-process:
//!
//! ```no_run
//! let config = weir_host::config::Config::load(std::path::Path::new("weir.yaml"))?;
//! let server = weir_host::process::RunningServer::start(config, Default::default())?;
//! println!("listening on {:?}", server.listener_addr("main"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod access_log;
pub mod config;
pub mod http;
pub mod logging;
pub mod process;
pub mod router;
pub mod stats;
pub mod tcp;
pub mod trace;
pub mod upstream;
