//! Compiled retry policies and consistent-hash keys of routes.

use std::time::Duration;

use crate::config::{HashPolicy, HashTarget, RetryOn, RetryPolicy};
use crate::upstream::UpstreamError;
use weir_http::HeaderMap;

/// When a failed attempt is retried.
#[derive(Debug, Clone, Default)]
pub struct Retry {
    on: RetryOn,
    statuses: Vec<u16>,
    /// Retries after the first attempt.
    pub num_retries: u32,
    /// Timeout of each attempt.
    pub per_try_timeout: Option<Duration>,
}

impl Retry {
    /// Compiles a policy; unknown conditions are an error naming them.
    pub fn new(policy: &RetryPolicy) -> Result<Retry, String> {
        Ok(Retry {
            on: policy.conditions()?,
            num_retries: policy.num_retries,
            per_try_timeout: policy.per_try_timeout,
            statuses: policy.retriable_status_codes.clone(),
        })
    }

    /// Whether a response status is retried.
    pub fn on_status(&self, status: u16) -> bool {
        (self.on.five_xx && status >= 500)
            || (self.on.gateway_error && matches!(status, 502..=504))
            || self.statuses.contains(&status)
    }

    /// Whether a failure is retried.
    pub fn on_error(&self, error: &UpstreamError) -> bool {
        match error {
            UpstreamError::ConnectFailure(_) | UpstreamError::ConnectTimeout => {
                self.on.connect_failure || self.on.five_xx || self.on.gateway_error
            }
            UpstreamError::Reset(_) => self.on.reset || self.on.five_xx || self.on.gateway_error,
            UpstreamError::Timeout => self.on.five_xx || self.on.gateway_error,
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
        Ok(match policy.target()? {
            HashTarget::Header(name) => HashOn::Header(name),
            HashTarget::Path => HashOn::Path,
        })
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
