//! # weir-filter-rtds-bridge
//!
//! The Envoy side of Weir's runtime-values contract (`docs/runtime-values.md`). Envoy gives
//! Wasm filters no access to its runtime, so this module runs in Envoy as a **singleton
//! bootstrap Wasm service** (`bootstrap_extensions: envoy.bootstrap.wasm`, `singleton: true`)
//! with the **same `vm_config.vm_id` as the filters**, and:
//!
//! - holds an RTDS stream (`RuntimeDiscoveryService/StreamRuntime`, or ADS) to the control
//!   plane's cluster, subscribed to the configured layers;
//! - for each response decodes every `Runtime`, flattens its `Struct` exactly as Envoy does
//!   ([`weir_runtime::flatten`]), ACKs it, or NACKs the whole response (lists, nulls, foreign
//!   resources) keeping the previous values;
//! - merges the static layer of its configuration and the RTDS layers in order and writes the
//!   snapshot into shared data (`weir.runtime`, then `weir.runtime.version`), as weir does;
//! - reconnects with jittered exponential backoff (500 ms to 30 s), keeping the published
//!   values meanwhile.
//!
//! weir does not need it: weir's own xDS client publishes the same snapshot.
//!
//! Modules: [`config`], [`proto`] (hand-written xDS messages), [`session`] (the protocol),
//! [`layers`] (merging and versions) and [`backoff`] are pure and tested natively; `root` and
//! [`metrics`] talk to the host; the snapshot is written by [`weir_runtime::protocol`].

pub mod backoff;
pub mod config;
pub mod layers;
pub mod metrics;
pub mod proto;
mod root;
pub mod session;

pub use config::{Api, Config};
pub use layers::Layers;
pub use session::{Outcome, Session};

use weir_sdk::prelude::*;

weir_sdk::main! {{
    weir_sdk::set_log_level(LogLevel::Info);
    weir_sdk::set_root_context(|_| -> Box<dyn RootContext> { Box::new(root::Bridge::default()) });
}}
