//! The process: what runs a configuration and replaces it.
//!
//! - [`server`]: start (listeners bound per worker with `SO_REUSEPORT`, worker threads, the
//!   admin server, the xDS client) and stop;
//! - [`generation`]: one configuration, loaded and ready to run ([`Generation`]: clusters,
//!   plugins compiled, process services), immutable and swapped whole;
//! - [`server_state`]: the running generation and the ways to replace it (reload, plugin
//!   changes, ECDS configs, RTDS layers), each validated and tried on a canary first;
//! - `worker`: a worker thread (its listeners, VMs and connection pools), [`control`]: the
//!   control thread;
//! - [`services`]: what the process shares across generations; [`runtime_values`]: the RTDS
//!   and static layers, merged and published to filters;
//! - [`admin`] and [`xds`]: the admin API and weir's side of xDS, which reach the rest through
//!   [`ProcessControl`].

pub mod admin;
mod api;
pub mod control;
mod error;
pub mod generation;
pub mod modules;
mod prefetch;
mod private_files;
pub mod runtime_values;
pub mod server;
pub mod server_state;
pub mod services;
mod sockets;
mod worker;
pub mod xds;

pub use api::ProcessControl;
pub use error::StartError;
pub use generation::Generation;
pub use server::{RunningServer, ServerOptions};
pub use server_state::ServerState;
pub use services::ProcessServices;
