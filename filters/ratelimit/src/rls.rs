//! Envoy's Rate Limit Service API (`envoy.service.ratelimit.v3.RateLimitService/
//! ShouldRateLimit`): the fields this filter sends and reads, as hand-written prost messages
//! with the `.proto` field numbers. Fields not declared here are skipped when decoding.

use prost::Message;

use crate::actions::Descriptor;
use crate::local::Report;

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
    /// Limit headers, from the most restrictive status that names its limit.
    pub report: Option<Report>,
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
        report: report(&response.statuses),
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

/// The status with the fewest requests left among those that name their limit (an
/// `OVER_LIMIT` one first). The reset is `duration_until_reset`, else the limit's whole unit.
fn report(statuses: &[DescriptorStatus]) -> Option<Report> {
    statuses
        .iter()
        .filter_map(|s| {
            let limit = s.current_limit.as_ref()?;
            let reset_ns = match &s.duration_until_reset {
                Some(d) => {
                    u64::try_from(d.seconds).unwrap_or(0).saturating_mul(1_000_000_000)
                        + u64::try_from(d.nanos).unwrap_or(0)
                }
                None => unit_secs(limit.unit).saturating_mul(1_000_000_000),
            };
            let remaining = if s.code == 2 { 0 } else { s.limit_remaining };
            Some((s.code != 2, Report { limit: limit.requests_per_unit, remaining, reset_ns }))
        })
        .min_by_key(|(not_over, r)| (*not_over, r.remaining))
        .map(|(_, r)| r)
}

/// Length of an RLS `Unit` in seconds (a month is 30 days, a year 365).
pub fn unit_secs(unit: i32) -> u64 {
    match unit {
        1 => 1,
        2 => 60,
        3 => 3_600,
        4 => 86_400,
        5 => 30 * 86_400,
        6 => 365 * 86_400,
        7 => 7 * 86_400,
        _ => 0,
    }
}

#[cfg(test)]
#[path = "rls_tests.rs"]
mod tests;
