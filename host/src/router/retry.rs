//! Compiled retry policies and consistent-hash keys of routes.

use std::time::Duration;

use crate::config::{HashPolicy, RetryPolicy};
use crate::upstream::UpstreamError;
use weir_http::HeaderMap;

/// When a failed attempt is retried.
#[derive(Debug, Clone, Default)]
pub struct Retry {
    five_xx: bool,
    gateway_error: bool,
    connect_failure: bool,
    reset: bool,
    statuses: Vec<u16>,
    /// Retries after the first attempt.
    pub num_retries: u32,
    /// Timeout of each attempt.
    pub per_try_timeout: Option<Duration>,
}

impl Retry {
    /// Compiles a policy; unknown conditions are an error naming them.
    pub fn new(policy: &RetryPolicy) -> Result<Retry, String> {
        let mut retry = Retry {
            num_retries: policy.num_retries,
            per_try_timeout: policy.per_try_timeout,
            statuses: policy.retriable_status_codes.clone(),
            ..Retry::default()
        };
        for condition in policy.retry_on.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            match condition {
                "5xx" => retry.five_xx = true,
                "gateway-error" => retry.gateway_error = true,
                "connect-failure" => retry.connect_failure = true,
                "reset" => retry.reset = true,
                "retriable-status-codes" => {}
                other => return Err(format!("unknown retry_on condition `{other}`")),
            }
        }
        Ok(retry)
    }

    /// Whether a response status is retried.
    pub fn on_status(&self, status: u16) -> bool {
        (self.five_xx && status >= 500)
            || (self.gateway_error && matches!(status, 502..=504))
            || self.statuses.contains(&status)
    }

    /// Whether a failure is retried.
    pub fn on_error(&self, error: &UpstreamError) -> bool {
        match error {
            UpstreamError::ConnectFailure(_) | UpstreamError::ConnectTimeout => {
                self.connect_failure || self.five_xx || self.gateway_error
            }
            UpstreamError::Reset(_) => self.reset || self.five_xx || self.gateway_error,
            UpstreamError::Timeout => self.five_xx || self.gateway_error,
            UpstreamError::UnknownCluster(_) | UpstreamError::NoHealthyUpstream | UpstreamError::Overflow => {
                false
            }
        }
    }

    /// Jittered exponential back-off before retry `n` (1-based): Envoy's 25 ms base, 250 ms cap.
    pub fn backoff(n: u32) -> Duration {
        let cap = (25u64 << n.min(4)).min(250);
        Duration::from_millis(fastrand::u64(0..=cap))
    }
}

/// What a route hashes for consistent-hash balancing.
#[derive(Debug, Clone)]
pub enum HashOn {
    /// A request header's value.
    Header(String),
    /// The path without query.
    Path,
}

impl HashOn {
    /// Compiles a hash policy (exactly one of `header`, `path`).
    pub fn new(policy: &HashPolicy) -> Result<HashOn, String> {
        match (&policy.header, policy.path) {
            (Some(h), false) => Ok(HashOn::Header(h.to_ascii_lowercase())),
            (None, true) => Ok(HashOn::Path),
            _ => Err("hash_policy needs exactly one of `header` and `path: true`".into()),
        }
    }

    /// The request's key, if it has the hashed part.
    pub fn key(&self, headers: &HeaderMap) -> Option<u64> {
        match self {
            HashOn::Header(name) => headers.get(name.as_bytes()).map(|v| crate::upstream::hash(v)),
            HashOn::Path => headers
                .get(b":path")
                .map(|p| crate::upstream::hash(p.split(|b| *b == b'?').next().unwrap_or(p))),
        }
    }
}
