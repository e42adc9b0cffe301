//! A route, in weir's schema: `name`, `match` (`prefix`, `path` or `regex`, and `headers`),
//! then `route` (`cluster` or `cluster_header`, `timeout`, `prefix_rewrite`, `host_rewrite`) or
//! `direct_response`, and optionally its own chain (`http_filters`).

use anyhow::Context;
use serde_json::{Map, Value, json};

/// A route.
#[derive(Debug, Clone, PartialEq)]
pub struct Route(Map<String, Value>);

impl Route {
    /// Named `name`, matching paths that start with `prefix`; give it an action next.
    pub fn prefix(name: &str, prefix: &str) -> Route {
        let mut fields = Map::new();
        fields.insert("name".into(), json!(name));
        fields.insert("match".into(), json!({"prefix": prefix}));
        Route(fields)
    }

    /// One written in weir's schema.
    pub fn from_weir(value: Value) -> anyhow::Result<Route> {
        match value {
            Value::Object(fields) if fields.contains_key("match") => Ok(Route(fields)),
            other => anyhow::bail!("a route is a map with a `match`: {other}"),
        }
    }

    /// Forwards to `cluster`.
    pub fn to_cluster(self, cluster: &str) -> Route {
        self.action(json!({"cluster": cluster}))
    }

    /// Forwards to the cluster named by request header `header`.
    pub fn to_cluster_header(self, header: &str) -> Route {
        self.action(json!({"cluster_header": header}))
    }

    /// Answers `status` with `body` itself.
    pub fn direct(mut self, status: u16, body: &str) -> Route {
        self.0.insert("direct_response".into(), json!({"status": status, "body": body}));
        self
    }

    /// The forwarding route's timeout (`500ms`, `2s`).
    pub fn timeout(mut self, timeout: &str) -> Route {
        if let Some(action) = self.0.get_mut("route").and_then(Value::as_object_mut) {
            action.insert("timeout".into(), json!(timeout));
        }
        self
    }

    /// Runs these plugins (by name) instead of the listener's chain; none for an empty list.
    pub fn chain<S: AsRef<str>>(mut self, plugins: &[S]) -> Route {
        let names: Vec<&str> = plugins.iter().map(AsRef::as_ref).collect();
        self.0.insert("http_filters".into(), json!(names));
        self
    }

    fn action(mut self, action: Value) -> Route {
        self.0.insert("route".into(), action);
        self
    }

    /// As `weir.yaml` has it.
    pub fn weir(&self) -> Value {
        Value::Object(self.0.clone())
    }

    /// A field (`name`, `match`, `route`, `direct_response`).
    pub(crate) fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field)
    }

    /// Its own chain, when it has one.
    pub(crate) fn own_chain(&self) -> anyhow::Result<Option<Vec<String>>> {
        let Some(list) = self.0.get("http_filters") else { return Ok(None) };
        let names = list.as_array().context("a route's `http_filters` is a list")?;
        let names = names.iter().map(|n| n.as_str().map(str::to_string).context("a plugin name"));
        Ok(Some(names.collect::<anyhow::Result<_>>()?))
    }
}
