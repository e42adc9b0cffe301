//! The suites that run weir beside real Envoy, by suite:
//!
//! - [`conformance`]: data-driven cases run against both hosts, which must agree;
//! - [`e2e`]: `weir-cp` pushing runtime values to both hosts;
//! - [`faults`]: faults against both hosts under load, with what must still hold for weir;
//! - [`hostile`]: hostile filters and clients.
//!
//! What they share: an async HTTP client ([`client`]), real Envoy ([`envoy`]), weir in-process
//! ([`weir`]), weir's listener defaults for generated Envoy bootstraps ([`weir_defaults`]),
//! the echo upstream; paths, binaries, child processes and the config builder come from
//! `weir-testkit`. Servers bind `127.0.0.1` on ephemeral ports and are stopped by the test that
//! started them (by PID for processes).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod client;
pub mod conformance;
pub mod e2e;
pub use weir_testing::echo;
pub mod envoy;
pub mod faults;
pub mod gateway_api;
pub mod hostile;
pub mod weir;
pub mod weir_defaults;

/// Fails with instructions when Envoy is not installed (never skips).
pub fn envoy_required() -> anyhow::Result<()> {
    weir_testkit::paths::envoy_binary().map(|_| ())
}
