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
//! port), `path_prefix` the start of the request's path. Every condition given must hold.
//!
//! ## Paths are matched on their readings, never on the raw `:path`
//!
//! One resource has many spellings: `/admin`, `//admin`, `/./admin`, `/%61dmin`,
//! `/x/../admin`, `/x/..;/admin`, `/x/%252e%252e/admin` all reach `/admin` on some upstream,
//! and Envoy forwards the raw spelling unless its listener normalizes paths (by default it
//! does not). A rule chosen on the raw `:path` is skipped by a client that spells the path
//! another way. So `path_prefix` is matched against the readings [`weir_path::views`] gives
//! (the path as Envoy's `normalize_path` + `merge_slashes` forward it, then as the most
//! lenient server decodes it; the query never counts), and a path can select several rules:
//!
//! - [`Rules::select_each`] / [`Rules::select_each_current`] give every configuration some
//!   reading selects (one, unless the readings disagree). **A filter that enforces a policy**
//!   (authentication, authorization, rate limits) must use these and apply all of them, the
//!   strictest decision winning, so that no spelling of a path escapes its rule.
//! - [`Rules::select`] / [`Rules::select_current`] give one configuration, chosen on the
//!   normalized reading (the first). Use them only where a single choice is needed and a
//!   client gains nothing by picking its spelling (e.g. a shard size).

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use weir_abi::MapType;
use weir_path::views;

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
    /// The request's path starts with this, in one of its readings (see the module docs; the
    /// query is not part of it, so a prefix holding `?` or `#` is refused).
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
    /// `:path` as the request carries it (with its query); rules match its readings.
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
    /// Whether every given condition holds for `key`, with `path` as the reading of its path
    /// (one of [`weir_path::views`]`(&key.path)`).
    pub fn matches(&self, key: &RequestKey, path: &str) -> bool {
        let host = key.authority.rsplit_once(':').map_or(key.authority.as_str(), |(h, p)| {
            if p.bytes().all(|b| b.is_ascii_digit()) { h } else { key.authority.as_str() }
        });
        self.route.as_ref().is_none_or(|r| *r == key.route)
            && self.authority.as_ref().is_none_or(|a| a.eq_ignore_ascii_case(host))
            && self.path_prefix.as_ref().is_none_or(|p| path.starts_with(p.as_str()))
    }
}

/// A default configuration and per-route overrides.
#[derive(Debug, Clone)]
pub struct Rules<T> {
    default: T,
    rules: Vec<(RuleMatch, T)>,
    /// Whether some rule has a `path_prefix` (else the path's readings are never worked out).
    paths: bool,
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
            if matcher.path_prefix.as_ref().is_some_and(|p| p.contains(['?', '#'])) {
                return Err(ConfigError {
                    message: format!(
                        "{at}.match.path_prefix: paths are matched without their query; `?` and `#` \
                         cannot appear"
                    ),
                });
            }
            let overrides =
                rule.get_mut("config").map(Json::take).unwrap_or(Json::Object(Default::default()));
            let mut merged = root.clone();
            merge(&mut merged, overrides);
            let config: T = serde_json::from_value(merged).map_err(err(&format!("{at}.config")))?;
            parsed.push((matcher, config));
        }
        let paths = parsed.iter().any(|(m, _)| m.path_prefix.is_some());
        Ok(Rules { default, rules: parsed, paths })
    }
}

impl<T> Rules<T> {
    /// A configuration without rules.
    pub fn single(default: T) -> Rules<T> {
        Rules { default, rules: Vec::new(), paths: false }
    }

    /// The first rule matching `key` with `path` as its path, else the default.
    fn first_match(&self, key: &RequestKey, path: &str) -> &T {
        self.rules.iter().find(|(m, _)| m.matches(key, path)).map_or(&self.default, |(_, c)| c)
    }

    /// One configuration for `key`: the first rule matching on the normalized reading of its
    /// path, else the default. **Not for policies**: a path whose readings disagree may select
    /// other rules too; enforce with [`Rules::select_each`].
    pub fn select(&self, key: &RequestKey) -> &T {
        if self.rules.is_empty() {
            return &self.default;
        }
        if !self.paths {
            return self.first_match(key, "");
        }
        let readings = views(&key.path);
        self.first_match(key, readings.first().map_or("", String::as_str))
    }

    /// Every configuration some reading of `key`'s path selects, in the order of the readings
    /// (normalized first), each once: usually one. A filter enforcing a policy applies all of
    /// them and lets the strictest decision win.
    pub fn select_each(&self, key: &RequestKey) -> Vec<&T> {
        if self.rules.is_empty() || !self.paths {
            return vec![self.select(key)];
        }
        let mut selected: Vec<&T> = Vec::with_capacity(1);
        for reading in views(&key.path) {
            let config = self.first_match(key, &reading);
            if !selected.iter().any(|s| std::ptr::eq(*s, config)) {
                selected.push(config);
            }
        }
        selected
    }

    /// [`Rules::select`] for the current request (reads route name, authority and path).
    pub fn select_current(&self) -> &T {
        if self.rules.is_empty() {
            return &self.default;
        }
        self.select(&RequestKey::current())
    }

    /// [`Rules::select_each`] for the current request (reads route name, authority and path).
    pub fn select_each_current(&self) -> Vec<&T> {
        if self.rules.is_empty() {
            return vec![&self.default];
        }
        self.select_each(&RequestKey::current())
    }

    /// The default configuration.
    pub fn default_config(&self) -> &T {
        &self.default
    }

    /// Every configuration: the default, then each rule's (to prepare what requests will use).
    pub fn configs(&self) -> impl Iterator<Item = &T> {
        std::iter::once(&self.default).chain(self.rules.iter().map(|(_, config)| config))
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
#[path = "rules_tests.rs"]
mod tests;
