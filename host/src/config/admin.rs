//! The admin server's section of `weir.yaml` and where plugin modules may come from. Both
//! guard the boundary with local users and browsers (`docs/security.md`, "Admin APIs").

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Config, ConfigError};

/// The admin server. Its settings are read at start; a reload does not change them.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Address to bind, e.g. `127.0.0.1:9901`. Port 0 picks a free port. Keep it on loopback:
    /// the admin API is for the operator, not the network.
    pub address: SocketAddr,
    /// File holding the bearer token that requests changing state (`POST /reload`, `POST`,
    /// `PUT` and `DELETE /plugins`) must send as `Authorization: Bearer <token>` over TCP, and
    /// that `?show_secrets=true` needs. At least 16 visible ASCII characters; the file must
    /// not be world-readable. The environment variable `WEIR_ADMIN_TOKEN` may hold the token
    /// instead (not both). Without a token and without `unix_socket`, the admin API is
    /// read-only. Relative paths are relative to the config file.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Also serve the admin API on this unix socket, created mode 0600 (connections from users
    /// other than weir's and root are refused). Requests through it may change state and see
    /// secrets without a token. Relative paths are relative to the config file.
    #[serde(default)]
    pub unix_socket: Option<PathBuf>,
    /// `Host` values accepted besides `127.0.0.1`, `[::1]` and `localhost` with the admin port,
    /// and the bound IP: `name` accepts that name on any port, `name:port` that exact value.
    /// Any other `Host` is refused (DNS rebinding).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Largest request body for `POST /reload` and JSON plugin specs, in bytes; larger ones
    /// get 413. Default 1 MiB. (A module uploaded as the body may be up to
    /// `module_sources.max_module_bytes`.)
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Serve the admin API over TLS (HTTP/1.1), with the same fields as a listener's `tls`
    /// (client certificates make it mTLS: only holders of one reach it at all). Omit for
    /// plaintext. Relative paths are relative to the config file.
    #[serde(default)]
    pub tls: Option<weir_tls::DownstreamTls>,
}

fn default_max_body() -> usize {
    1024 * 1024
}

/// Where plugin modules may be read from, and how big they may be.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleSources {
    /// Directories that modules named by the admin API (`POST`/`PUT /plugins` with a `wasm`
    /// path) or by ECDS (`vm_config.code.local.filename`) must be under, once symlinks are
    /// resolved. Default (empty): the directories of the modules this file's `plugins` name.
    /// Modules named in this file itself are trusted wherever they are. Relative paths are
    /// relative to the config file.
    #[serde(default)]
    pub directories: Vec<PathBuf>,
    /// Largest module accepted, in bytes, from any source (this file, the admin API, an
    /// upload, ECDS). Default 64 MiB.
    #[serde(default = "default_max_module")]
    pub max_module_bytes: u64,
}

fn default_max_module() -> u64 {
    64 * 1024 * 1024
}

impl Default for ModuleSources {
    fn default() -> ModuleSources {
        ModuleSources { directories: Vec::new(), max_module_bytes: default_max_module() }
    }
}

/// Checks the admin and module-source settings.
pub(super) fn check(config: &Config) -> Result<(), ConfigError> {
    if let Some(admin) = &config.admin
        && admin.max_body_bytes == 0
    {
        return Err(ConfigError::invalid("admin.max_body_bytes", "must be at least 1"));
    }
    if config.module_sources.max_module_bytes == 0 {
        return Err(ConfigError::invalid("module_sources.max_module_bytes", "must be at least 1"));
    }
    Ok(())
}
