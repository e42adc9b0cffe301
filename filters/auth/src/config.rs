//! The filter's configuration as the operator writes it (JSON, the plugin configuration).
//! [`crate::settings`] checks it and turns it into what requests use; a bad configuration fails
//! `on_configure` with a log line naming the field.
//!
//! The top level holds the credentials (consumers, API-key source, JWT providers) and the
//! default route [`Policy`]; `rules` override the policy per route (see [`weir_sdk::rules`]):
//!
//! ```json
//! {"api_key": {"header": "x-api-key"},
//!  "consumers": [{"name": "alice", "api_keys": ["k-alice"]}],
//!  "policy": {"bypass_paths": ["/healthz"]},
//!  "rules": [{"match": {"path_prefix": "/admin"}, "config": {"policy": {"consumers": ["alice"]}}}]}
//! ```

use std::rc::Rc;

use serde::Deserialize;
use serde_json::Value as Json;

pub use crate::jwt::config::{ClaimToHeader, HeaderLocation, JwtConfig, ProviderConfig, RemoteJwksConfig};

/// The whole plugin configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Realm named in `WWW-Authenticate` challenges. Default: the request's `:authority`.
    #[serde(default)]
    pub realm: Option<String>,
    /// Request header that carries the authenticated consumer's name to the upstream. It is
    /// removed from every incoming request first, so a client cannot forge it. Empty: not sent.
    #[serde(default = "default_consumer_header")]
    pub consumer_header: String,
    /// Keep the credential (its header or query parameter) on the forwarded request. Default
    /// `false`: it is removed, as Envoy's `jwt_authn` does unless a provider sets `forward`.
    #[serde(default)]
    pub forward_credentials: bool,
    /// Longest credential accepted, in bytes (an API key, a Basic header value, a JWT). Longer
    /// ones are rejected with 401 before any decoding. Default 8192.
    #[serde(default = "default_max_credential_bytes")]
    pub max_credential_bytes: usize,
    /// Where API keys are read from. Absent: API keys are not accepted.
    #[serde(default)]
    pub api_key: Option<ApiKeySource>,
    /// Consumers identified by an API key or by HTTP Basic credentials.
    #[serde(default)]
    pub consumers: Vec<ConsumerConfig>,
    /// JWT (bearer token) authentication. Absent: tokens are not accepted.
    #[serde(default)]
    pub jwt: Option<JwtConfig>,
    /// What every route requires unless a rule says otherwise.
    #[serde(default)]
    pub policy: Policy,
    /// Per-route overrides, first match wins: `{"match": {"route" | "authority" |
    /// "path_prefix": ...}, "config": {"policy": {...}}}`. A rule's policy is merged over the
    /// top-level one (objects key by key; lists replace). Only `policy` may be overridden.
    #[serde(default)]
    pub rules: Vec<Json>,
}

/// Where a request's API key is read from (the header first).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeySource {
    /// Request header holding the key (e.g. `x-api-key`).
    #[serde(default)]
    pub header: Option<Rc<str>>,
    /// Query parameter holding the key (e.g. `api_key`), percent-decoded.
    #[serde(default)]
    pub query: Option<Rc<str>>,
}

/// A consumer: a named identity with its credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerConfig {
    /// The consumer's name: forwarded in `consumer_header`, matched by `policy.consumers`.
    pub name: String,
    /// API keys of this consumer, in clear text.
    #[serde(default)]
    pub api_keys: Vec<String>,
    /// API keys of this consumer as lower-case hex SHA-256 digests (keeps keys out of the
    /// configuration).
    #[serde(default)]
    pub api_key_sha256: Vec<String>,
    /// HTTP Basic credentials of this consumer.
    #[serde(default)]
    pub basic: Option<BasicConfig>,
    /// Scopes this consumer has (checked against `policy.scopes`).
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// A Basic username and its password (exactly one of `password`, `password_sha256`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicConfig {
    /// The username (compared exactly).
    pub username: String,
    /// The password in clear text.
    #[serde(default)]
    pub password: Option<String>,
    /// The password as a lower-case hex SHA-256 digest.
    #[serde(default)]
    pub password_sha256: Option<String>,
}

/// A way to authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// An API key from `api_key.header` or `api_key.query`.
    ApiKey,
    /// `Authorization: Basic ...`.
    Basic,
    /// A JWT from `jwt.from_headers` / `jwt.from_params`.
    Jwt,
}

impl Method {
    /// The name used in configuration and logs.
    pub fn name(self) -> &'static str {
        match self {
            Method::ApiKey => "api_key",
            Method::Basic => "basic",
            Method::Jwt => "jwt",
        }
    }
}

/// What a route requires. The top-level `policy` is the default; `rules` override it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Do not authenticate at all (Envoy `jwt_authn`'s per-route `disabled: true`).
    #[serde(default)]
    pub bypass: bool,
    /// Request paths (without the query) that skip authentication, e.g. health checks: an
    /// exact path, or a prefix when the entry ends with `*`.
    #[serde(default)]
    pub bypass_paths: Vec<String>,
    /// Let CORS preflight requests through unauthenticated: `OPTIONS` with `origin` and
    /// `access-control-request-method` headers (Envoy's `bypass_cors_preflight`). Default false.
    #[serde(default)]
    pub bypass_cors_preflight: bool,
    /// A request with no credential at all passes without an identity; an invalid credential
    /// is still rejected (Envoy's `allow_missing`). Default false.
    #[serde(default)]
    pub allow_missing: bool,
    /// Methods accepted here; a credential of another method is ignored (as if absent).
    /// Empty: every configured method.
    #[serde(default)]
    pub methods: Vec<Method>,
    /// Consumers allowed here; others get 403. Empty: any authenticated consumer.
    #[serde(default)]
    pub consumers: Vec<String>,
    /// Scopes the consumer must have, all of them; otherwise 403.
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl Policy {
    /// Whether `method` is accepted on this route.
    pub fn accepts(&self, method: Method) -> bool {
        self.methods.is_empty() || self.methods.contains(&method)
    }
}

/// What [`weir_sdk::rules::Rules`] selects per request: the top level's `policy` or a rule's
/// (merged over it). Other top-level fields are ignored here.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RouteView {
    /// The route's policy.
    #[serde(default)]
    pub policy: Policy,
}

fn default_consumer_header() -> String {
    "x-auth-consumer".into()
}

fn default_max_credential_bytes() -> usize {
    8192
}

/// Checks that every rule overrides nothing but `policy` (credentials are global).
pub fn check_rule_keys(rules: &[Json]) -> Result<(), String> {
    for (i, rule) in rules.iter().enumerate() {
        let Some(rule) = rule.as_object() else {
            return Err(format!("rules[{i}] must be an object"));
        };
        if let Some(key) = rule.keys().find(|k| !matches!(k.as_str(), "match" | "config")) {
            return Err(format!("rules[{i}]: unknown field `{key}` (expected `match`, `config`)"));
        }
        match rule.get("config") {
            None | Some(Json::Null) => {}
            Some(Json::Object(config)) => {
                if let Some(key) = config.keys().find(|k| k.as_str() != "policy") {
                    return Err(format!(
                        "rules[{i}].config: `{key}` cannot be set per route (only `policy`)"
                    ));
                }
            }
            Some(_) => return Err(format!("rules[{i}].config must be an object")),
        }
    }
    Ok(())
}
