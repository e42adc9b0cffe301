//! Per-route configuration. Envoy's Wasm filter has no per-route config, so weir-sdk reads it
//! from the plugin configuration itself: the top level is the default, and `rules` override it
//! for requests that match (first match wins; a rule's `config` is merged over the default,
//! objects recursively, so a rule states only what changes).
//!
//! ```json
//! {
//!   "limit": 100,
//!   "rules": [
//!     {"match": {"route": "admin"}, "config": {"limit": 5}},
//!     {"match": {"authority": "internal.example.com", "path_prefix": "/batch"}, "config": {"limit": 1000}}
//!   ]
//! }
//! ```
//!
//! `route` matches the route name (`xds.route_name`), `authority` the `:authority` (without
//! port), `path_prefix` the start of `:path`. Every condition given must hold.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use weir_abi::MapType;

use crate::config::ConfigError;
use crate::host;

/// Conditions of one rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleMatch {
    /// The route name equals this.
    #[serde(default)]
    pub route: Option<String>,
    /// `:authority` (without port) equals this, case-insensitively.
    #[serde(default)]
    pub authority: Option<String>,
    /// `:path` starts with this.
    #[serde(default)]
    pub path_prefix: Option<String>,
}

/// What a rule is matched against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestKey {
    /// Route name.
    pub route: String,
    /// `:authority`.
    pub authority: String,
    /// `:path`.
    pub path: String,
}

impl RequestKey {
    /// The current request's key (call from a request-headers callback).
    pub fn current() -> RequestKey {
        let text = |v: Option<host::Value>| v.map(|v| v.to_string_lossy()).unwrap_or_default();
        RequestKey {
            route: text(host::property(&["xds", "route_name"]).ok().flatten()),
            authority: text(host::header(MapType::HttpRequestHeaders, ":authority").ok().flatten()),
            path: text(host::header(MapType::HttpRequestHeaders, ":path").ok().flatten()),
        }
    }
}

impl RuleMatch {
    /// Whether every given condition holds for `key`.
    pub fn matches(&self, key: &RequestKey) -> bool {
        let host = key.authority.rsplit_once(':').map_or(key.authority.as_str(), |(h, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) { h } else { key.authority.as_str() }
        });
        self.route.as_ref().is_none_or(|r| *r == key.route)
            && self.authority.as_ref().is_none_or(|a| a.eq_ignore_ascii_case(host))
            && self.path_prefix.as_ref().is_none_or(|p| key.path.starts_with(p.as_str()))
    }
}

/// A default configuration and per-route overrides.
#[derive(Debug, Clone)]
pub struct Rules<T> {
    default: T,
    rules: Vec<(RuleMatch, T)>,
}

impl<T: DeserializeOwned> Rules<T> {
    /// Parses a configuration with optional `rules`. Errors name the rule and field.
    pub fn parse(bytes: &[u8]) -> Result<Rules<T>, ConfigError> {
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
        let mut root: Json = serde_json::from_slice(bytes).map_err(err(""))?;
        let rules = match root.as_object_mut() {
            Some(map) => map.remove("rules"),
            None => return Err(ConfigError { message: "configuration must be a JSON object".into() }),
        };
        let default: T = serde_json::from_value(root.clone()).map_err(err(""))?;
        let mut parsed = Vec::new();
        let list = match rules {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(list)) => list,
            Some(_) => return Err(ConfigError { message: "`rules` must be a list".into() }),
        };
        for (i, mut rule) in list.into_iter().enumerate() {
            let at = format!("rules[{i}]");
            let matcher = rule.get_mut("match").map(Json::take).unwrap_or(Json::Null);
            let matcher: RuleMatch = if matcher.is_null() {
                RuleMatch::default()
            } else {
                serde_json::from_value(matcher).map_err(err(&format!("{at}.match")))?
            };
            let overrides =
                rule.get_mut("config").map(Json::take).unwrap_or(Json::Object(Default::default()));
            let mut merged = root.clone();
            merge(&mut merged, overrides);
            let config: T = serde_json::from_value(merged).map_err(err(&format!("{at}.config")))?;
            parsed.push((matcher, config));
        }
        Ok(Rules { default, rules: parsed })
    }
}

impl<T> Rules<T> {
    /// A configuration without rules.
    pub fn single(default: T) -> Rules<T> {
        Rules { default, rules: Vec::new() }
    }

    /// The configuration for `key`: the first matching rule's, else the default.
    pub fn select(&self, key: &RequestKey) -> &T {
        self.rules.iter().find(|(m, _)| m.matches(key)).map_or(&self.default, |(_, c)| c)
    }

    /// The configuration for the current request (reads route name, authority and path).
    pub fn select_current(&self) -> &T {
        if self.rules.is_empty() {
            return &self.default;
        }
        self.select(&RequestKey::current())
    }

    /// The default configuration.
    pub fn default_config(&self) -> &T {
        &self.default
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

fn err(at: &str) -> impl Fn(serde_json::Error) -> ConfigError + '_ {
    move |e| ConfigError { message: if at.is_empty() { e.to_string() } else { format!("{at}: {e}") } }
}

/// Merges `over` into `base`: objects key by key, recursively; anything else replaces.
fn merge(base: &mut Json, over: Json) {
    match (base, over) {
        (Json::Object(base), Json::Object(over)) => {
            for (k, v) in over {
                merge(base.entry(k).or_insert(Json::Null), v);
            }
        }
        (base, over) => *base = over,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Limits {
        limit: u32,
        #[serde(default)]
        headers: std::collections::BTreeMap<String, String>,
    }

    fn key(route: &str, authority: &str, path: &str) -> RequestKey {
        RequestKey { route: route.into(), authority: authority.into(), path: path.into() }
    }

    #[test]
    fn rules_override_the_default_and_merge_objects() {
        let rules: Rules<Limits> = Rules::parse(
            br#"{"limit": 100, "headers": {"a": "1"}, "rules": [
                {"match": {"route": "admin"}, "config": {"limit": 5}},
                {"match": {"authority": "Api.Example.com", "path_prefix": "/batch"}, "config": {"headers": {"b": "2"}}}
            ]}"#,
        )
        .unwrap();
        assert_eq!(rules.select(&key("admin", "x", "/")).limit, 5);
        let batch = rules.select(&key("r", "api.example.com:8080", "/batch/1"));
        assert_eq!(batch.limit, 100);
        assert_eq!(batch.headers.len(), 2);
        assert_eq!(rules.select(&key("r", "api.example.com", "/other")).limit, 100);
    }

    #[test]
    fn errors_name_the_rule() {
        let err =
            Rules::<Limits>::parse(br#"{"limit": 1, "rules": [{"match": {}, "config": {"limit": "x"}}]}"#)
                .unwrap_err();
        assert!(err.message.starts_with("rules[0].config"), "{err}");
        let err =
            Rules::<Limits>::parse(br#"{"limit": 1, "rules": [{"match": {"host": "x"}}]}"#).unwrap_err();
        assert!(err.message.starts_with("rules[0].match"), "{err}");
        assert!(Rules::<Limits>::parse(br#"{"limitt": 1}"#).is_err());
    }
}
