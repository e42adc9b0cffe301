//! CORS policies as Envoy's `envoy.filters.http.cors` resolves them. Envoy takes a request's
//! policies from its route and its virtual host, and each setting from the most specific
//! policy that sets it (a non-empty string or list, a boolean given): a route's policy states
//! only what differs. Here `policy` plays the virtual host's part (every route), and
//! `routes[<route name>]` the route's (`xds.route_name`).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::matcher::{Matcher, MatcherConfig};

/// Most origin matchers per policy.
pub const MAX_ORIGINS: usize = 256;
/// Most route policies.
pub const MAX_ROUTES: usize = 4096;
/// Most `safe_regex` matchers in a whole configuration (each holds up to
/// [`crate::matcher::MAX_REGEX_SIZE`] compiled and [`crate::matcher::MAX_REGEX_CACHE`] of cache).
pub const MAX_REGEXES: usize = 64;

/// The filter's configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The policy of every route (Envoy: the virtual host's `CorsPolicy`).
    #[serde(default)]
    pub policy: Option<PolicyConfig>,
    /// Policies by route name (Envoy: a route's `typed_per_filter_config` `CorsPolicy`).
    #[serde(default)]
    pub routes: BTreeMap<String, PolicyConfig>,
}

/// One policy: Envoy's `envoy.extensions.filters.http.cors.v3.CorsPolicy` (its
/// `filter_enabled` and `shadow_enabled` runtime fractions are not supported: refused).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Origins allowed; a matcher that matches `*` allows every origin.
    #[serde(default)]
    pub allow_origin_string_match: Vec<MatcherConfig>,
    /// `access-control-allow-methods` of a preflight answer (`*`: the requested method).
    #[serde(default)]
    pub allow_methods: String,
    /// `access-control-allow-headers` of a preflight answer (`*`: the requested headers).
    #[serde(default)]
    pub allow_headers: String,
    /// `access-control-expose-headers` of an answer to an allowed origin.
    #[serde(default)]
    pub expose_headers: String,
    /// `access-control-max-age` of a preflight answer.
    #[serde(default)]
    pub max_age: String,
    /// `access-control-allow-credentials: true`.
    #[serde(default)]
    pub allow_credentials: Option<bool>,
    /// Answer a preflight asking for private network access with
    /// `access-control-allow-private-network: true`.
    #[serde(default)]
    pub allow_private_network_access: Option<bool>,
    /// Forward a preflight from an origin not allowed to the upstream (default `true`);
    /// `false` answers it here, without `access-control-allow-origin`.
    #[serde(default)]
    pub forward_not_matching_preflights: Option<bool>,
}

/// A compiled policy.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    origins: Vec<Matcher>,
    /// Whether a matcher matches the text `*`, which allows every origin (as in Envoy): known
    /// once here rather than tested per request.
    any_origin: bool,
    allow_methods: String,
    allow_headers: String,
    expose_headers: String,
    max_age: String,
    allow_credentials: Option<bool>,
    allow_private_network_access: Option<bool>,
    forward_not_matching_preflights: Option<bool>,
}

impl PolicyConfig {
    /// The compiled policy, or why not (the field named).
    pub fn compile(&self) -> Result<Policy, String> {
        if self.allow_origin_string_match.len() > MAX_ORIGINS {
            return Err(format!("`allow_origin_string_match`: more than {MAX_ORIGINS} matchers"));
        }
        let origins: Vec<Matcher> = self
            .allow_origin_string_match
            .iter()
            .enumerate()
            .map(|(i, m)| m.compile().map_err(|e| format!("`allow_origin_string_match[{i}]`: {e}")))
            .collect::<Result<_, _>>()?;
        let any_origin = origins.iter().any(|m| m.matches("*", "*"));
        for (field, value) in [
            ("allow_methods", &self.allow_methods),
            ("allow_headers", &self.allow_headers),
            ("expose_headers", &self.expose_headers),
            ("max_age", &self.max_age),
        ] {
            if value.bytes().any(|b| b.is_ascii_control()) {
                return Err(format!("`{field}`: control characters cannot go in a header"));
            }
        }
        Ok(Policy {
            origins,
            any_origin,
            allow_methods: self.allow_methods.clone(),
            allow_headers: self.allow_headers.clone(),
            expose_headers: self.expose_headers.clone(),
            max_age: self.max_age.clone(),
            allow_credentials: self.allow_credentials,
            allow_private_network_access: self.allow_private_network_access,
            forward_not_matching_preflights: self.forward_not_matching_preflights,
        })
    }
}

/// Every policy, compiled: what the filter loads its configuration as (a [`Config`] that does
/// not compile is refused with the reason).
#[derive(Debug, Default, Deserialize)]
#[serde(try_from = "Config")]
pub struct Policies {
    default: Option<Policy>,
    routes: BTreeMap<String, Policy>,
}

impl Config {
    /// The compiled policies, or why not (the policy and field named).
    pub fn compile(&self) -> Result<Policies, String> {
        if self.routes.len() > MAX_ROUTES {
            return Err(format!("`routes`: more than {MAX_ROUTES} route policies"));
        }
        let default =
            self.policy.as_ref().map(|p| p.compile().map_err(|e| format!("`policy`: {e}"))).transpose()?;
        let routes = self
            .routes
            .iter()
            .map(|(name, p)| {
                p.compile().map(|c| (name.clone(), c)).map_err(|e| format!("`routes.{name}`: {e}"))
            })
            .collect::<Result<_, _>>()?;
        let policies = Policies { default, routes };
        let regexes: usize = policies
            .default
            .iter()
            .chain(policies.routes.values())
            .flat_map(|p| &p.origins)
            .filter(|m| m.is_regex())
            .count();
        if regexes > MAX_REGEXES {
            return Err(format!("more than {MAX_REGEXES} `safe_regex` matchers in all"));
        }
        Ok(policies)
    }
}

impl TryFrom<Config> for Policies {
    type Error = String;

    fn try_from(config: Config) -> Result<Policies, String> {
        config.compile()
    }
}

impl Policies {
    /// The policies of a request on route `route`, most specific first; `None` when it has none
    /// (the filter then does nothing, as Envoy's without a policy).
    pub fn of_route(&self, route: &str) -> Option<Resolved<'_>> {
        let first = self.routes.get(route).or(self.default.as_ref())?;
        let second = self.routes.contains_key(route).then_some(self.default.as_ref()).flatten();
        Some(Resolved { first, second })
    }
}

/// A request's policies; each setting from the first that sets it.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    first: &'a Policy,
    second: Option<&'a Policy>,
}

impl<'a> Resolved<'a> {
    fn each(&self) -> impl Iterator<Item = &'a Policy> {
        std::iter::once(self.first).chain(self.second)
    }

    fn text(&self, field: impl Fn(&'a Policy) -> &'a str) -> &'a str {
        self.each().map(field).find(|v| !v.is_empty()).unwrap_or("")
    }

    fn flag(&self, field: impl Fn(&Policy) -> Option<bool>) -> Option<bool> {
        self.each().find_map(field)
    }

    /// Whether `origin` is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        let Some(policy) = self.each().find(|p| !p.origins.is_empty()) else { return false };
        if policy.any_origin {
            return true;
        }
        let lower = origin.to_ascii_lowercase();
        policy.origins.iter().any(|m| m.matches(origin, &lower))
    }

    /// `allow_methods`.
    pub fn allow_methods(&self) -> &'a str {
        self.text(|p| &p.allow_methods)
    }

    /// `allow_headers`.
    pub fn allow_headers(&self) -> &'a str {
        self.text(|p| &p.allow_headers)
    }

    /// `expose_headers`.
    pub fn expose_headers(&self) -> &'a str {
        self.text(|p| &p.expose_headers)
    }

    /// `max_age`.
    pub fn max_age(&self) -> &'a str {
        self.text(|p| &p.max_age)
    }

    /// `allow_credentials`.
    pub fn allow_credentials(&self) -> bool {
        self.flag(|p| p.allow_credentials).unwrap_or(false)
    }

    /// `allow_private_network_access`.
    pub fn allow_private_network_access(&self) -> bool {
        self.flag(|p| p.allow_private_network_access).unwrap_or(false)
    }

    /// `forward_not_matching_preflights` (default `true`).
    pub fn forward_not_matching_preflights(&self) -> bool {
        self.flag(|p| p.forward_not_matching_preflights).unwrap_or(true)
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
