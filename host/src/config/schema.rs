//! The `weir.yaml` schema. Every field is documented here; `docs/config.md` is the user-facing
//! reference and mirrors these docs.

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use super::admin::{AdminConfig, ModuleSources};
pub use super::cluster::*;
use super::duration;
pub use super::dynamic::{
    AdminLayerConfig, ApiType, RtdsLayerConfig, RuntimeConfig, RuntimeLayerConfig, XdsConfig, XdsType,
};
pub use super::listener::*;
pub use super::node::NodeConfig;
use weir_plugin_spec::PluginConfig;

/// The whole proxy configuration: one immutable snapshot.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The admin server (stats, readiness, config dump). Omit to run without one.
    #[serde(default)]
    pub admin: Option<AdminConfig>,
    /// Listeners accepting downstream HTTP connections. At least one.
    pub listeners: Vec<ListenerConfig>,
    /// Upstream clusters that routes and plugin callouts refer to by name.
    #[serde(default)]
    pub clusters: Vec<ClusterConfig>,
    /// proxy-wasm plugins that listeners and routes refer to by name.
    #[serde(default)]
    pub plugins: Vec<PluginConfig>,
    /// Runtime values published to filters (Envoy's `layered_runtime`).
    #[serde(default)]
    pub runtime: RuntimeConfig,
    /// The xDS client (RTDS runtime layers, ECDS plugin configs). Omit to run without one.
    #[serde(default)]
    pub xds: Option<XdsConfig>,
    /// This proxy's identity (Envoy's bootstrap `node`): sent to the control plane, readable
    /// by plugins. Default: id and cluster `weir`, no metadata.
    #[serde(default)]
    pub node: Option<NodeConfig>,
    /// Where plugin modules may come from and how big they may be.
    #[serde(default)]
    pub module_sources: ModuleSources,
    /// OpenTelemetry request tracing (W3C and B3 propagation, OTLP export). Omit for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<super::TracingConfig>,
}

/// A virtual host: a set of domains and their routes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VirtualHostConfig {
    /// Unique name within the listener.
    pub name: String,
    /// Domains served: exact (`api.example.com`), suffix wildcard (`*.example.com`), prefix
    /// wildcard (`api.*`) or `*`. Matched against the whole `:authority`, port included.
    pub domains: Vec<String>,
    /// Routes, tried in order; the first match wins.
    pub routes: Vec<RouteConfig>,
}

/// One route: a match and what to do with matching requests.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Name, exposed to plugins as the `route_name` property and used in stats.
    #[serde(default)]
    pub name: String,
    /// Which requests this route takes.
    #[serde(rename = "match")]
    pub matcher: RouteMatch,
    /// Forward to a cluster. Exactly one of `route` and `direct_response` is required.
    #[serde(default)]
    pub route: Option<RouteAction>,
    /// Answer directly without an upstream.
    #[serde(default)]
    pub direct_response: Option<DirectResponse>,
    /// Answer with a redirection (Envoy's `redirect`). Exactly one of `route`,
    /// `direct_response` and `redirect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<super::Redirect>,
    /// Plugins (by name) for this route instead of the listener's `http_filters`. An empty list
    /// runs no plugin on this route.
    #[serde(default)]
    pub http_filters: Option<Vec<String>>,
    /// Headers added to the request sent upstream, after the plugins ran (Envoy's field).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_headers_to_add: Vec<super::HeaderValueOption>,
    /// Headers removed from the request sent upstream (before the additions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_headers_to_remove: Vec<String>,
    /// Headers added to the upstream's response before the plugins see it (Envoy's field).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_headers_to_add: Vec<super::HeaderValueOption>,
    /// Headers removed from the upstream's response (before the additions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_headers_to_remove: Vec<String>,
    /// Metadata filters read as `xds.route_metadata` (Envoy's route `metadata`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<super::Metadata>,
}

/// Path and header conditions of a route. Exactly one of `prefix`, `path`, `regex`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteMatch {
    /// The path starts with this prefix.
    #[serde(default)]
    pub prefix: Option<String>,
    /// The path (without query) is exactly this.
    #[serde(default)]
    pub path: Option<String>,
    /// The path (without query) is exactly this, or starts with it followed by `/`
    /// (Envoy's `path_separated_prefix`: `/api` matches `/api` and `/api/x`, not `/apix`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_separated_prefix: Option<String>,
    /// The path (without query) fully matches this regular expression (RE2-like syntax).
    #[serde(default)]
    pub regex: Option<String>,
    /// Every header matcher must match too.
    #[serde(default)]
    pub headers: Vec<HeaderMatcher>,
    /// Every query parameter matcher must match too (Envoy's `query_parameters`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query_parameters: Vec<super::QueryParameterMatcher>,
    /// Whether `prefix` and `path` compare case-sensitively (Envoy's default `true`; `regex`
    /// is not affected).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub case_sensitive: bool,
}

fn yes() -> bool {
    true
}

impl Default for RouteMatch {
    /// No condition yet; case-sensitive, as Envoy.
    fn default() -> Self {
        RouteMatch {
            prefix: None,
            path: None,
            path_separated_prefix: None,
            regex: None,
            headers: Vec::new(),
            query_parameters: Vec::new(),
            case_sensitive: true,
        }
    }
}

fn is_true(value: &bool) -> bool {
    *value
}

/// A condition on one request header.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderMatcher {
    /// Header name (case-insensitive).
    pub name: String,
    /// The header's value equals this.
    #[serde(default)]
    pub exact: Option<String>,
    /// The header's value starts with this.
    #[serde(default)]
    pub prefix: Option<String>,
    /// The header's value fully matches this regular expression.
    #[serde(default)]
    pub regex: Option<String>,
    /// `true`: the header is present (any value); `false`: it is absent.
    #[serde(default)]
    pub present: Option<bool>,
    /// Inverts the result.
    #[serde(default)]
    pub invert: bool,
}

/// The status for a request whose route names a cluster that does not exist.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClusterNotFound {
    /// 503 (Envoy's default).
    ServiceUnavailable,
    /// 404.
    NotFound,
    /// 500 (what Gateway API requires for requests to an invalid backend).
    InternalServerError,
}

impl ClusterNotFound {
    /// The HTTP status.
    pub fn status(self) -> u32 {
        match self {
            ClusterNotFound::ServiceUnavailable => 503,
            ClusterNotFound::NotFound => 404,
            ClusterNotFound::InternalServerError => 500,
        }
    }
}

/// Forwarding to an upstream cluster.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteAction {
    /// The cluster to forward to. Exactly one of `cluster` and `cluster_header`.
    #[serde(default)]
    pub cluster: Option<String>,
    /// Forward to the cluster named by this request header (read after the plugins ran, as in
    /// Envoy). A missing header or unknown cluster gets 503, as in Envoy.
    #[serde(default)]
    pub cluster_header: Option<String>,
    /// Forward to one of several clusters, chosen at random per request in proportion to their
    /// weights (Envoy's `weighted_clusters`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weighted_clusters: Option<WeightedClusters>,
    /// Whole-request timeout, from the request's end to the response's end (Envoy default 15s;
    /// `0s` disables it).
    #[serde(default = "default_route_timeout", with = "duration")]
    pub timeout: Duration,
    /// The exchange's idle timeout on this route, in place of the listener's
    /// `stream_idle_timeout` (Envoy's `idle_timeout`; `0s` disables it).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub idle_timeout: Option<Duration>,
    /// Replaces the matched `prefix` of the path before forwarding.
    #[serde(default)]
    pub prefix_rewrite: Option<String>,
    /// Rewrites the path (not the query) with a regular expression before forwarding
    /// (Envoy's `regex_rewrite`; exclusive with `prefix_rewrite`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex_rewrite: Option<RegexRewrite>,
    /// Replaces `:authority` before forwarding.
    #[serde(default)]
    pub host_rewrite: Option<String>,
    /// Retries (Envoy's `retry_policy`).
    #[serde(default)]
    pub retry_policy: Option<RetryPolicy>,
    /// What consistent-hashing load balancers (`ring_hash`, `maglev`) hash on.
    #[serde(default)]
    pub hash_policy: Option<HashPolicy>,
    /// The answer when the cluster chosen does not exist (Envoy's
    /// `cluster_not_found_response_code`; default 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_not_found_response_code: Option<ClusterNotFound>,
}

/// Envoy's `RegexMatchAndSubstitute`: every match of `pattern` in the path is replaced by
/// `substitution`, where `\1`..`\9` are the pattern's groups.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegexRewrite {
    /// The expression (`{regex: ...}`).
    pub pattern: super::SafeRegex,
    /// The replacement.
    pub substitution: String,
}

/// Envoy's `WeightedCluster`: clusters and their weights.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WeightedClusters {
    /// The clusters (at least one), each with its weight.
    pub clusters: Vec<ClusterWeight>,
}

/// One cluster of [`WeightedClusters`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterWeight {
    /// The cluster.
    pub name: String,
    /// Its weight (0 takes no traffic); the weights' sum must be positive.
    pub weight: u32,
}

/// When and how often to retry a request upstream.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Comma-separated conditions: `5xx` (a 5xx response or a connection failure),
    /// `gateway-error` (502, 503, 504), `connect-failure`, `reset` (the connection broke before
    /// a response), `retriable-status-codes` (see `retriable_status_codes`).
    pub retry_on: String,
    /// Retries after the first attempt (Envoy default 1).
    #[serde(default = "one")]
    pub num_retries: u32,
    /// Timeout of each attempt (default: the route timeout only).
    #[serde(default, with = "duration::option")]
    pub per_try_timeout: Option<Duration>,
    /// Status codes retried with `retriable-status-codes`.
    #[serde(default)]
    pub retriable_status_codes: Vec<u16>,
}

fn one() -> u32 {
    1
}

/// The conditions `retry_on` names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryOn {
    /// `5xx`.
    pub five_xx: bool,
    /// `gateway-error`.
    pub gateway_error: bool,
    /// `connect-failure`.
    pub connect_failure: bool,
    /// `reset`.
    pub reset: bool,
}

impl RetryPolicy {
    /// The conditions of `retry_on`; an unknown one is an error naming it.
    pub fn conditions(&self) -> Result<RetryOn, String> {
        let mut on = RetryOn::default();
        for condition in self.retry_on.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            match condition {
                "5xx" => on.five_xx = true,
                "gateway-error" => on.gateway_error = true,
                "connect-failure" => on.connect_failure = true,
                "reset" => on.reset = true,
                "retriable-status-codes" => {}
                other => return Err(format!("unknown retry_on condition `{other}`")),
            }
        }
        Ok(on)
    }
}

/// The key of consistent hashing. Exactly one field.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HashPolicy {
    /// Hash this request header (requests without it are spread round robin).
    #[serde(default)]
    pub header: Option<String>,
    /// Hash the path (without query).
    #[serde(default)]
    pub path: bool,
    /// Hash this cookie's value (Envoy's `cookie.name`; no cookie is generated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    /// Hash this query parameter's first value, as written (Envoy's `query_parameter.name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_parameter: Option<String>,
    /// Hash the client's IP address (Envoy's `connection_properties.source_ip`).
    #[serde(default)]
    pub source_ip: bool,
}

/// What a [`HashPolicy`] hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashTarget {
    /// A request header's value (the name in lower case).
    Header(String),
    /// The path without query.
    Path,
    /// A cookie's value.
    Cookie(String),
    /// A query parameter's first value.
    QueryParameter(String),
    /// The client's IP address.
    SourceIp,
}

impl HashPolicy {
    /// What it hashes: exactly one of `header`, `path: true`, `cookie`, `query_parameter`,
    /// `source_ip: true`.
    pub fn target(&self) -> Result<HashTarget, String> {
        let mut targets = Vec::new();
        if let Some(h) = &self.header {
            targets.push(HashTarget::Header(h.to_ascii_lowercase()));
        }
        if self.path {
            targets.push(HashTarget::Path);
        }
        if let Some(c) = &self.cookie {
            targets.push(HashTarget::Cookie(c.clone()));
        }
        if let Some(q) = &self.query_parameter {
            targets.push(HashTarget::QueryParameter(q.clone()));
        }
        if self.source_ip {
            targets.push(HashTarget::SourceIp);
        }
        match (targets.pop(), targets.is_empty()) {
            (Some(target), true) => Ok(target),
            _ => Err(
                "hash_policy needs exactly one of `header`, `path: true`, `cookie`, `query_parameter`, `source_ip: true`"
                    .into(),
            ),
        }
    }
}

fn default_route_timeout() -> Duration {
    Duration::from_secs(15)
}

/// A fixed response.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DirectResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response body (sent as `text/plain`).
    #[serde(default)]
    pub body: String,
}
