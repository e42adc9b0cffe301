//! Why weir could not start, or could not apply a new configuration.

use std::net::SocketAddr;

/// Why the server could not start or reload.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The config is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A plugin could not be loaded.
    #[error(transparent)]
    Load(#[from] weir_proxy_wasm::wasm::LoadError),
    /// A plugin's remote module could not be had (fetch failed, digest mismatch).
    #[error("plugin `{plugin}`: {source}")]
    Module {
        /// The plugin.
        plugin: String,
        /// Why.
        source: crate::process::modules::ModuleError,
    },
    /// A listener's TLS could not be set up (a certificate, a key, a setting).
    #[error(transparent)]
    Tls(#[from] weir_tls::TlsError),
    /// A socket could not be bound.
    #[error("cannot bind {address} for listener `{listener}`: {source}")]
    Bind {
        /// Listener name.
        listener: String,
        /// Address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Anything else (thread, runtime).
    #[error("{0}")]
    Other(String),
}
