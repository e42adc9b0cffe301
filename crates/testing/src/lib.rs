//! # weir-testing
//!
//! Run a compiled filter in-process on the weir host, from a plain Rust test: no Envoy, no
//! network beyond loopback. The harness starts weir with your plugin chain in front of an echo
//! upstream, lets you set runtime values as the control plane would, and returns both the
//! response and what the upstream received.
//!
//! The filter may come as a built module, or as its crate, built for `wasm32-wasip1` by the
//! test itself ([`build_filter`], [`Harness::from_crate`]).
//!
//! ```no_run
//! use weir_testing::Harness;
//!
//! let harness = Harness::builder("target/filters/shuffle-shard.wasm")
//!     .configuration(r#"{"header": "x-customer-id"}"#)
//!     .start()?;
//! harness.set_runtime(&[("shuffle_sharding.total_hosts", serde_json::json!(10))]);
//! let response = harness.get("/orders", &[("x-customer-id", "customer-A")])?;
//! assert_eq!(response.status, 200);
//! let upstream = response.upstream.expect("forwarded");
//! assert!(upstream.header("x-shard-hosts").is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod build;
pub mod echo;
mod harness;
pub mod modules;
pub mod otlp;

pub use build::{BuildError, build_filter};
pub use echo::{Echo, EchoServer};
pub use harness::{Harness, HarnessBuilder, TestResponse};
