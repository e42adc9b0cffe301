//! JWT configuration: where tokens are read from and the providers (issuers) that sign them.
//! Names follow Envoy's `jwt_authn` where there is an equivalent.

use std::rc::Rc;

use serde::Deserialize;
use serde_json::Value as Json;

/// JWT authentication.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// Identity providers. A token's `iss` claim picks the provider with that `issuer`; a
    /// provider without `issuer` takes tokens of any issuer (only when no other matches).
    pub providers: Vec<ProviderConfig>,
    /// Headers a token is read from, in order. Default: `authorization` with the prefix
    /// `Bearer ` (the prefix is matched case-insensitively).
    #[serde(default = "default_from_headers")]
    pub from_headers: Vec<HeaderLocation>,
    /// Query parameters a token is read from, after the headers (percent-decoded).
    #[serde(default)]
    pub from_params: Vec<Rc<str>>,
    /// Tokens whose signature verified, kept per VM so a repeated token skips decoding and
    /// the signature check (times, audience and policy are still checked). When full, the
    /// least recently used token makes room (LRU, as Envoy's `jwt_cache_config`). 0 turns the
    /// cache off.
    #[serde(default = "default_cache_size")]
    pub verified_cache_size: usize,
}

/// The default number of verified tokens kept (Envoy's `jwt_cache_size` default).
pub const DEFAULT_VERIFIED_CACHE_SIZE: usize = 100;

fn default_cache_size() -> usize {
    DEFAULT_VERIFIED_CACHE_SIZE
}

/// A header that may carry a token (Envoy's `JwtHeader`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderLocation {
    /// Header name.
    pub name: Rc<str>,
    /// Text before the token (e.g. `Bearer `); a value without it is not a token.
    #[serde(default)]
    pub value_prefix: String,
}

/// One issuer and how to check its tokens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// A name for logs.
    pub name: String,
    /// The `iss` claim this provider's tokens carry. Required when there are several providers.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Accepted `aud` values: a token must name at least one (else 403, as Envoy). Empty: the
    /// audience is not checked.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Accepted `alg` values among `HS256`, `RS256`, `ES256`. Empty: all three (each key
    /// still only verifies its own algorithm).
    #[serde(default)]
    pub algorithms: Vec<String>,
    /// Verification keys as a JWKS, inline: a JSON object `{"keys": [...]}` or a string
    /// holding one (Envoy's `local_jwks.inline_string`). Exactly one of `local_jwks`,
    /// `remote_jwks`.
    #[serde(default)]
    pub local_jwks: Option<Json>,
    /// Verification keys fetched from a cluster (Envoy's `remote_jwks`).
    #[serde(default)]
    pub remote_jwks: Option<RemoteJwksConfig>,
    /// Leeway for `exp` and `nbf`, in seconds. Default 60 (as Envoy).
    #[serde(default = "default_clock_skew")]
    pub clock_skew_seconds: u64,
    /// Reject tokens without `exp`. Default false (as Envoy: such a token never expires).
    #[serde(default)]
    pub require_expiration: bool,
    /// Claim naming the consumer (forwarded in `consumer_header`, matched by
    /// `policy.consumers`). Default `sub`. Dots reach into objects (`user.name`).
    #[serde(default = "default_consumer_claim")]
    pub consumer_claim: String,
    /// Claims copied into request headers for the upstream (Envoy's `claim_to_headers`).
    #[serde(default)]
    pub claim_to_headers: Vec<ClaimToHeader>,
    /// Request header that receives the token's payload, base64url-encoded (Envoy's
    /// `forward_payload_header`).
    #[serde(default)]
    pub forward_payload_header: Option<String>,
}

/// A claim copied into a request header.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimToHeader {
    /// The header to set (removed from the incoming request first).
    pub header_name: String,
    /// The claim; dots reach into objects. Strings, numbers and booleans are sent as text, a
    /// list of them joined with `,`; other values and absent claims set no header.
    pub claim_name: String,
}

/// A JWKS fetched by an HTTP callout (`proxy_http_call`) from the root context: at
/// configuration, then every `cache_duration_seconds`, and after a failure every
/// `failed_refetch_ms`. Each worker keeps its own copy, as Envoy does.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteJwksConfig {
    /// Cluster to call.
    pub cluster: String,
    /// URL of the JWKS; its authority and path become the call's `:authority` and `:path`
    /// (the cluster decides where the call goes).
    pub uri: String,
    /// Call timeout in milliseconds. Default 5000.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// How long a fetched JWKS is used before it is fetched again. Default 600 s (Envoy's
    /// default `cache_duration`). A failed refresh keeps the previous keys.
    #[serde(default = "default_cache_duration")]
    pub cache_duration_seconds: u64,
    /// Wait after a failed fetch before the next attempt. Default 1000 ms.
    #[serde(default = "default_failed_refetch_ms")]
    pub failed_refetch_ms: u64,
    /// Requests that may wait (paused) for the first JWKS, per worker; more are rejected with
    /// 401 at once. Default 1024.
    #[serde(default = "default_max_pending")]
    pub max_pending_requests: usize,
    /// Extra headers sent with the call, as `[name, value]` pairs.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
}

fn default_from_headers() -> Vec<HeaderLocation> {
    vec![HeaderLocation { name: "authorization".into(), value_prefix: "Bearer ".into() }]
}

fn default_clock_skew() -> u64 {
    60
}

fn default_consumer_claim() -> String {
    "sub".into()
}

fn default_timeout_ms() -> u64 {
    5000
}

fn default_cache_duration() -> u64 {
    600
}

fn default_failed_refetch_ms() -> u64 {
    1000
}

fn default_max_pending() -> usize {
    1024
}
