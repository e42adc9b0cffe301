//! # weir-xds
//!
//! xDS for Weir, on `envoy-types` (tonic 0.14 / prost 0.14):
//!
//! - [`convert`]: `Struct` ↔ JSON, `Any` pack/unpack with type checks (what envoy-types lacks);
//! - [`types`]: the resource type URLs Weir serves and consumes;
//! - [`client`]: the ADS client weir uses (RTDS, ECDS), with ACK/NACK and reconnect backoff;
//! - the control plane `weir-cp` (server, state, admin API, CLI) and the client weir uses.

pub mod cli;
pub mod client;
pub mod convert;
pub mod cp;
pub mod types;
