//! Manifests in: YAML (several documents, `---`) or JSON, each object read as the
//! `gateway-api` / `k8s-openapi` type its `apiVersion` and `kind` name. A field the type does
//! not have is refused with its path (as `kubectl apply` with strict field validation); a kind
//! weir-cp does not read is listed as ignored, never dropped silently.

use std::collections::BTreeMap;

use gateway_api::gatewayclasses::GatewayClass;
use gateway_api::gateways::Gateway;
use gateway_api::httproutes::HttpRoute;
use gateway_api::referencegrants::ReferenceGrant;
use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ManifestError;
use crate::key::Key;
use crate::limits;
use crate::plugins::{self, WasmPlugin};

/// Most objects one set of manifests holds.
pub const MAX_DOCUMENTS: usize = 10_000;

/// Most entries of any list in a manifest (an EndpointSlice's `endpoints` are at most 1,000).
const MAX_LIST: usize = 1_000;

/// The objects weir-cp reads, by kind.
#[derive(Debug, Default)]
pub struct Manifests {
    /// `GatewayClass`es, by name (cluster-scoped).
    pub classes: BTreeMap<String, GatewayClass>,
    /// `Gateway`s.
    pub gateways: BTreeMap<Key, Gateway>,
    /// `HTTPRoute`s.
    pub routes: BTreeMap<Key, HttpRoute>,
    /// `ReferenceGrant`s.
    pub grants: BTreeMap<Key, ReferenceGrant>,
    /// `Service`s.
    pub services: BTreeMap<Key, Service>,
    /// `EndpointSlice`s.
    pub slices: BTreeMap<Key, EndpointSlice>,
    /// `Namespace`s, by name (their labels select routes for `allowedRoutes`).
    pub namespaces: BTreeMap<String, Namespace>,
    /// weir's `WasmPlugin` policies.
    pub plugins: BTreeMap<Key, WasmPlugin>,
    /// What was not read: `apps/v1 Deployment default/web`.
    pub ignored: Vec<String>,
}

#[derive(Deserialize)]
struct Head {
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: String,
}

impl Manifests {
    /// Reads every document of `text`; refuses the whole on the first invalid one.
    pub fn parse(text: &str) -> Result<Manifests, ManifestError> {
        let mut out = Manifests::default();
        let mut document = 0;
        for doc in serde_norway::Deserializer::from_str(text) {
            document += 1;
            let value = Value::deserialize(doc)
                .map_err(|e| ManifestError::new(document, "", "", format!("not YAML or JSON: {e}")))?;
            match value {
                Value::Null => {}
                Value::Object(_) => out.add(document, value)?,
                _ => return Err(ManifestError::new(document, "", "", "a manifest is an object")),
            }
        }
        Ok(out)
    }

    fn count(&self) -> usize {
        self.classes.len()
            + self.gateways.len()
            + self.routes.len()
            + self.grants.len()
            + self.services.len()
            + self.slices.len()
            + self.namespaces.len()
            + self.plugins.len()
            + self.ignored.len()
    }

    fn add(&mut self, document: usize, value: Value) -> Result<(), ManifestError> {
        if self.count() >= MAX_DOCUMENTS {
            return Err(ManifestError::new(document, "", "", format!("more than {MAX_DOCUMENTS} objects")));
        }
        let head: Head = serde_json::from_value(value.clone())
            .map_err(|e| ManifestError::new(document, "", "", format!("apiVersion and kind: {e}")))?;
        if head.kind == "List" && head.api_version == "v1" {
            let items = value.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
            for item in items {
                self.add(document, item)?;
            }
            return Ok(());
        }
        let text = |pointer: &str| value.pointer(pointer).and_then(Value::as_str).map(str::to_string);
        let name = text("/metadata/name").unwrap_or_default();
        let namespace = text("/metadata/namespace").unwrap_or_else(|| "default".into());
        let (name, namespace) = (name.as_str(), namespace.as_str());
        let what = format!(" ({} {namespace}/{name})", head.kind);
        if name.is_empty() {
            return Err(ManifestError::new(document, &what, "metadata.name", "required"));
        }
        if !limits::subdomain(name) {
            return Err(ManifestError::new(document, &what, "metadata.name", "not a DNS-1123 subdomain"));
        }
        if !limits::label(namespace) {
            return Err(ManifestError::new(document, &what, "metadata.namespace", "not a DNS-1123 label"));
        }
        long_lists(&value, &mut String::new())
            .and_then(|()| limits::lists(&head.kind, &value))
            .map_err(|(path, reason)| ManifestError::new(document, &what, path, reason))?;
        let at = Place { document, what: &what };
        let gateway = |v: &str| v == "gateway.networking.k8s.io/v1";
        match (head.api_version.as_str(), head.kind.as_str()) {
            (v, "GatewayClass") if gateway(v) => {
                let class: GatewayClass = at.typed(value)?;
                at.unique(&mut self.classes, name.to_string(), class)
            }
            (v, "Gateway") if gateway(v) => at.keyed(&mut self.gateways, value, namespace, name),
            (v, "HTTPRoute") if gateway(v) => at.keyed(&mut self.routes, value, namespace, name),
            ("gateway.networking.k8s.io/v1beta1" | "gateway.networking.k8s.io/v1", "ReferenceGrant") => {
                at.keyed(&mut self.grants, value, namespace, name)
            }
            ("v1", "Service") => at.keyed(&mut self.services, value, namespace, name),
            ("discovery.k8s.io/v1", "EndpointSlice") => at.keyed(&mut self.slices, value, namespace, name),
            (plugins::API_VERSION, "WasmPlugin") => at.keyed(&mut self.plugins, value, namespace, name),
            ("v1", "Namespace") => {
                let ns: Namespace = at.typed(value)?;
                at.unique(&mut self.namespaces, name.to_string(), ns)
            }
            (api, kind) => {
                self.ignored.push(format!("{api} {kind} {namespace}/{name}"));
                Ok(())
            }
        }
    }
}

/// Where a document is, for its errors.
struct Place<'a> {
    document: usize,
    what: &'a str,
}

impl Place<'_> {
    fn error(&self, path: impl Into<String>, reason: impl Into<String>) -> ManifestError {
        ManifestError::new(self.document, self.what, path, reason)
    }

    /// `value` as a `T`; a field `T` does not have is refused with its path.
    fn typed<T: DeserializeOwned + serde::Serialize>(&self, value: Value) -> Result<T, ManifestError> {
        let typed: T = serde_path_to_error::deserialize(&value).map_err(|e| {
            let path = e.path().to_string();
            self.error(if path == "." { String::new() } else { path }, e.into_inner().to_string())
        })?;
        let back = serde_json::to_value(&typed).map_err(|e| self.error("", e.to_string()))?;
        if let Some(path) = unknown_field(&value, &back, &mut String::new()) {
            return Err(self.error(path, "unknown field"));
        }
        Ok(typed)
    }

    fn keyed<T: DeserializeOwned + serde::Serialize>(
        &self,
        map: &mut BTreeMap<Key, T>,
        value: Value,
        namespace: &str,
        name: &str,
    ) -> Result<(), ManifestError> {
        let typed = self.typed(value)?;
        self.unique(map, Key::new(namespace, name), typed)
    }

    fn unique<K: Ord, T>(&self, map: &mut BTreeMap<K, T>, key: K, value: T) -> Result<(), ManifestError> {
        if map.insert(key, value).is_some() {
            return Err(self.error("metadata.name", "given twice"));
        }
        Ok(())
    }
}

/// The first field of `given` (not null) that `read` (the typed object written back) lacks.
fn unknown_field(given: &Value, read: &Value, path: &mut String) -> Option<String> {
    match (given, read) {
        (Value::Object(given), Value::Object(read)) => {
            for (key, value) in given {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                let found = match read.get(key) {
                    None if !value.is_null() => Some(path.clone()),
                    None => None,
                    Some(back) => unknown_field(value, back, path),
                };
                path.truncate(len);
                if found.is_some() {
                    return found;
                }
            }
            None
        }
        (Value::Array(given), Value::Array(read)) => {
            given.iter().zip(read).enumerate().find_map(|(i, (g, r))| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = unknown_field(g, r, path);
                path.truncate(len);
                found
            })
        }
        _ => None,
    }
}

/// A list longer than [`MAX_LIST`], anywhere in `value`.
fn long_lists(value: &Value, path: &mut String) -> Result<(), (String, String)> {
    match value {
        Value::Array(items) if items.len() > MAX_LIST => {
            Err((path.clone(), format!("{} entries, at most {MAX_LIST}", items.len())))
        }
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, v)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let r = long_lists(v, path);
            path.truncate(len);
            r
        }),
        Value::Object(fields) => fields.iter().try_for_each(|(k, v)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k);
            let r = long_lists(v, path);
            path.truncate(len);
            r
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[path = "manifests_tests.rs"]
mod tests;
