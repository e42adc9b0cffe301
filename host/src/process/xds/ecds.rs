//! ECDS: a `TypedExtensionConfig` holding Envoy's Wasm HTTP filter config, turned into what it
//! changes in a weir plugin. Anything weir cannot honour is refused (and so NACKed), never
//! half-applied.

use envoy_types::pb::envoy::config::core::v3::TypedExtensionConfig;
use envoy_types::pb::envoy::extensions::filters::http::wasm::v3::Wasm;
use envoy_types::pb::google::protobuf::Any;
use weir_xds::convert as any;

use crate::config::PluginOverride;

/// Decodes one ECDS resource (its name and what it sets).
pub fn decode(resource: &Any) -> Result<(String, PluginOverride), String> {
    let typed: TypedExtensionConfig = any::unpack(resource).map_err(|e| e.to_string())?;
    let name = typed.name.clone();
    let at = |e: String| format!("extension config `{name}`: {e}");
    let inner = typed.typed_config.ok_or_else(|| at("typed_config is missing".into()))?;
    let wasm: Wasm = any::unpack(&inner).map_err(|e| at(e.to_string()))?;
    let o = crate::config::envoy::wasm::filter(&wasm).map_err(at)?;
    Ok((name, o))
}

#[cfg(test)]
mod tests {
    use envoy_types::pb::envoy::config::core::v3::{
        AsyncDataSource, DataSource, async_data_source, data_source,
    };
    use envoy_types::pb::envoy::extensions::wasm::v3::{
        FailurePolicy as EnvoyPolicy, PluginConfig, VmConfig, plugin_config,
    };
    use std::path::PathBuf;

    use envoy_types::pb::google::protobuf::StringValue;

    use crate::config::FailurePolicy;

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

    fn remote_source(uri: &str, sha256: &str) -> Option<async_data_source::Specifier> {
        use envoy_types::pb::envoy::config::core::v3::{HttpUri, RemoteDataSource, RetryPolicy};
        Some(async_data_source::Specifier::Remote(RemoteDataSource {
            http_uri: Some(HttpUri {
                uri: uri.into(),
                timeout: Some(envoy_types::pb::google::protobuf::Duration { seconds: 5, nanos: 0 }),
                ..HttpUri::default()
            }),
            sha256: sha256.into(),
            retry_policy: Some(RetryPolicy {
                num_retries: Some(envoy_types::pb::google::protobuf::UInt32Value { value: 3 }),
                ..RetryPolicy::default()
            }),
        }))
    }

    #[test]
    fn a_remote_module_is_its_uri_digest_timeout_and_retries() {
        let config = any::pack(&StringValue { value: "{}".into() });
        let digest = "ab".repeat(32);
        let (_, o) =
            decode(&resource(config, remote_source("https://plugins.example/a.wasm", &digest))).unwrap();
        assert_eq!(o.wasm, None);
        let remote = o.remote.unwrap();
        assert_eq!(
            (remote.url.as_str(), remote.sha256.as_str()),
            ("https://plugins.example/a.wasm", digest.as_str())
        );
        assert_eq!((remote.timeout, remote.retries), (std::time::Duration::from_secs(5), 3));
    }

    #[test]
    fn refuses_what_weir_cannot_honour() {
        let config = any::pack(&StringValue { value: "{}".into() });
        let remote = Some(async_data_source::Specifier::Remote(Default::default()));
        assert!(decode(&resource(config.clone(), remote)).unwrap_err().contains("http_uri is required"));
        let bad_digest = remote_source("https://plugins.example/a.wasm", "abc");
        assert!(
            decode(&resource(config.clone(), bad_digest))
                .unwrap_err()
                .contains("vm_config.code.remote.sha256")
        );
        let wrong = any::pack(&envoy_types::pb::google::protobuf::UInt32Value { value: 1 });
        assert!(decode(&resource(wrong, None)).unwrap_err().contains("not supported"));
        let not_wasm = any::pack(&TypedExtensionConfig { name: "x".into(), typed_config: Some(config) });
        assert!(
            decode(&not_wasm).unwrap_err().contains("expected envoy.extensions.filters.http.wasm.v3.Wasm")
        );
    }
}
