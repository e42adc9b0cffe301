//! Secrets in admin views: plugin `configuration` and `vm_configuration` (API keys, passwords,
//! HMAC keys) and environment variable values are shown as
//! `{"redacted": true, "sha256": …, "bytes": …}` (the hash of the bytes the plugin receives),
//! unless an authenticated request asks for `?show_secrets=true`.

use serde_json::{Map, Value};
use weir_admin_guard::redacted;

use crate::config::{Config, PluginConfig};

/// Whether the query asks for secrets (`show_secrets`, `show_secrets=true` or `=1`).
pub fn asks_for_secrets(query: Option<&str>) -> bool {
    query.unwrap_or("").split('&').any(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        key == "show_secrets" && matches!(value, "" | "true" | "1")
    })
}

/// A plugin's `configuration` as shown: redacted, or `null` when it has none.
pub fn configuration(plugin: &PluginConfig) -> Value {
    shown(plugin.configuration.as_ref(), &plugin.configuration_bytes())
}

/// A plugin's `vm_configuration` as shown.
pub fn vm_configuration(plugin: &PluginConfig) -> Value {
    shown(plugin.vm_configuration.as_ref(), &plugin.vm_configuration_bytes())
}

fn shown(value: Option<&Value>, bytes: &[u8]) -> Value {
    match value {
        None | Some(Value::Null) => Value::Null,
        Some(_) => redacted(bytes),
    }
}

/// `/config_dump`: the running config with every plugin's secrets redacted.
pub fn config_dump(config: &Config) -> Result<Value, serde_json::Error> {
    let mut dump = serde_json::to_value(config)?;
    let Some(plugins) = dump.get_mut("plugins").and_then(Value::as_array_mut) else { return Ok(dump) };
    for (shown, plugin) in plugins.iter_mut().zip(&config.plugins) {
        let Some(shown) = shown.as_object_mut() else { continue };
        shown.insert("configuration".into(), configuration(plugin));
        shown.insert("vm_configuration".into(), vm_configuration(plugin));
        let env = &plugin.environment_variables;
        let values: Map<String, Value> =
            env.key_values.iter().map(|(k, v)| (k.clone(), redacted(v.as_bytes()))).collect();
        shown.insert(
            "environment_variables".into(),
            serde_json::json!({"key_values": values, "host_env_keys": env.host_env_keys}),
        );
    }
    Ok(dump)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::json;

    use super::*;

    #[test]
    fn plugin_secrets_never_show() {
        let mut plugin = PluginConfig::new("auth", PathBuf::from("/m.wasm"));
        plugin.configuration = Some(json!({"api_key": "sk-SECRET"}));
        plugin.vm_configuration = Some(json!("hmac-SECRET"));
        plugin.environment_variables.key_values.insert("TOKEN".into(), "env-SECRET".into());
        let mut config = Config::parse(
            "listeners:\n  - name: main\n    address: 127.0.0.1:0\n    virtual_hosts:\n      - name: all\n        \
             domains: ['*']\n        routes:\n          - match: { prefix: / }\n            direct_response: { status: 200 }\n",
            "test",
        )
        .unwrap();
        config.plugins.push(plugin.clone());
        config.plugins.push(PluginConfig::new("plain", PathBuf::from("/p.wasm")));
        let dump = config_dump(&config).unwrap();
        assert!(!dump.to_string().contains("SECRET"), "{dump}");
        let shown = &dump["plugins"][0];
        assert_eq!(shown["configuration"]["bytes"], plugin.configuration_bytes().len());
        assert_eq!(shown["vm_configuration"]["bytes"], 11);
        assert_eq!(shown["environment_variables"]["key_values"]["TOKEN"]["redacted"], true);
        assert_eq!(dump["plugins"][1]["configuration"], Value::Null);
        assert!(asks_for_secrets(Some("a=1&show_secrets=true")));
        assert!(asks_for_secrets(Some("show_secrets")));
        assert!(!asks_for_secrets(Some("show_secrets=false")));
        assert!(!asks_for_secrets(None));
    }
}
