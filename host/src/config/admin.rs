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
    /// Where modules fetched over HTTP(S) (a plugin's `remote`, ECDS `vm_config.code.remote`)
    /// are kept, named by their SHA-256, so a restart or a reload finds them without the
    /// network (a file whose content does not match its name is fetched again). Created mode
    /// 0700 if missing. Default: a private directory under the temporary directory, created
    /// on the first fetch and removed when weir stops. Relative paths are relative to the
    /// config file.
    #[serde(default)]
    pub cache_directory: Option<PathBuf>,
    /// Most bytes of fetched modules kept in the cache directory; past it the least recently
    /// used ones are removed (never the one just fetched). Default 1 GiB.
    #[serde(default = "default_max_cache")]
    pub max_cache_bytes: u64,
    /// URL prefixes that a remote module named by the admin API or by ECDS must start with,
    /// each at least `scheme://host[:port]/`. Default (empty): the origins
    /// (`scheme://host[:port]/`) of the remote modules this file's `plugins` name; with none,
    /// such URLs are refused. Remote modules named in this file are trusted wherever they are.
    #[serde(default)]
    pub url_prefixes: Vec<String>,
    /// OCI registries (`host:port`, as written in `oci://` URLs) reached over plain HTTP
    /// instead of HTTPS, e.g. a registry on loopback. The module's digest is still checked.
    #[serde(default)]
    pub insecure_registries: Vec<String>,
    /// PEM bundle of the CAs an `https://` module server's certificate must chain to. Default:
    /// the system's roots. Relative paths are relative to the config file.
    #[serde(default)]
    pub trusted_ca: Option<PathBuf>,
}

fn default_max_cache() -> u64 {
    1024 * 1024 * 1024
}

fn default_max_module() -> u64 {
    64 * 1024 * 1024
}

impl Default for ModuleSources {
    fn default() -> ModuleSources {
        ModuleSources {
            directories: Vec::new(),
            max_module_bytes: default_max_module(),
            cache_directory: None,
            url_prefixes: Vec::new(),
            insecure_registries: Vec::new(),
            max_cache_bytes: default_max_cache(),
            trusted_ca: None,
        }
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
    for (i, prefix) in config.module_sources.url_prefixes.iter().enumerate() {
        if origin(prefix).is_none() {
            return Err(ConfigError::invalid(
                format!("module_sources.url_prefixes[{i}]"),
                format!("{prefix:?}: must start with https://, http:// or oci://, a host and `/`"),
            ));
        }
    }
    if config.module_sources.max_cache_bytes == 0 {
        return Err(ConfigError::invalid("module_sources.max_cache_bytes", "must be at least 1"));
    }
    Ok(())
}

/// `scheme://authority/` of an `http`/`https` URL with a host and a `/` after it.
fn origin(url: &str) -> Option<&str> {
    let scheme = ["https://", "http://", "oci://"].iter().find(|s| url.starts_with(**s))?.len();
    let slash = scheme + url[scheme..].find('/')?;
    (slash > scheme).then(|| &url[..=slash])
}

impl ModuleSources {
    /// `url_prefixes`, or by default the origins (`scheme://host[:port]/`) of the remote
    /// modules `plugins` name: where URLs from the admin API or ECDS, and redirects to another
    /// origin, may lead.
    pub fn prefixes(&self, plugins: &[weir_plugin_spec::PluginConfig]) -> Vec<String> {
        if !self.url_prefixes.is_empty() {
            return self.url_prefixes.clone();
        }
        let mut defaults: Vec<String> = plugins
            .iter()
            .filter_map(|p| p.remote.as_ref())
            .filter_map(|r| origin(&r.url))
            .map(str::to_string)
            .collect();
        defaults.sort();
        defaults.dedup();
        defaults
    }

    /// Whether a remote module at `url`, named by the admin API or ECDS, may be fetched: it
    /// starts with one of `url_prefixes`, or by default with the origin of a remote module
    /// `plugins` name.
    pub fn admit_url(&self, url: &str, plugins: &[weir_plugin_spec::PluginConfig]) -> Result<(), String> {
        // `..` or `.` segments (also percent-encoded) could climb out of a prefix once the
        // server or registry cleans the path.
        let path = url.split(['?', '#']).next().unwrap_or_default();
        let lowered = path.to_ascii_lowercase().replace("%2e", ".");
        if lowered.split('/').skip(3).any(|segment| segment == "." || segment == "..") {
            return Err(format!("{url:?}: `.` and `..` path segments are refused"));
        }
        let prefixes = self.prefixes(plugins);
        if prefixes.iter().any(|p| url.starts_with(p.as_str())) {
            return Ok(());
        }
        if prefixes.is_empty() {
            return Err(format!(
                "{url:?}: no module URL prefix is configured (set module_sources.url_prefixes, or name a remote module in the config file)"
            ));
        }
        Err(format!("{url:?} is not under module_sources.url_prefixes {prefixes:?}"))
    }
}

#[cfg(test)]
mod url_tests {
    use super::*;
    use weir_plugin_spec::{PluginConfig, RemoteModule};

    #[test]
    fn urls_from_the_admin_api_or_ecds_must_be_under_a_prefix() {
        assert_eq!(origin("https://h:8443/a/b.wasm"), Some("https://h:8443/"));
        assert_eq!(origin("https://h"), None);
        assert_eq!(origin("ftp://h/"), None);
        let mut named = PluginConfig::new("p", Default::default());
        named.remote = Some(RemoteModule::new("https://plugins.example/a.wasm", &"a".repeat(64)));
        let sources = ModuleSources::default();
        sources.admit_url("https://plugins.example/b.wasm", std::slice::from_ref(&named)).unwrap();
        // Not a prefix of the origin: another host that starts the same.
        assert!(
            sources.admit_url("https://plugins.example.evil/b.wasm", std::slice::from_ref(&named)).is_err()
        );
        assert!(
            sources
                .admit_url("https://plugins.example/b.wasm", &[])
                .unwrap_err()
                .contains("no module URL prefix")
        );
        let listed = ModuleSources {
            url_prefixes: vec!["http://127.0.0.1:9/mods/".into()],
            ..ModuleSources::default()
        };
        listed.admit_url("http://127.0.0.1:9/mods/x.wasm", &[]).unwrap();
        assert!(listed.admit_url("http://127.0.0.1:9/other/x.wasm", std::slice::from_ref(&named)).is_err());
        for climbing in [
            "http://127.0.0.1:9/mods/../x.wasm",
            "http://127.0.0.1:9/mods/%2E%2e/x.wasm",
            "http://127.0.0.1:9/mods/./x",
        ] {
            assert!(
                listed.admit_url(climbing, &[]).unwrap_err().contains("path segments are refused"),
                "{climbing}"
            );
        }
    }
}
