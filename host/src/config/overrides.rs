//! What the control plane changes in a plugin (ECDS): parts of a plugin's config that replace
//! what `weir.yaml` says, applied to the plugins that discover their config by that name.

use std::collections::BTreeMap;
use std::path::PathBuf;

use weir_plugin_spec::RemoteModule;

use super::{Config, EnvironmentVariables, FailurePolicy};

/// What an ECDS resource sets on a plugin; unset parts keep the `weir.yaml` values.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginOverride {
    /// The module (`vm_config.code.local.filename`).
    pub wasm: Option<PathBuf>,
    /// Or the module to fetch (`vm_config.code.remote`).
    pub remote: Option<RemoteModule>,
    /// `root_id`.
    pub root_id: String,
    /// `vm_config.vm_id`, when a `vm_config` is given.
    pub vm_id: Option<String>,
    /// The plugin configuration (`configuration`, a `StringValue` or UTF-8 `BytesValue`).
    pub configuration: Option<serde_json::Value>,
    /// `failure_policy` (or the deprecated `fail_open`), when set.
    pub failure_policy: Option<FailurePolicy>,
    /// `vm_config.environment_variables`, when given.
    pub environment_variables: Option<EnvironmentVariables>,
    /// `allow_on_headers_stop_iteration`, when set.
    pub allow_on_headers_stop_iteration: Option<bool>,
}

/// Applies the overrides to the plugins that discover their config under those names.
pub fn apply_overrides(config: &mut Config, overrides: &BTreeMap<String, PluginOverride>) {
    for plugin in &mut config.plugins {
        let Some(discovery) = &plugin.config_discovery else { continue };
        let name = discovery.resource_name.as_deref().unwrap_or(&plugin.name);
        let Some(o) = overrides.get(name) else { continue };
        if let Some(remote) = &o.remote {
            plugin.remote = Some(remote.clone());
            plugin.wasm = PathBuf::new();
        } else if let Some(wasm) = &o.wasm {
            plugin.wasm = wasm.clone();
            plugin.remote = None;
        }
        plugin.root_id = o.root_id.clone();
        if let Some(vm_id) = &o.vm_id {
            plugin.vm_id = vm_id.clone();
        }
        if let Some(c) = &o.configuration {
            plugin.configuration = Some(c.clone());
        }
        if let Some(p) = o.failure_policy {
            plugin.failure_policy = p;
        }
        if let Some(env) = &o.environment_variables {
            plugin.environment_variables = env.clone();
        }
        if let Some(allow) = o.allow_on_headers_stop_iteration {
            plugin.allow_on_headers_stop_iteration = allow;
        }
    }
}
