//! # weir-cp
//!
//! The Weir control plane: a tonic xDS server (state of the world and delta) serving RTDS
//! runtime layers, ECDS Wasm filter configurations, SDS TLS secrets, and CDS/EDS clusters and
//! endpoints over ADS and the single-type services, an admin HTTP API to change them, and a
//! state file that survives restarts.
//!
//! In-process use (tests of xDS clients):
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use weir_cp::{ControlPlane, ServerConfig};
//! let cp = ControlPlane::start(ServerConfig::local()).await?;
//! cp.store().set_value("rtds", "shuffle_sharding.total_hosts", serde_json::json!(10))?;
//! let xds = cp.xds_addr(); // point the client at http://{xds}
//! # let _ = xds;
//! cp.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The protocol rules are in [`stream`]; the admin API in [`admin`]; the command line in
//! [`cli`]; `docs/control-plane.md` is the operator's guide. The resource types and the
//! `Struct`/`Any` helpers come from `weir-xds`, which weir links without this crate.

pub mod admin;
pub mod change_log;
pub mod cli;
mod delta;
pub mod ecds;
pub mod envoy_resource;
pub mod error;
mod freshness;
pub mod gateway;
mod gateway_watch;
pub mod groups;
mod grpc;
pub mod identity;
pub mod keys;
pub mod kind;
pub mod layer;
mod pack_cache;
mod peer;
mod persist;
pub mod push_times;
pub mod secret;
mod server;
mod services;
mod session;
mod shared;
pub mod stamp;
pub mod state;
pub mod status;
pub mod store;
pub mod stream;
mod warming;

pub use admin::AdminSecurity;
pub use ecds::{EcdsConfig, EcdsRemote};
pub use error::{StartError, StoreError};
pub use gateway_watch::GatewayWatch;
pub use identity::NodeIdentity;
pub use kind::Kind;
pub use secret::SecretConfig;
pub use server::{ControlPlane, ServerConfig, XdsTls};
pub use store::{ApplyMode, Change, Store};
pub use weir_plugin_spec::FailurePolicy;
