//! # weir-plugin-spec
//!
//! What a proxy-wasm plugin is, as one type for every part of weir that describes one:
//! `weir.yaml`, the admin API, ECDS, the control plane and the tests. Serde only: the control
//! plane and the CLI use it without compiling a Wasm runtime.
//!
//! - [`PluginConfig`]: Envoy's `PluginConfig` (name, module, `root_id`, `vm_id`,
//!   configurations, environment, failure policy, `allow_on_headers_stop_iteration`,
//!   `config_discovery`) plus weir's [`PluginLimits`]; a module fetched over HTTP(S)
//!   ([`RemoteModule`]);
//! - [`duration`]: durations written as Envoy writes them (`250ms`, `5s`).

pub mod duration;
mod limits;
mod plugin;
mod remote;

pub use limits::{DEFAULT_MAX_STACK, MAX_STACK, PluginLimits, STACK_RANGE};
pub use plugin::{ConfigDiscovery, EnvironmentVariables, FailurePolicy, PluginConfig};
pub use remote::{MAX_FETCH_RETRIES, MAX_FETCH_TIMEOUT, RemoteModule};

/// A field of a plugin description holds a value that is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SpecError {
    /// Path of the field, e.g. `plugins[0].limits.max_stack_bytes`.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}
