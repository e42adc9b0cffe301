//! ECDS: a `TypedExtensionConfig` holding Envoy's Wasm HTTP filter config, turned into what it
//! changes in a weir plugin. Anything weir cannot honour is refused (and so NACKed), never
//! half-applied.

use std::path::PathBuf;

use envoy_types::pb::envoy::config::core::v3::TypedExtensionConfig;
use envoy_types::pb::envoy::config::core::v3::{async_data_source, data_source};
use envoy_types::pb::envoy::extensions::filters::http::wasm::v3::Wasm;
use envoy_types::pb::envoy::extensions::wasm::v3::{FailurePolicy as EnvoyPolicy, plugin_config};
use envoy_types::pb::google::protobuf::{Any, BytesValue, StringValue};
use weir_xds::convert as any;

use crate::config::{EnvironmentVariables, FailurePolicy, PluginOverride};

/// Decodes one ECDS resource (its name and what it sets).
pub fn decode(resource: &Any) -> Result<(String, PluginOverride), String> {
    let typed: TypedExtensionConfig = any::unpack(resource).map_err(|e| e.to_string())?;
    let name = typed.name.clone();
    let at = |e: String| format!("extension config `{name}`: {e}");
    let inner = typed.typed_config.ok_or_else(|| at("typed_config is missing".into()))?;
    let wasm: Wasm = any::unpack(&inner).map_err(|e| at(e.to_string()))?;
    let plugin = wasm.config.ok_or_else(|| at("config is missing".into()))?;
    let configuration = match &plugin.configuration {
        None => None,
        Some(c) => Some(configuration(c).map_err(at)?),
    };
    let (wasm_path, vm_id, environment_variables) = match plugin.vm {
        None => (None, None, None),
        Some(plugin_config::Vm::VmConfig(vm)) => {
            let code = vm.code.and_then(|c| c.specifier);
            let path = match code {
                None => None,
                Some(async_data_source::Specifier::Local(source)) => match source.specifier {
                    Some(data_source::Specifier::Filename(f)) => Some(PathBuf::from(f)),
                    _ => return Err(at("vm_config.code.local: only `filename` is supported".into())),
                },
                Some(async_data_source::Specifier::Remote(_)) => {
                    return Err(at("vm_config.code.remote is not supported; use a local filename".into()));
                }
            };
            let env = vm.environment_variables.map(|e| EnvironmentVariables {
                key_values: e.key_values.into_iter().collect(),
                host_env_keys: e.host_env_keys,
            });
            (path, Some(vm.vm_id), env)
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
        Err(_) => return Err(at(format!("unknown failure_policy {}", plugin.failure_policy))),
    };
    let allow_on_headers_stop_iteration = plugin.allow_on_headers_stop_iteration.map(|b| b.value);
    let root_id = plugin.root_id;
    let o = PluginOverride {
        wasm: wasm_path,
        root_id,
        vm_id,
        configuration,
        failure_policy,
        environment_variables,
        allow_on_headers_stop_iteration,
    };
    Ok((name, o))
}

/// The configuration bytes as Envoy hands them to the filter: a `StringValue` or `BytesValue`
/// as its value; other types would reach the filter as protobuf bytes, so they are refused.
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

#[cfg(test)]
mod tests {
    use envoy_types::pb::envoy::config::core::v3::{AsyncDataSource, DataSource};
    use envoy_types::pb::envoy::extensions::wasm::v3::{PluginConfig, VmConfig};

    use super::*;

    fn resource(configuration: Any, code: Option<async_data_source::Specifier>) -> Any {
        let plugin = PluginConfig {
            name: "p".into(),
            root_id: "root".into(),
            configuration: Some(configuration),
            failure_policy: EnvoyPolicy::FailOpen as i32,
            vm: Some(plugin_config::Vm::VmConfig(VmConfig {
                vm_id: "vm".into(),
                runtime: "envoy.wasm.runtime.v8".into(),
                code: code.map(|s| AsyncDataSource { specifier: Some(s) }),
                environment_variables: Some(
                    envoy_types::pb::envoy::extensions::wasm::v3::EnvironmentVariables {
                        host_env_keys: vec!["HOME".into()],
                        key_values: [("A".to_string(), "1".to_string())].into_iter().collect(),
                    },
                ),
                ..VmConfig::default()
            })),
            allow_on_headers_stop_iteration: Some(envoy_types::pb::google::protobuf::BoolValue {
                value: true,
            }),
            ..PluginConfig::default()
        };
        any::pack(&TypedExtensionConfig {
            name: "shard".into(),
            typed_config: Some(any::pack(&Wasm { config: Some(plugin) })),
        })
    }

    fn local(path: &str) -> Option<async_data_source::Specifier> {
        Some(async_data_source::Specifier::Local(DataSource {
            specifier: Some(data_source::Specifier::Filename(path.into())),
            ..DataSource::default()
        }))
    }

    #[test]
    fn decodes_what_envoy_reads() {
        let config = any::pack(&StringValue { value: r#"{"a":1}"#.into() });
        let (name, o) = decode(&resource(config, local("/f.wasm"))).unwrap();
        assert_eq!(name, "shard");
        assert_eq!(o.wasm, Some(PathBuf::from("/f.wasm")));
        assert_eq!((o.root_id.as_str(), o.vm_id.as_deref()), ("root", Some("vm")));
        assert_eq!(o.configuration, Some(serde_json::Value::String(r#"{"a":1}"#.into())));
        assert_eq!(o.failure_policy, Some(FailurePolicy::FailOpen));
        let env = o.environment_variables.unwrap();
        assert_eq!(
            (env.host_env_keys, env.key_values.get("A").map(String::as_str)),
            (vec!["HOME".into()], Some("1"))
        );
        assert_eq!(o.allow_on_headers_stop_iteration, Some(true));
    }

    #[test]
    fn refuses_what_weir_cannot_honour() {
        let config = any::pack(&StringValue { value: "{}".into() });
        let remote = Some(async_data_source::Specifier::Remote(Default::default()));
        assert!(decode(&resource(config.clone(), remote)).unwrap_err().contains("remote is not supported"));
        let wrong = any::pack(&envoy_types::pb::google::protobuf::UInt32Value { value: 1 });
        assert!(decode(&resource(wrong, None)).unwrap_err().contains("not supported"));
        let not_wasm = any::pack(&TypedExtensionConfig { name: "x".into(), typed_config: Some(config) });
        assert!(
            decode(&not_wasm).unwrap_err().contains("expected envoy.extensions.filters.http.wasm.v3.Wasm")
        );
    }
}
