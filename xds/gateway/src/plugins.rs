//! `WasmPlugin` (`weir.dev/v1alpha1`), weir's policy attaching a proxy-wasm plugin (module,
//! configuration, failure policy) to Gateways or HTTPRoutes of its namespace, in the spirit of
//! Envoy Gateway's `EnvoyExtensionPolicy` and Istio's `WasmPlugin`. A plugin is an Envoy Wasm
//! HTTP filter in each listener of the Gateways it reaches; on the routes it does not target it
//! is disabled per route (`FilterConfig { disabled: true }`), so weir runs it per route in one VM.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::GROUP;
use crate::conditions::Condition;
use crate::key::Key;

/// The API version of [`WasmPlugin`].
pub const API_VERSION: &str = "weir.dev/v1alpha1";

/// Most targets one plugin names.
const MAX_TARGETS: usize = 16;

/// A `WasmPlugin` manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WasmPlugin {
    /// `weir.dev/v1alpha1`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// `WasmPlugin`.
    pub kind: String,
    /// Name and namespace.
    pub metadata: ObjectMeta,
    /// What to run where.
    pub spec: WasmPluginSpec,
}

/// What a `WasmPlugin` runs, and where.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WasmPluginSpec {
    /// Gateways and HTTPRoutes of the plugin's namespace it runs for (1 to 16).
    pub target_refs: Vec<TargetRef>,
    /// The module: an absolute path as the proxies see it.
    pub module: String,
    /// The root context id (`root_id`).
    #[serde(default)]
    pub root_id: String,
    /// The VM id (`vm_id`): plugins with the same id and module share a VM.
    #[serde(default)]
    pub vm_id: String,
    /// The plugin configuration: a string as is, anything else as its JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<Value>,
    /// `FailClosed` (the default: requests get 503 when the plugin fails) or `FailOpen`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_policy: Option<FailurePolicy>,
}

/// What a request meets when the plugin fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailurePolicy {
    /// Answered 503.
    FailClosed,
    /// Passed on as if the plugin were not there.
    FailOpen,
}

/// A Gateway or HTTPRoute a plugin targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetRef {
    /// `gateway.networking.k8s.io`.
    pub group: String,
    /// `Gateway` or `HTTPRoute`.
    pub kind: String,
    /// Its name (in the plugin's namespace).
    pub name: String,
}

/// A plugin, checked: its filter and what it targets.
pub(crate) struct Plugin {
    /// The Envoy HTTP filter's name: `wasm:NAMESPACE:NAME`.
    pub filter_name: String,
    /// The Envoy Wasm HTTP filter.
    pub filter: Value,
    pub gateways: Vec<Key>,
    pub routes: Vec<Key>,
}

impl Plugin {
    /// Checks `plugin`; `Err` says why it is not accepted.
    pub fn new(key: &Key, plugin: &WasmPlugin) -> Result<Plugin, Condition> {
        let invalid = |message: String| Condition::no("Accepted", "Invalid", message);
        let spec = &plugin.spec;
        if spec.target_refs.is_empty() || spec.target_refs.len() > MAX_TARGETS {
            return Err(invalid(format!("targetRefs: 1 to {MAX_TARGETS} targets")));
        }
        if !spec.module.starts_with('/') || spec.module.chars().any(char::is_control) {
            return Err(invalid(format!("module {:?}: an absolute path as the proxies see it", spec.module)));
        }
        let (mut gateways, mut routes) = (Vec::new(), Vec::new());
        for t in &spec.target_refs {
            let target = Key::new(&key.namespace, &t.name);
            match (t.group.as_str(), t.kind.as_str()) {
                (GROUP, "Gateway") => gateways.push(target),
                (GROUP, "HTTPRoute") => routes.push(target),
                (group, kind) => {
                    return Err(invalid(format!("targetRefs: {group}/{kind} is not a Gateway or HTTPRoute")));
                }
            }
        }
        let filter_name = format!("wasm:{}", key.id());
        let mut config = json!({
            "name": key.to_string(),
            "root_id": spec.root_id,
            "vm_config": {"vm_id": spec.vm_id, "runtime": "envoy.wasm.runtime.v8", "code": {"local": {"filename": spec.module}}},
            "failure_policy": match spec.failure_policy.unwrap_or(FailurePolicy::FailClosed) {
                FailurePolicy::FailClosed => "FAIL_CLOSED",
                FailurePolicy::FailOpen => "FAIL_OPEN",
            },
        });
        if let Some(c) = &spec.configuration {
            let text = match c {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            config["configuration"] =
                json!({"@type": "type.googleapis.com/google.protobuf.StringValue", "value": text});
        }
        let filter = json!({"name": filter_name, "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": config,
        }});
        Ok(Plugin { filter_name, filter, gateways, routes })
    }

    /// Whether it runs on Gateway `gateway` at all, given the routes attached to it.
    pub fn reaches(&self, gateway: &Key, attached: &[Key]) -> bool {
        self.gateways.contains(gateway) || self.routes.iter().any(|r| attached.contains(r))
    }

    /// Whether it runs for route `route` of Gateway `gateway`.
    pub fn runs_for(&self, gateway: &Key, route: &Key) -> bool {
        self.gateways.contains(gateway) || self.routes.contains(route)
    }
}

/// A plugin's status.
#[derive(Debug, Clone, Serialize)]
pub struct PluginStatus {
    /// Which plugin.
    #[serde(flatten)]
    pub key: Key,
    /// The Gateways whose proxies run it.
    pub gateways: Vec<String>,
    /// `Accepted` (`Invalid`, `TargetNotFound`).
    pub conditions: Vec<Condition>,
}
