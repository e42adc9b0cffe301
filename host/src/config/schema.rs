//! The `weir.yaml` schema. Every field is documented here; `docs/config.md` is the user-facing
//! reference and mirrors these docs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use super::admin::{AdminConfig, ModuleSources};
pub use super::cluster::*;
use super::duration;
pub use super::dynamic::{ConfigDiscovery, RtdsLayerConfig, RuntimeConfig, RuntimeLayerConfig, XdsConfig};
pub use super::limits::*;
pub use super::listener::*;
pub use super::node::NodeConfig;

/// The whole proxy configuration: one immutable snapshot.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The admin server (stats, readiness, config dump). Omit to run without one.
    #[serde(default)]
    pub admin: Option<AdminConfig>,
    /// Listeners accepting downstream HTTP connections. At least one.
    pub listeners: Vec<ListenerConfig>,
    /// Upstream clusters that routes and plugin callouts refer to by name.
    #[serde(default)]
    pub clusters: Vec<ClusterConfig>,
    /// proxy-wasm plugins that listeners and routes refer to by name.
    #[serde(default)]
    pub plugins: Vec<PluginConfig>,
    /// Runtime values published to filters (Envoy's `layered_runtime`).
    #[serde(default)]
    pub runtime: RuntimeConfig,
    /// The xDS client (RTDS runtime layers, ECDS plugin configs). Omit to run without one.
    #[serde(default)]
    pub xds: Option<XdsConfig>,
    /// This proxy's identity (Envoy's bootstrap `node`): sent to the control plane, readable
    /// by plugins. Default: id and cluster `weir`, no metadata.
    #[serde(default)]
    pub node: Option<NodeConfig>,
    /// Where plugin modules may come from and how big they may be.
    #[serde(default)]
    pub module_sources: ModuleSources,
}

/// A virtual host: a set of domains and their routes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualHostConfig {
    /// Unique name within the listener.
    pub name: String,
    /// Domains served: exact (`api.example.com`), suffix wildcard (`*.example.com`), prefix
    /// wildcard (`api.*`) or `*`. Matched against the whole `:authority`, port included.
    pub domains: Vec<String>,
    /// Routes, tried in order; the first match wins.
    pub routes: Vec<RouteConfig>,
}

/// One route: a match and what to do with matching requests.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Name, exposed to plugins as the `route_name` property and used in stats.
    #[serde(default)]
    pub name: String,
    /// Which requests this route takes.
    #[serde(rename = "match")]
    pub matcher: RouteMatch,
    /// Forward to a cluster. Exactly one of `route` and `direct_response` is required.
    #[serde(default)]
    pub route: Option<RouteAction>,
    /// Answer directly without an upstream.
    #[serde(default)]
    pub direct_response: Option<DirectResponse>,
    /// Plugins (by name) for this route instead of the listener's `http_filters`. An empty list
    /// runs no plugin on this route.
    #[serde(default)]
    pub http_filters: Option<Vec<String>>,
}

/// Path and header conditions of a route. Exactly one of `prefix`, `path`, `regex`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteMatch {
    /// The path starts with this prefix.
    #[serde(default)]
    pub prefix: Option<String>,
    /// The path (without query) is exactly this.
    #[serde(default)]
    pub path: Option<String>,
    /// The path (without query) fully matches this regular expression (RE2-like syntax).
    #[serde(default)]
    pub regex: Option<String>,
    /// Every header matcher must match too.
    #[serde(default)]
    pub headers: Vec<HeaderMatcher>,
}

/// A condition on one request header.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderMatcher {
    /// Header name (case-insensitive).
    pub name: String,
    /// The header's value equals this.
    #[serde(default)]
    pub exact: Option<String>,
    /// The header's value starts with this.
    #[serde(default)]
    pub prefix: Option<String>,
    /// The header's value fully matches this regular expression.
    #[serde(default)]
    pub regex: Option<String>,
    /// `true`: the header is present (any value); `false`: it is absent.
    #[serde(default)]
    pub present: Option<bool>,
    /// Inverts the result.
    #[serde(default)]
    pub invert: bool,
}

/// Forwarding to an upstream cluster.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteAction {
    /// The cluster to forward to. Exactly one of `cluster` and `cluster_header`.
    #[serde(default)]
    pub cluster: Option<String>,
    /// Forward to the cluster named by this request header (read after the plugins ran, as in
    /// Envoy). A missing header or unknown cluster gets 503, as in Envoy.
    #[serde(default)]
    pub cluster_header: Option<String>,
    /// Whole-request timeout, from the request's end to the response's end (Envoy default 15s;
    /// `0s` disables it).
    #[serde(default = "default_route_timeout", with = "duration")]
    pub timeout: Duration,
    /// Replaces the matched `prefix` of the path before forwarding.
    #[serde(default)]
    pub prefix_rewrite: Option<String>,
    /// Replaces `:authority` before forwarding.
    #[serde(default)]
    pub host_rewrite: Option<String>,
    /// Retries (Envoy's `retry_policy`).
    #[serde(default)]
    pub retry_policy: Option<RetryPolicy>,
    /// What consistent-hashing load balancers (`ring_hash`, `maglev`) hash on.
    #[serde(default)]
    pub hash_policy: Option<HashPolicy>,
}

/// When and how often to retry a request upstream.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Comma-separated conditions: `5xx` (a 5xx response or a connection failure),
    /// `gateway-error` (502, 503, 504), `connect-failure`, `reset` (the connection broke before
    /// a response), `retriable-status-codes` (see `retriable_status_codes`).
    pub retry_on: String,
    /// Retries after the first attempt (Envoy default 1).
    #[serde(default = "one")]
    pub num_retries: u32,
    /// Timeout of each attempt (default: the route timeout only).
    #[serde(default, with = "duration::option")]
    pub per_try_timeout: Option<Duration>,
    /// Status codes retried with `retriable-status-codes`.
    #[serde(default)]
    pub retriable_status_codes: Vec<u16>,
}

fn one() -> u32 {
    1
}

/// The key of consistent hashing. Exactly one field.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HashPolicy {
    /// Hash this request header (requests without it are spread round robin).
    #[serde(default)]
    pub header: Option<String>,
    /// Hash the path (without query).
    #[serde(default)]
    pub path: bool,
}

fn default_route_timeout() -> Duration {
    Duration::from_secs(15)
}

/// A fixed response.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DirectResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response body (sent as `text/plain`).
    #[serde(default)]
    pub body: String,
}

/// A proxy-wasm plugin (Envoy's `envoy.filters.http.wasm` `config`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// Unique name; the `plugin_name` property, and the label on its logs and metrics.
    pub name: String,
    /// Path of the `.wasm` module (relative paths are relative to the config file).
    pub wasm: PathBuf,
    /// Root context id passed to the module (Envoy's `root_id`); selects a root context in
    /// modules that hold several.
    #[serde(default)]
    pub root_id: String,
    /// VM id (Envoy's `vm_config.vm_id`). Plugins with the same module and `vm_id` share one VM
    /// per worker, and shared data and queues are scoped by it.
    #[serde(default)]
    pub vm_id: String,
    /// Plugin configuration, read by the module in `proxy_on_configure`. A string is passed as
    /// is; any other YAML value is passed as its JSON encoding.
    #[serde(default)]
    pub configuration: Option<serde_json::Value>,
    /// VM configuration, read by the module in `proxy_on_vm_start`; same encoding rules.
    #[serde(default)]
    pub vm_configuration: Option<serde_json::Value>,
    /// Environment variables visible to the module through WASI `environ_get` (Envoy's
    /// `vm_config.environment_variables`): `key_values` given here, and `host_env_keys` taken
    /// from weir's own environment. A plain map is read as `key_values`.
    #[serde(default)]
    pub environment_variables: EnvironmentVariables,
    /// What happens to requests when the plugin's VM has failed (trapped or exceeded a limit).
    #[serde(default)]
    pub failure_policy: FailurePolicy,
    /// Resource limits for each of this plugin's VMs.
    #[serde(default)]
    pub limits: PluginLimits,
    /// Take the configuration from the control plane (ECDS) instead of only from this file.
    #[serde(default)]
    pub config_discovery: Option<ConfigDiscovery>,
    /// Envoy's `allow_on_headers_stop_iteration` (Envoy 1.35+): when the plugin answers
    /// `StopIteration` from `on_request_headers`, the headers are held while its body callbacks
    /// go on (it can decide on the body before the headers go upstream), until it continues
    /// (from a body callback, or with `proxy_continue_stream`). Without it (the default, as in
    /// Envoy) `StopIteration` from headers is stop-all-and-buffer: the body is held by the host
    /// and reaches the plugin once it continues.
    #[serde(default)]
    pub allow_on_headers_stop_iteration: bool,
}

/// Envoy's `EnvironmentVariables` of a VM.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EnvironmentVariables {
    /// Variables and their values.
    pub key_values: BTreeMap<String, String>,
    /// Names of variables of weir's own environment passed to the module (those weir's
    /// environment does not have are left out). A name also in `key_values` takes the
    /// `key_values` value.
    pub host_env_keys: Vec<String>,
}

impl EnvironmentVariables {
    /// The environment the module sees: `host_env_keys` read from this process, then
    /// `key_values`.
    pub fn resolve(&self) -> Vec<(String, String)> {
        let mut env: BTreeMap<String, String> = self
            .host_env_keys
            .iter()
            .filter_map(|key| std::env::var(key).ok().map(|value| (key.clone(), value)))
            .collect();
        env.extend(self.key_values.iter().map(|(k, v)| (k.clone(), v.clone())));
        env.into_iter().collect()
    }
}

impl<'de> Deserialize<'de> for EnvironmentVariables {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Envoy {
            #[serde(default)]
            key_values: BTreeMap<String, String>,
            #[serde(default)]
            host_env_keys: Vec<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Envoy(Envoy),
            Map(BTreeMap<String, String>),
        }
        match Form::deserialize(deserializer).map_err(|_| {
            serde::de::Error::custom(
                "expected `{key_values: {NAME: value}, host_env_keys: [NAME]}` or a map of NAME: value",
            )
        })? {
            Form::Envoy(e) => {
                Ok(EnvironmentVariables { key_values: e.key_values, host_env_keys: e.host_env_keys })
            }
            Form::Map(key_values) => Ok(EnvironmentVariables { key_values, host_env_keys: Vec::new() }),
        }
    }
}

/// Envoy's `failure_policy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailurePolicy {
    /// Requests that reach a failed plugin get 503.
    #[default]
    FailClosed,
    /// A failed plugin is skipped; requests continue through the rest of the chain.
    FailOpen,
    /// A failed VM is replaced by a new one (requests get 503 until it is ready).
    FailReload,
}

impl PluginConfig {
    /// A plugin with every optional field at its default.
    pub fn new(name: &str, wasm: PathBuf) -> PluginConfig {
        PluginConfig {
            name: name.to_string(),
            wasm,
            root_id: String::new(),
            vm_id: String::new(),
            configuration: None,
            vm_configuration: None,
            environment_variables: EnvironmentVariables::default(),
            failure_policy: FailurePolicy::default(),
            limits: PluginLimits::default(),
            config_discovery: None,
            allow_on_headers_stop_iteration: false,
        }
    }

    /// The configuration bytes handed to `proxy_on_configure`.
    pub fn configuration_bytes(&self) -> Vec<u8> {
        value_bytes(self.configuration.as_ref())
    }

    /// The configuration bytes handed to `proxy_on_vm_start`.
    pub fn vm_configuration_bytes(&self) -> Vec<u8> {
        value_bytes(self.vm_configuration.as_ref())
    }
}

fn value_bytes(value: Option<&serde_json::Value>) -> Vec<u8> {
    match value {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::String(s)) => s.clone().into_bytes(),
        Some(other) => other.to_string().into_bytes(),
    }
}
