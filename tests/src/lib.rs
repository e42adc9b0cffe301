//! Test support for weir: an echo upstream, an HTTP client, launchers for real Envoy and for
//! weir, and the data-driven conformance cases that run against both.
//!
//! Servers bind `127.0.0.1` on ephemeral ports and are stopped by the test that started them
//! (by PID for processes).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod case;
pub mod client;
pub mod cp;
pub mod e2e;
pub use weir_testing::echo;
pub mod envoy;
pub mod faults;
pub mod grpc;
pub mod hcm;
pub mod hostile;
pub mod paths;
pub mod weir;

/// Fails with instructions when Envoy is not installed (never skips).
pub fn envoy_required() -> anyhow::Result<()> {
    paths::envoy_binary().map(|_| ())
}
