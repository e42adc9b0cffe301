//! The filter's configuration: Envoy `local_ratelimit` fields (`token_bucket`, `descriptors`,
//! `enable_x_ratelimit_headers`, `always_consume_default_token_bucket`, `status`), the route's
//! `rate_limits` actions that build descriptors, Envoy `ratelimit` (RLS) fields for global mode,
//! and weir's own (`on_contention`, `max_cas_attempts`, `consumer_header`, `scope`).
//! Per-route overrides come from `rules` ([`weir_sdk::rules::Rules`]). Every field is
//! described in the README.

use std::cell::OnceCell;
use std::num::NonZeroU32;
use std::rc::Rc;

use serde::Deserialize;

pub use crate::actions::{Action, RateLimit};
use crate::bucket::BucketSpec;
pub use crate::duration::Duration;

/// One plugin (or rule) configuration, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `local` (token buckets in shared data, the default) or `global` (ask an Envoy Rate
    /// Limit Service over gRPC).
    #[serde(default)]
    pub mode: Mode,
    /// The default bucket (Envoy `token_bucket`): every request takes a token from it unless
    /// a descriptor bucket matched and `always_consume_default_token_bucket` is false.
    #[serde(default)]
    pub token_bucket: Option<TokenBucket>,
    /// How to build descriptors from a request (Envoy's route `rate_limits`). Each entry yields
    /// at most one descriptor.
    #[serde(default)]
    pub rate_limits: Vec<RateLimit>,
    /// Buckets for particular descriptors (Envoy `descriptors`); an entry without `value`
    /// matches any value and gives every distinct value its own bucket, kept in a table of
    /// `max_dynamic_descriptors` slots.
    #[serde(default)]
    pub descriptors: Vec<DescriptorBucket>,
    /// Slots of the table each value-less `descriptors` pattern keeps its buckets in: at most
    /// this many distinct values of it hold a bucket at once, so per-client limits cannot grow
    /// shared data without bound (Envoy's `max_dynamic_descriptors`: default 20, at least 1;
    /// here at most [`MAX_DYNAMIC_DESCRIPTORS`]). See [`crate::table`] for what happens when
    /// the table is full.
    #[serde(default = "twenty")]
    pub max_dynamic_descriptors: u32,
    /// Also take from the default bucket when a descriptor bucket matched (Envoy's default:
    /// true).
    #[serde(default = "yes")]
    pub always_consume_default_token_bucket: bool,
    /// `OFF` (default) or `DRAFT_VERSION_03`: add `x-ratelimit-limit`, `-remaining`, `-reset`
    /// to allowed responses too. Denied responses always carry them.
    #[serde(default)]
    pub enable_x_ratelimit_headers: XRateLimitHeaders,
    /// Status of a denied request (default 429).
    #[serde(default = "too_many_requests")]
    pub status: u32,
    /// The request header the auth filter sets to the consumer's name, read by the `consumer`
    /// action (default `x-consumer-id`).
    #[serde(default = "consumer_header")]
    pub consumer_header: String,
    /// What to do when a bucket cannot be updated: other workers won every CAS attempt, or
    /// shared data failed. `allow` (default) or `deny`.
    #[serde(default)]
    pub on_contention: OnContention,
    /// Read-modify-write attempts per bucket before `on_contention` applies (default 10, at
    /// least 2: creating a bucket uses one).
    #[serde(default = "ten")]
    pub max_cas_attempts: u32,
    /// Part of every bucket's shared-data key: plugins or rules with equal buckets and equal
    /// descriptors share tokens unless their scopes differ (default empty).
    #[serde(default)]
    pub scope: String,
    /// Global mode: where the Rate Limit Service is and how to treat its failures.
    #[serde(default)]
    pub global: Option<GlobalConfig>,
    /// The default bucket's shared-data key, worked out on first use (not configurable).
    #[serde(skip)]
    pub(crate) default_key: OnceCell<Rc<str>>,
}

/// Where the decision is made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Token buckets in proxy-wasm shared data (per host process).
    #[default]
    Local,
    /// An Envoy RLS (`envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit`).
    Global,
}

/// Envoy's `type.v3.TokenBucket`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBucket {
    /// Tokens the bucket holds at most, and starts with.
    pub max_tokens: NonZeroU32,
    /// Tokens added every `fill_interval` (default 1).
    #[serde(default)]
    pub tokens_per_fill: Option<NonZeroU32>,
    /// How often tokens are added (`"1s"`, `"100ms"`, `"1h"`).
    pub fill_interval: Duration,
}

impl TokenBucket {
    /// The bucket's parameters.
    pub fn spec(&self) -> BucketSpec {
        BucketSpec {
            max_tokens: self.max_tokens.get(),
            tokens_per_fill: self.tokens_per_fill.map_or(1, NonZeroU32::get),
            fill_interval_ns: self.fill_interval.as_nanos(),
        }
    }
}

/// A bucket for requests whose descriptor matches `entries` (Envoy `LocalRateLimitDescriptor`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescriptorBucket {
    /// Entries, in the order the actions produce them; the descriptor must have exactly these
    /// keys.
    pub entries: Vec<DescriptorEntry>,
    /// The bucket for matching requests.
    pub token_bucket: TokenBucket,
}

impl DescriptorBucket {
    /// Whether some entry has no value: every distinct value of the descriptor gets its own
    /// bucket, in the pattern's table ([`crate::table`]).
    pub fn is_dynamic(&self) -> bool {
        self.entries.iter().any(|e| e.value.as_deref().is_none_or(str::is_empty))
    }
}

/// One `key`/`value` of a descriptor pattern.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescriptorEntry {
    /// Descriptor key (`descriptor_key` of an action).
    pub key: String,
    /// The value to match; absent or empty matches any value, one bucket per value.
    #[serde(default)]
    pub value: Option<String>,
}

/// Envoy's `enable_x_ratelimit_headers`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum XRateLimitHeaders {
    /// Local mode: only denied responses carry `x-ratelimit-*`. Global mode: none do (as
    /// Envoy's `ratelimit` filter).
    #[default]
    #[serde(rename = "OFF")]
    Off,
    /// Allowed and denied responses carry them.
    #[serde(rename = "DRAFT_VERSION_03")]
    DraftVersion03,
}

/// The decision when a bucket cannot be updated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnContention {
    /// Let the request through (the limit may be exceeded by the contended requests).
    #[default]
    Allow,
    /// Deny it (the limit holds; requests may be denied with tokens left).
    Deny,
}

/// Global mode settings (Envoy `ratelimit` filter fields).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// The RLS domain of every request.
    pub domain: String,
    /// The cluster of the Rate Limit Service (HTTP/2); Envoy's
    /// `rate_limit_service.grpc_service.envoy_grpc.cluster_name`.
    pub cluster: String,
    /// How long to wait for the RLS (default `"20ms"`, as Envoy).
    #[serde(default = "twenty_ms")]
    pub timeout: Duration,
    /// When the RLS fails or times out: false (default) lets the request through, true answers
    /// `status_on_error`.
    #[serde(default)]
    pub failure_mode_deny: bool,
    /// Status when the RLS failed and `failure_mode_deny` is set (default 500).
    #[serde(default = "internal_error")]
    pub status_on_error: u32,
}

/// The largest `max_dynamic_descriptors` accepted (a table of this many slots holds a few
/// tens of MB of shared data at most).
pub const MAX_DYNAMIC_DESCRIPTORS: u32 = 100_000;

fn twenty() -> u32 {
    20
}

fn yes() -> bool {
    true
}

fn too_many_requests() -> u32 {
    429
}

fn internal_error() -> u32 {
    500
}

fn ten() -> u32 {
    10
}

fn consumer_header() -> String {
    "x-consumer-id".into()
}

fn twenty_ms() -> Duration {
    Duration::TWENTY_MS
}
