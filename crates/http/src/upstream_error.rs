//! A failure talking to an upstream, worded as Envoy words it: for the request driver's local
//! replies and retries, and for plugin callouts' answers.

/// A failure talking to an upstream, reported to the downstream as Envoy reports it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// No cluster of that name.
    #[error("unknown cluster `{0}`")]
    UnknownCluster(String),
    /// The cluster has no endpoint at all.
    #[error("no healthy upstream")]
    NoHealthyUpstream,
    /// A circuit breaker refused the request.
    #[error("circuit breaker open")]
    Overflow,
    /// The TCP connection could not be made.
    #[error("connection failure: {0}")]
    ConnectFailure(String),
    /// The TCP connection did not complete in time.
    #[error("connection timeout")]
    ConnectTimeout,
    /// The connection broke before or while the response arrived.
    #[error("connection termination: {0}")]
    Reset(String),
    /// The upstream did not answer in time.
    #[error("upstream request timeout")]
    Timeout,
}

impl UpstreamError {
    /// Envoy's `reset reason` wording for the local reply body.
    pub fn reset_reason(&self) -> &'static str {
        match self {
            UpstreamError::UnknownCluster(_) => "cluster not found",
            UpstreamError::NoHealthyUpstream => "no healthy upstream",
            UpstreamError::Overflow => "overflow",
            UpstreamError::ConnectFailure(_) => "remote connection failure",
            UpstreamError::ConnectTimeout => "connection timeout",
            UpstreamError::Reset(_) => "connection termination",
            UpstreamError::Timeout => "timeout",
        }
    }

    /// Envoy's response flag for this failure (`%RESPONSE_FLAGS%` in access logs).
    pub fn response_flag(&self) -> &'static str {
        match self {
            UpstreamError::UnknownCluster(_) => "NC",
            UpstreamError::NoHealthyUpstream => "UH",
            UpstreamError::Overflow => "UO",
            UpstreamError::ConnectFailure(_) | UpstreamError::ConnectTimeout => "UF",
            UpstreamError::Reset(_) => "UC",
            UpstreamError::Timeout => "UT",
        }
    }

    /// Whether the request never reached an endpoint (safe to retry anywhere).
    pub fn before_request(&self) -> bool {
        matches!(
            self,
            UpstreamError::ConnectFailure(_) | UpstreamError::ConnectTimeout | UpstreamError::Overflow
        )
    }

    /// The local reply Envoy's router makes for this failure: status, body and details.
    pub fn local_reply(&self) -> (u16, String, &'static str) {
        match self {
            UpstreamError::Timeout => (504, "upstream request timeout".into(), "upstream_response_timeout"),
            UpstreamError::NoHealthyUpstream => (503, "no healthy upstream".into(), "no_healthy_upstream"),
            UpstreamError::Overflow => (
                503,
                "upstream connect error or disconnect/reset before headers. reset reason: overflow".into(),
                "upstream_reset_before_response_started{overflow}",
            ),
            other => (
                503,
                format!(
                    "upstream connect error or disconnect/reset before headers. reset reason: {}",
                    other.reset_reason()
                ),
                "upstream_reset_before_response_started",
            ),
        }
    }
}

/// An error and the errors under it, `outer: inner: ...` (hyper's own text, "http2 error",
/// says little without its source).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
