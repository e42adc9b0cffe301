//! # weir-xds
//!
//! The xDS side weir links, on `envoy-types` (tonic 0.14 / prost 0.14):
//!
//! - [`client`]: the ADS client weir uses (RTDS, ECDS), with ACK/NACK and reconnect backoff;
//! - [`convert`]: `Struct` ↔ JSON, `Any` pack/unpack with type checks (what envoy-types lacks);
//! - [`types`]: the resource type URLs Weir serves and consumes.
//!
//! The control plane that serves them is the `weir-cp` crate; it depends on this one, never the
//! other way, so weir does not compile the control plane's admin API or command line.

pub mod client;
pub mod convert;
pub mod types;
