//! Envoy's Wasm HTTP filter config (`envoy.extensions.filters.http.wasm.v3.Wasm`) as what it
//! sets in a weir plugin: from ECDS, and from the `http_filters` (or, before a `tcp_proxy`,
//! the network filters) of an Envoy bootstrap or LDS listener.
//! Anything weir cannot honour is refused, never half-applied.

use std::path::PathBuf;

use envoy_types::pb::envoy::config::core::v3::{RemoteDataSource, async_data_source, data_source};
use envoy_types::pb::envoy::extensions::filters::http::wasm::v3::Wasm;
use envoy_types::pb::envoy::extensions::wasm::v3::{FailurePolicy as EnvoyPolicy, plugin_config};
use envoy_types::pb::google::protobuf::{Any, BytesValue, StringValue};
use weir_plugin_spec::RemoteModule;
use weir_xds::convert as any;

use serde_json::json;

use super::Refusals;
use crate::config::{EnvironmentVariables, FailurePolicy, PluginConfig, PluginOverride};

/// What a Wasm filter config sets.
pub fn filter(wasm: &Wasm) -> Result<PluginOverride, String> {
    let plugin = wasm.config.clone().ok_or_else(|| "config is missing".to_string())?;
    let configuration = match &plugin.configuration {
        None => None,
        Some(c) => Some(configuration(c)?),
    };
    let (wasm_path, remote, vm_id, environment_variables) = match plugin.vm {
        None => (None, None, None, None),
        Some(plugin_config::Vm::VmConfig(vm)) => {
            let code = vm.code.and_then(|c| c.specifier);
            let (path, remote) = match code {
                None => (None, None),
                Some(async_data_source::Specifier::Local(source)) => match source.specifier {
                    Some(data_source::Specifier::Filename(f)) => (Some(PathBuf::from(f)), None),
                    _ => return Err("vm_config.code.local: only `filename` is supported".into()),
                },
                Some(async_data_source::Specifier::Remote(source)) => (None, Some(remote_module(&source)?)),
            };
            let env = vm.environment_variables.map(|e| EnvironmentVariables {
                key_values: e.key_values.into_iter().collect(),
                host_env_keys: e.host_env_keys,
            });
            (path, remote, Some(vm.vm_id), env)
        }
    };
    // `fail_open` is deprecated in Envoy but still honoured when `failure_policy` is unset.
    #[allow(deprecated)]
    let fail_open = plugin.fail_open;
    let failure_policy = match EnvoyPolicy::try_from(plugin.failure_policy) {
        Ok(EnvoyPolicy::FailClosed) => Some(FailurePolicy::FailClosed),
        Ok(EnvoyPolicy::FailOpen) => Some(FailurePolicy::FailOpen),
        Ok(EnvoyPolicy::FailReload) => Some(FailurePolicy::FailReload),
        Ok(EnvoyPolicy::Unspecified) => fail_open.then_some(FailurePolicy::FailOpen),
        Err(_) => return Err(format!("unknown failure_policy {}", plugin.failure_policy)),
    };
    let allow_on_headers_stop_iteration = plugin.allow_on_headers_stop_iteration.map(|b| b.value);
    let root_id = plugin.root_id;
    Ok(PluginOverride {
        wasm: wasm_path,
        remote,
        root_id,
        vm_id,
        configuration,
        failure_policy,
        environment_variables,
        allow_on_headers_stop_iteration,
    })
}

/// Envoy's `vm_config.code.remote`: `http_uri.uri`, `http_uri.timeout` (default 30 s),
/// `sha256`, `retry_policy.num_retries` (default 1, as Envoy). weir connects to the URI's host
/// itself: `http_uri.cluster`, which Envoy fetches through, is not used (docs/config.md).
fn remote_module(source: &RemoteDataSource) -> Result<RemoteModule, String> {
    let uri = source.http_uri.as_ref().ok_or("vm_config.code.remote.http_uri is required")?;
    let mut module = RemoteModule::new(&uri.uri, &source.sha256);
    if let Some(timeout) = &uri.timeout {
        let secs = u64::try_from(timeout.seconds)
            .map_err(|_| "vm_config.code.remote.http_uri.timeout is negative")?;
        module.timeout = std::time::Duration::new(secs, u32::try_from(timeout.nanos).unwrap_or(0));
    }
    module.retries = source.retry_policy.as_ref().and_then(|r| r.num_retries.map(|n| n.value)).unwrap_or(1);
    module.check("vm_config.code.remote").map_err(|e| e.to_string())?;
    Ok(module)
}

/// The configuration bytes as Envoy hands them to the filter: a `StringValue` or `BytesValue`
/// as its value; other types would reach the filter as protobuf bytes, so they are refused.
/// A plugin `configuration` (`StringValue`, or UTF-8 `BytesValue`) as the string it holds.
pub fn configuration_text(value: &Any) -> Result<String, String> {
    match configuration(value)? {
        serde_json::Value::String(s) => Ok(s),
        other => Ok(other.to_string()),
    }
}

fn configuration(value: &Any) -> Result<serde_json::Value, String> {
    if value.type_url.ends_with("/google.protobuf.StringValue") {
        let s: StringValue = any::unpack(value).map_err(|e| e.to_string())?;
        return Ok(serde_json::Value::String(s.value));
    }
    if value.type_url.ends_with("/google.protobuf.BytesValue") {
        let b: BytesValue = any::unpack(value).map_err(|e| e.to_string())?;
        return String::from_utf8(b.value)
            .map(serde_json::Value::String)
            .map_err(|_| "configuration: a BytesValue must hold UTF-8 text".to_string());
    }
    Err(format!("configuration: {} is not supported (use google.protobuf.StringValue)", value.type_url))
}

/// A weir plugin from a Wasm filter named `name`.
pub(super) fn plugin(name: &str, wasm: &Wasm) -> Result<PluginConfig, String> {
    let o = filter(wasm)?;
    let mut p: PluginConfig = match (o.wasm, o.remote) {
        (Some(path), _) => {
            serde_json::from_value(json!({"name": name, "wasm": path})).map_err(|e| e.to_string())?
        }
        (None, Some(remote)) => {
            serde_json::from_value(json!({"name": name, "remote": remote})).map_err(|e| e.to_string())?
        }
        (None, None) => {
            return Err("config.vm_config.code: a local filename or a remote source is required".into());
        }
    };
    p.root_id = o.root_id;
    p.vm_id = o.vm_id.unwrap_or_default();
    p.configuration = o.configuration;
    if let Some(policy) = o.failure_policy {
        p.failure_policy = policy;
    }
    if let Some(env) = o.environment_variables {
        p.environment_variables = env;
    }
    p.allow_on_headers_stop_iteration = o.allow_on_headers_stop_iteration.unwrap_or(false);
    Ok(p)
}

/// Adds a Wasm filter's plugin to `plugins` and returns its name; a filter name used again
/// must carry the same config (refused at `at` otherwise).
pub(super) fn add_plugin(
    plugins: &mut Vec<PluginConfig>,
    p: PluginConfig,
    at: &str,
    refusals: &mut Refusals,
) -> Option<String> {
    match plugins.iter().find(|q| q.name == p.name) {
        Some(q) if serde_json::to_value(q).ok() != serde_json::to_value(&p).ok() => {
            refusals.add(at, format!("filter `{}` is configured differently elsewhere", p.name));
            None
        }
        Some(_) => Some(p.name),
        None => {
            let name = p.name.clone();
            plugins.push(p);
            Some(name)
        }
    }
}
