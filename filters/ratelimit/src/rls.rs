//! Envoy's Rate Limit Service API (`envoy.service.ratelimit.v3.RateLimitService/
//! ShouldRateLimit`): the fields this filter sends and reads, as hand-written prost messages
//! with the `.proto` field numbers. Fields not declared here are skipped when decoding.

use prost::Message;

use crate::actions::Descriptor;
use crate::headers::Header;

/// gRPC service name.
pub const SERVICE: &str = "envoy.service.ratelimit.v3.RateLimitService";
/// gRPC method name.
pub const METHOD: &str = "ShouldRateLimit";

/// `envoy.service.ratelimit.v3.RateLimitRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct RateLimitRequest {
    /// The domain.
    #[prost(string, tag = "1")]
    pub domain: String,
    /// The descriptors.
    #[prost(message, repeated, tag = "2")]
    pub descriptors: Vec<RateLimitDescriptor>,
    /// Hits for this request (0 means 1).
    #[prost(uint32, tag = "3")]
    pub hits_addend: u32,
}

/// `envoy.extensions.common.ratelimit.v3.RateLimitDescriptor`.
#[derive(Clone, PartialEq, Message)]
pub struct RateLimitDescriptor {
    /// Entries.
    #[prost(message, repeated, tag = "1")]
    pub entries: Vec<Entry>,
}

/// `RateLimitDescriptor.Entry`.
#[derive(Clone, PartialEq, Message)]
pub struct Entry {
    /// Key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// Value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `envoy.service.ratelimit.v3.RateLimitResponse`.
#[derive(Clone, PartialEq, Message)]
pub struct RateLimitResponse {
    /// `Code`: 0 UNKNOWN, 1 OK, 2 OVER_LIMIT.
    #[prost(int32, tag = "1")]
    pub overall_code: i32,
    /// One status per descriptor sent.
    #[prost(message, repeated, tag = "2")]
    pub statuses: Vec<DescriptorStatus>,
    /// Headers for the response (or the 429).
    #[prost(message, repeated, tag = "3")]
    pub response_headers_to_add: Vec<HeaderValue>,
    /// Headers for the upstream request (when allowed).
    #[prost(message, repeated, tag = "4")]
    pub request_headers_to_add: Vec<HeaderValue>,
    /// Body of the 429.
    #[prost(bytes = "vec", tag = "5")]
    pub raw_body: Vec<u8>,
}

/// `RateLimitResponse.DescriptorStatus`.
#[derive(Clone, PartialEq, Message)]
pub struct DescriptorStatus {
    /// `Code` of this descriptor.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// The limit that applied.
    #[prost(message, optional, tag = "2")]
    pub current_limit: Option<RateLimit>,
    /// Requests left in the window.
    #[prost(uint32, tag = "3")]
    pub limit_remaining: u32,
    /// Time until the window resets.
    #[prost(message, optional, tag = "4")]
    pub duration_until_reset: Option<ProtoDuration>,
}

/// `RateLimitResponse.RateLimit`.
#[derive(Clone, PartialEq, Message)]
pub struct RateLimit {
    /// Requests per unit.
    #[prost(uint32, tag = "1")]
    pub requests_per_unit: u32,
    /// `Unit`: 1 SECOND, 2 MINUTE, 3 HOUR, 4 DAY, 5 MONTH, 6 YEAR, 7 WEEK.
    #[prost(int32, tag = "2")]
    pub unit: i32,
    /// The limit's name (`x-ratelimit-limit` shows it).
    #[prost(string, tag = "3")]
    pub name: String,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, Message)]
pub struct ProtoDuration {
    /// Seconds.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// `envoy.config.core.v3.HeaderValue`.
#[derive(Clone, PartialEq, Message)]
pub struct HeaderValue {
    /// Name.
    #[prost(string, tag = "1")]
    pub key: String,
    /// Value (when `raw_value` is empty).
    #[prost(string, tag = "2")]
    pub value: String,
    /// Value as bytes (wins over `value`).
    #[prost(bytes = "vec", tag = "3")]
    pub raw_value: Vec<u8>,
}

impl HeaderValue {
    /// `(name, value bytes)`.
    pub fn pair(&self) -> (String, Vec<u8>) {
        let value =
            if self.raw_value.is_empty() { self.value.as_bytes().to_vec() } else { self.raw_value.clone() };
        (self.key.to_ascii_lowercase(), value)
    }
}

/// The serialized request for `descriptors` (one hit).
pub fn encode_request(domain: &str, descriptors: &[Descriptor]) -> Vec<u8> {
    RateLimitRequest {
        domain: domain.to_string(),
        descriptors: descriptors
            .iter()
            .map(|d| RateLimitDescriptor {
                entries: d
                    .iter()
                    .map(|(key, value)| Entry { key: key.clone(), value: value.clone() })
                    .collect(),
            })
            .collect(),
        hits_addend: 1,
    }
    .encode_to_vec()
}

/// What the service decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// `OK`.
    Allow(Answer),
    /// `OVER_LIMIT`.
    Deny(Answer),
    /// `UNKNOWN` or a code this filter does not know: treated as a service failure.
    Unknown(i32),
}

/// The parts of an answer the filter applies.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Answer {
    /// `x-ratelimit-limit`, `-remaining`, `-reset` as Envoy's `ratelimit` filter renders them
    /// (empty when no status names its limit); sent when `enable_x_ratelimit_headers` is on.
    pub limit_headers: Vec<Header>,
    /// For the response (or the 429).
    pub response_headers: Vec<(String, Vec<u8>)>,
    /// For the upstream request.
    pub request_headers: Vec<(String, Vec<u8>)>,
    /// Body of the 429 (empty: none).
    pub body: Vec<u8>,
}

/// Decodes and interprets a `RateLimitResponse`.
pub fn decode_response(bytes: &[u8]) -> Result<Decision, prost::DecodeError> {
    let response = RateLimitResponse::decode(bytes)?;
    let answer = || Answer {
        limit_headers: limit_headers(&response.statuses),
        response_headers: response.response_headers_to_add.iter().map(HeaderValue::pair).collect(),
        request_headers: response.request_headers_to_add.iter().map(HeaderValue::pair).collect(),
        body: response.raw_body.clone(),
    };
    Ok(match response.overall_code {
        1 => Decision::Allow(answer()),
        2 => Decision::Deny(answer()),
        other => Decision::Unknown(other),
    })
}

/// The limit headers of Envoy's `ratelimit` filter (`XRateLimitHeaderUtils::create`): of
/// the statuses that name their limit, the first with the fewest `limit_remaining` gives
/// `x-ratelimit-remaining` and `x-ratelimit-reset` (the whole seconds of
/// `duration_until_reset`, 0 without one) and starts `x-ratelimit-limit`, which then lists
/// every such status as `, <requests_per_unit>;w=<window seconds>[;name="<name>"]` (statuses
/// whose unit Envoy has no window for are left out of the list).
pub fn limit_headers(statuses: &[DescriptorStatus]) -> Vec<Header> {
    use std::fmt::Write;
    let mut quota_policy = String::new();
    let mut fewest: Option<(&DescriptorStatus, &RateLimit)> = None;
    for status in statuses {
        let Some(limit) = &status.current_limit else { continue };
        if fewest.is_none_or(|(f, _)| status.limit_remaining < f.limit_remaining) {
            fewest = Some((status, limit));
        }
        let window = quota_window(limit.unit);
        if window > 0 {
            let _ = write!(quota_policy, ", {};w={window}", limit.requests_per_unit);
            if !limit.name.is_empty() {
                let _ = write!(quota_policy, ";name=\"{}\"", limit.name);
            }
        }
    }
    let Some((status, limit)) = fewest else { return Vec::new() };
    let reset = status.duration_until_reset.as_ref().map_or(0, |d| d.seconds);
    vec![
        ("x-ratelimit-limit".into(), format!("{}{quota_policy}", limit.requests_per_unit).into_bytes()),
        ("x-ratelimit-remaining".into(), status.limit_remaining.to_string().into_bytes()),
        ("x-ratelimit-reset".into(), reset.to_string().into_bytes()),
    ]
}

/// The window of an RLS `Unit` in seconds, as Envoy's filter maps it: a month is 30 days, a
/// year 365, and `WEEK` (newer than that mapping) and unknown units have none (0).
pub fn quota_window(unit: i32) -> u64 {
    match unit {
        1 => 1,
        2 => 60,
        3 => 3_600,
        4 => 86_400,
        5 => 30 * 86_400,
        6 => 365 * 86_400,
        _ => 0,
    }
}

#[cfg(test)]
#[path = "rls_tests.rs"]
mod tests;
