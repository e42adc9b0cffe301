//! A proxy-wasm plugin as every part of weir describes it: `weir.yaml`, the admin API, ECDS,
//! weir-cp and the tests (Envoy's `envoy.extensions.wasm.v3.PluginConfig`, with weir's
//! limits).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{PluginLimits, RemoteModule};

/// A proxy-wasm plugin (Envoy's `envoy.filters.http.wasm` `config`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// Unique name; the `plugin_name` property, and the label on its logs and metrics.
    pub name: String,
    /// Path of the `.wasm` module (relative paths are relative to the config file). Empty when
    /// the module comes from `remote`; once fetched, the host sets it to the cached file.
    #[serde(default, skip_serializing_if = "is_empty_path")]
    pub wasm: PathBuf,
    /// Fetch the module over HTTP(S) instead, verified by its SHA-256 (Envoy's
    /// `vm_config.code.remote`). Exactly one of `wasm` and `remote`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteModule>,
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

impl std::str::FromStr for FailurePolicy {
    type Err = String;

    /// Envoy's names (`FAIL_CLOSED`, …), in any case, `-` for `_`.
    fn from_str(text: &str) -> Result<Self, String> {
        match text.to_ascii_uppercase().replace('-', "_").as_str() {
            "FAIL_CLOSED" => Ok(FailurePolicy::FailClosed),
            "FAIL_OPEN" => Ok(FailurePolicy::FailOpen),
            "FAIL_RELOAD" => Ok(FailurePolicy::FailReload),
            _ => Err(format!("`{text}` is not FAIL_CLOSED, FAIL_OPEN or FAIL_RELOAD")),
        }
    }
}

impl PluginConfig {
    /// A plugin with every optional field at its default.
    pub fn new(name: &str, wasm: PathBuf) -> PluginConfig {
        PluginConfig {
            name: name.to_string(),
            wasm,
            remote: None,
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

fn is_empty_path(path: &std::path::Path) -> bool {
    path.as_os_str().is_empty()
}

fn value_bytes(value: Option<&serde_json::Value>) -> Vec<u8> {
    match value {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::String(s)) => s.clone().into_bytes(),
        Some(other) => other.to_string().into_bytes(),
    }
}

/// A plugin whose configuration comes from ECDS (Envoy's `config_discovery`): the control
/// plane's `TypedExtensionConfig` of that name replaces the plugin's `configuration` (and its
/// module, `root_id`, `vm_id` and failure policy when given); what `weir.yaml` says is the
/// default until then.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigDiscovery {
    /// The resource name (default: the plugin's name).
    #[serde(default)]
    pub resource_name: Option<String>,
}
