//! Envoy's config protos (from xDS, or an Envoy bootstrap parsed by
//! [`weir_xds::convert::envoy_json`]) translated into weir's model: one translation for every
//! source. What weir does not support is refused with the field path and the reason, and
//! every refusal of a resource is reported at once (`weir --validate` lists them all).

mod access_log;
pub mod bootstrap;
pub mod cluster;
mod extensions;
pub mod listener;
pub mod route;
pub mod source;
mod support;
mod tcp_proxy;
pub mod tls;
pub mod wasm;

use super::ConfigError;

/// Most endpoints one cluster takes (a `load_assignment` or an EDS resource).
pub const MAX_ENDPOINTS_PER_CLUSTER: usize = 10_000;
/// Most routes one route configuration takes (all virtual hosts together).
pub const MAX_ROUTES_PER_CONFIGURATION: usize = 10_000;
/// Most listeners LDS may give (each binds a socket per worker).
pub const MAX_LDS_LISTENERS: usize = 1_000;

/// Everything refused in one resource (or one bootstrap), in the order found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Refusals(Vec<(String, String)>);

impl Refusals {
    /// Adds the refusal of the field at `path`.
    pub fn add(&mut self, path: &str, reason: impl Into<String>) {
        let refusal = (path.to_string(), reason.into());
        if !self.0.contains(&refusal) {
            self.0.push(refusal);
        }
    }

    /// Whether nothing was refused.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each refusal as `(path, reason)`.
    pub fn iter(&self) -> impl Iterator<Item = &(String, String)> {
        self.0.iter()
    }

    /// `Ok(value)` when nothing was refused; else every refusal as one error (one per line).
    pub fn into_result<T>(self, value: T) -> Result<T, ConfigError> {
        let Some((field, _)) = self.0.first() else { return Ok(value) };
        let field = field.clone();
        let reason = self
            .0
            .iter()
            .enumerate()
            .map(|(i, (path, reason))| if i == 0 { reason.clone() } else { format!("{path}: {reason}") })
            .collect::<Vec<_>>()
            .join("\n");
        Err(ConfigError::Invalid { field, reason })
    }
}
