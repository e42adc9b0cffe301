//! `weir.yaml`: loading, the schema, and validation.
//!
//! A config is parsed into [`Config`], then [`validate`]d as a whole; every error names the
//! offending field (`listeners[0].virtual_hosts[1].routes[2].route.cluster`) and the reason.

mod access_log;
mod admin;
mod cluster;
mod dynamic;
pub mod envoy;
mod http1;
mod listener;
mod metadata;
mod node;
mod overrides;
mod query_match;
mod redirect;
mod references;
mod route_headers;
mod schema;
mod tcp_proxy;
mod tracing;
mod validate;
mod validate_cluster;

use std::path::{Path, PathBuf};

pub use access_log::AccessLogConfig;
pub use http1::Http1Options;
pub use metadata::{Metadata, encoded as encoded_metadata};
pub use overrides::{PluginOverride, apply_overrides};
pub use query_match::{QueryParameterMatcher, SafeRegex, StringMatch};
pub use redirect::{Redirect, RedirectCode};
pub use route_headers::{AppendAction, HeaderValue, HeaderValueOption, literal as route_headers_literal};
pub use schema::*;
pub use tcp_proxy::TcpProxyConfig;
pub use tracing::{Propagation, TracingConfig};
pub use validate::validate;
pub use validate_cluster::check_settings as check_cluster_settings;
pub use weir_plugin_spec::{
    ConfigDiscovery, EnvironmentVariables, FailurePolicy, PluginConfig, PluginLimits, duration,
};

/// A config that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The YAML does not fit the schema.
    #[error("{origin}: {message}")]
    Parse {
        /// The file (or `<inline>`).
        origin: String,
        /// The parser's message, which names the field and position.
        message: String,
    },
    /// A field holds a value that is not allowed.
    #[error("{field}: {reason}")]
    Invalid {
        /// Path of the field, e.g. `listeners[0].http_filters[1]`.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

impl From<weir_plugin_spec::SpecError> for ConfigError {
    fn from(e: weir_plugin_spec::SpecError) -> Self {
        ConfigError::Invalid { field: e.field, reason: e.reason }
    }
}

impl ConfigError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::Invalid { field: field.into(), reason: reason.into() }
    }
}

/// The virtual hosts of an `rds` listener come from RDS only: a file may not give any (the
/// running config, where RDS filled them in, is not checked by this).
fn check_rds_exclusive(config: &Config) -> Result<(), ConfigError> {
    match config.listeners.iter().position(|l| l.rds.is_some() && !l.virtual_hosts.is_empty()) {
        Some(i) => Err(ConfigError::invalid(format!("listeners[{i}].rds"), "exclusive with `virtual_hosts`")),
        None => Ok(()),
    }
}

impl Config {
    /// Reads, parses and validates a config file. Relative paths (plugin modules, module
    /// directories, the admin token file and socket, TLS files of listeners, the admin API and
    /// clusters) are resolved against the file's directory before validation.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        if let Some(config) = Config::from_bootstrap(&text, &path.display().to_string())? {
            return Ok(config);
        }
        let mut config: Config = serde_norway::from_str(&text)
            .map_err(|e| ConfigError::Parse { origin: path.display().to_string(), message: e.to_string() })?;
        check_rds_exclusive(&config)?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() && !p.as_os_str().is_empty() {
                *p = base.join(&*p);
            }
        };
        for plugin in &mut config.plugins {
            resolve(&mut plugin.wasm);
        }
        config.module_sources.directories.iter_mut().for_each(resolve);
        let sources = &mut config.module_sources;
        sources.cache_directory.iter_mut().chain(sources.trusted_ca.iter_mut()).for_each(resolve);
        if let Some(admin) = &mut config.admin {
            for path in [&mut admin.token_file, &mut admin.unix_socket].into_iter().flatten() {
                resolve(path);
            }
            admin.tls.iter_mut().flat_map(|t| t.paths_mut()).for_each(resolve);
        }
        for listener in &mut config.listeners {
            listener.tls.iter_mut().flat_map(|t| t.paths_mut()).for_each(resolve);
        }
        for tls in config.clusters.iter_mut().filter_map(|c| c.tls.as_mut()) {
            tls.trusted_ca.iter_mut().for_each(resolve);
            if let Some(files) = &mut tls.client_certificate {
                resolve(&mut files.certificate_chain);
                resolve(&mut files.private_key);
            }
        }
        validate(&config)?;
        Ok(config)
    }

    /// Parses and validates YAML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        if let Some(config) = Config::from_bootstrap(text, origin)? {
            return Ok(config);
        }
        let config: Config = serde_norway::from_str(text)
            .map_err(|e| ConfigError::Parse { origin: origin.to_string(), message: e.to_string() })?;
        check_rds_exclusive(&config)?;
        validate(&config)?;
        Ok(config)
    }

    /// An Envoy bootstrap (a document with `static_resources` or `dynamic_resources`),
    /// translated ([`envoy::bootstrap`]) and validated; `None` for a `weir.yaml`. Paths in it
    /// are relative to the working directory, as in Envoy.
    fn from_bootstrap(text: &str, origin: &str) -> Result<Option<Config>, ConfigError> {
        let Ok(document) = serde_norway::from_str::<serde_json::Value>(text) else { return Ok(None) };
        if !envoy::bootstrap::is_bootstrap(&document) {
            return Ok(None);
        }
        let config = envoy::bootstrap::bootstrap(&document, origin)?;
        validate(&config)?;
        Ok(Some(config))
    }

    /// Looks up a plugin by name.
    pub fn plugin(&self, name: &str) -> Option<&PluginConfig> {
        self.plugins.iter().find(|p| p.name == name)
    }

    /// This proxy's identity: `node`, else the deprecated `xds.node_id`/`node_cluster`, else
    /// the defaults.
    pub fn node(&self) -> NodeConfig {
        if let Some(node) = &self.node {
            return node.clone();
        }
        let mut node = NodeConfig::default();
        if let Some(xds) = &self.xds {
            if let Some(id) = &xds.node_id {
                node.id = id.clone();
            }
            if let Some(cluster) = &xds.node_cluster {
                node.cluster = cluster.clone();
            }
        }
        node
    }

    /// Where modules named by the admin API or ECDS may come from:
    /// `module_sources.directories`, or the directories of the modules `plugins` name.
    pub fn module_directories(&self) -> weir_proxy_wasm::plugin::source::ModuleDirectories {
        weir_proxy_wasm::plugin::source::ModuleDirectories::of(
            &self.module_sources.directories,
            &self.plugins,
        )
    }

    /// Looks up a cluster by name.
    pub fn cluster(&self, name: &str) -> Option<&ClusterConfig> {
        self.clusters.iter().find(|c| c.name == name)
    }
}
