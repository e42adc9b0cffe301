//! ECDS resources: a Wasm HTTP filter's configuration, served as a `TypedExtensionConfig` named
//! like the resource and holding an `envoy.extensions.filters.http.wasm.v3.Wasm`.

use envoy_types::pb::envoy::config::core::v3::{
    AsyncDataSource, DataSource, HttpUri, RemoteDataSource, RetryPolicy, TypedExtensionConfig,
    async_data_source, data_source, http_uri,
};
use envoy_types::pb::envoy::extensions::filters::http::wasm::v3::Wasm;
use envoy_types::pb::envoy::extensions::wasm::v3::{
    FailurePolicy as PbPolicy, PluginConfig, VmConfig, plugin_config,
};
use envoy_types::pb::google::protobuf::{Duration as PbDuration, StringValue, UInt32Value};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::StoreError;
use super::keys;
use weir_plugin_spec::{FailurePolicy, RemoteModule};
use weir_xds::convert::pack;

/// The Wasm runtime named in served configs (the only one Envoy's official builds carry).
pub const WASM_RUNTIME: &str = "envoy.wasm.runtime.v8";

/// One ECDS resource as operators give it (`PUT /ecds/{name}`, `weir-cp ecds set`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcdsConfig {
    /// Path of the `.wasm` module **as the proxy sees it** (served as
    /// `vm_config.code.local.filename`). Exactly one of `wasm` and `remote`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub wasm: String,
    /// Or a module the proxy fetches over HTTP(S) (served as `vm_config.code.remote`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<EcdsRemote>,
    /// `vm_config.vm_id`: plugins with the same id share a VM and its shared data.
    pub vm_id: String,
    /// `root_id` of the plugin (empty: the module's default root context).
    #[serde(default)]
    pub root_id: String,
    /// The plugin configuration. A JSON string is served as is; any other value as its JSON text;
    /// `null` (the default) serves no configuration.
    #[serde(default)]
    pub configuration: Value,
    /// `failure_policy`; unset leaves Envoy's default (fail closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_policy: Option<FailurePolicy>,
}

/// A module fetched by the proxy: Envoy's `RemoteDataSource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EcdsRemote {
    /// `http_uri.uri`: where the module is.
    pub url: String,
    /// `sha256`: the module's SHA-256, 64 hex digits; another module is never used.
    pub sha256: String,
    /// `http_uri.cluster`: the cluster Envoy fetches through (Envoy requires one; weir connects
    /// to the URL's host itself).
    pub cluster: String,
    /// `http_uri.timeout`: one attempt's limit.
    #[serde(default = "default_fetch_timeout", with = "weir_plugin_spec::duration")]
    pub timeout: std::time::Duration,
    /// `retry_policy.num_retries`.
    #[serde(default = "default_fetch_retries")]
    pub retries: u32,
}

fn default_fetch_timeout() -> std::time::Duration {
    std::time::Duration::from_secs(30)
}

fn default_fetch_retries() -> u32 {
    1
}

impl EcdsRemote {
    fn check(&self) -> Result<(), String> {
        let mut module = RemoteModule::new(&self.url, &self.sha256);
        (module.timeout, module.retries) = (self.timeout, self.retries);
        module.check("remote").map_err(|e| e.to_string())?;
        if self.cluster.trim().is_empty() {
            return Err("`remote.cluster` (the cluster Envoy fetches through) must not be empty".into());
        }
        Ok(())
    }

    fn source(&self) -> RemoteDataSource {
        RemoteDataSource {
            http_uri: Some(HttpUri {
                uri: self.url.clone(),
                timeout: Some(PbDuration {
                    seconds: i64::try_from(self.timeout.as_secs()).unwrap_or(i64::MAX),
                    nanos: i32::try_from(self.timeout.subsec_nanos()).unwrap_or(0),
                }),
                http_upstream_type: Some(http_uri::HttpUpstreamType::Cluster(self.cluster.clone())),
            }),
            sha256: self.sha256.to_ascii_lowercase(),
            retry_policy: Some(RetryPolicy {
                num_retries: Some(UInt32Value { value: self.retries }),
                ..RetryPolicy::default()
            }),
        }
    }
}

impl EcdsConfig {
    /// Checks the config before it is stored under `name`.
    pub fn check(&self, name: &str) -> Result<(), StoreError> {
        keys::check_name("ECDS resource", name)?;
        let bad =
            |reason: &str| StoreError::InvalidEcds { name: name.to_string(), reason: reason.to_string() };
        match (&self.remote, self.wasm.trim().is_empty()) {
            (None, true) => return Err(bad("a module is required: `wasm` (a path) or `remote`")),
            (Some(_), false) => return Err(bad("`wasm` and `remote` are exclusive")),
            (Some(remote), true) => remote.check().map_err(|e| bad(&e))?,
            (None, false) => {}
        }
        if self.vm_id.chars().any(char::is_whitespace) {
            return Err(bad("`vm_id` must not contain whitespace"));
        }
        Ok(())
    }

    /// The configuration text handed to the plugin, if any.
    pub fn configuration_text(&self) -> Option<String> {
        match &self.configuration {
            Value::Null => None,
            Value::String(text) => Some(text.clone()),
            other => Some(other.to_string()),
        }
    }

    /// The resource served over ECDS.
    pub fn to_resource(&self, name: &str) -> TypedExtensionConfig {
        let specifier = match &self.remote {
            Some(remote) => async_data_source::Specifier::Remote(remote.source()),
            None => async_data_source::Specifier::Local(DataSource {
                watched_directory: None,
                specifier: Some(data_source::Specifier::Filename(self.wasm.clone())),
            }),
        };
        let code = AsyncDataSource { specifier: Some(specifier) };
        let vm = VmConfig {
            vm_id: self.vm_id.clone(),
            runtime: WASM_RUNTIME.to_string(),
            code: Some(code),
            ..VmConfig::default()
        };
        let policy = match self.failure_policy {
            None => PbPolicy::Unspecified,
            Some(FailurePolicy::FailClosed) => PbPolicy::FailClosed,
            Some(FailurePolicy::FailOpen) => PbPolicy::FailOpen,
            Some(FailurePolicy::FailReload) => PbPolicy::FailReload,
        };
        let plugin = PluginConfig {
            name: name.to_string(),
            root_id: self.root_id.clone(),
            configuration: self.configuration_text().map(|value| pack(&StringValue { value })),
            failure_policy: policy as i32,
            vm: Some(plugin_config::Vm::VmConfig(vm)),
            ..PluginConfig::default()
        };
        TypedExtensionConfig {
            name: name.to_string(),
            typed_config: Some(pack(&Wasm { config: Some(plugin) })),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use weir_xds::convert::unpack;

    fn config() -> EcdsConfig {
        serde_json::from_value(json!({
            "wasm": "/filters/auth.wasm", "vm_id": "weir", "root_id": "auth",
            "configuration": {"keys": 1}, "failure_policy": "FAIL_OPEN"
        }))
        .unwrap()
    }

    #[test]
    fn builds_the_wasm_filter_resource() {
        let resource = config().to_resource("auth");
        assert_eq!(resource.name, "auth");
        let any = resource.typed_config.unwrap();
        assert_eq!(any.type_url, weir_xds::types::WASM_FILTER);
        let plugin = unpack::<Wasm>(&any).unwrap().config.unwrap();
        assert_eq!((plugin.name.as_str(), plugin.root_id.as_str()), ("auth", "auth"));
        assert_eq!(plugin.failure_policy, PbPolicy::FailOpen as i32);
        let text = unpack::<StringValue>(&plugin.configuration.unwrap()).unwrap().value;
        assert_eq!(text, r#"{"keys":1}"#);
        let Some(plugin_config::Vm::VmConfig(vm)) = plugin.vm else { panic!("no vm config") };
        assert_eq!((vm.vm_id.as_str(), vm.runtime.as_str()), ("weir", WASM_RUNTIME));
        let Some(async_data_source::Specifier::Local(local)) = vm.code.unwrap().specifier else { panic!() };
        assert_eq!(local.specifier, Some(data_source::Specifier::Filename("/filters/auth.wasm".into())));
    }

    #[test]
    fn a_remote_module_is_served_as_envoys_remote_data_source() {
        let mut c = config();
        c.wasm = String::new();
        c.remote = Some(
            serde_json::from_value(json!({
                "url": "https://plugins.example/auth.wasm", "sha256": "AB".repeat(32), "cluster": "modules",
                "timeout": "5s", "retries": 2
            }))
            .unwrap(),
        );
        c.check("auth").unwrap();
        let plugin = unpack::<Wasm>(&c.to_resource("auth").typed_config.unwrap()).unwrap().config.unwrap();
        let Some(plugin_config::Vm::VmConfig(vm)) = plugin.vm else { panic!("no vm config") };
        let Some(async_data_source::Specifier::Remote(remote)) = vm.code.unwrap().specifier else { panic!() };
        assert_eq!(remote.sha256, "ab".repeat(32));
        let uri = remote.http_uri.unwrap();
        assert_eq!(uri.uri, "https://plugins.example/auth.wasm");
        assert_eq!(uri.http_upstream_type, Some(http_uri::HttpUpstreamType::Cluster("modules".into())));
        assert_eq!(uri.timeout.map(|t| t.seconds), Some(5));
        assert_eq!(remote.retry_policy.unwrap().num_retries.map(|n| n.value), Some(2));
        // Both, neither, a bad digest, no cluster: refused.
        let mut both = c.clone();
        both.wasm = "/x.wasm".into();
        assert!(both.check("auth").unwrap_err().to_string().contains("exclusive"));
        let mut bad = c.clone();
        bad.remote.as_mut().unwrap().sha256 = "12".into();
        assert!(bad.check("auth").unwrap_err().to_string().contains("remote.sha256"));
        let mut nowhere = c.clone();
        nowhere.remote.as_mut().unwrap().cluster = String::new();
        assert!(nowhere.check("auth").unwrap_err().to_string().contains("remote.cluster"));
    }

    #[test]
    fn strings_are_served_raw_and_null_is_none() {
        let mut c = config();
        c.configuration = json!("plain: text");
        assert_eq!(c.configuration_text().as_deref(), Some("plain: text"));
        c.configuration = Value::Null;
        assert_eq!(c.configuration_text(), None);
    }

    #[test]
    fn checks() {
        config().check("auth").unwrap();
        assert!(config().check("a b").is_err());
        let mut c = config();
        c.wasm = " ".into();
        assert!(matches!(c.check("auth"), Err(StoreError::InvalidEcds { .. })));
        assert!(
            serde_json::from_value::<EcdsConfig>(json!({"wasm": "x", "vm_id": "v", "extra": 1})).is_err()
        );
    }
}
