//! The headers of a local-mode decision: `x-ratelimit-limit`, `x-ratelimit-remaining`,
//! `x-ratelimit-reset` (whole seconds until more tokens, rounded up), and on a denial also
//! `retry-after` (the same seconds, at least 1) and `x-envoy-ratelimited: true` (as Envoy's
//! rate limit filters send). Global mode renders the service's answer as Envoy's `ratelimit`
//! filter does ([`crate::rls::limit_headers`]).

use crate::bucket::ceil_secs;
use crate::local::Report;

/// A header to send: lower-case name and value.
pub type Header = (String, Vec<u8>);

/// Body of a local-mode denial (Envoy `local_ratelimit`'s).
pub const LOCAL_DENIED_BODY: &[u8] = b"local_rate_limited";

/// `x-ratelimit-*` for `report`.
pub fn limit_headers(report: &Report) -> Vec<Header> {
    vec![
        ("x-ratelimit-limit".into(), report.limit.to_string().into_bytes()),
        ("x-ratelimit-remaining".into(), report.remaining.to_string().into_bytes()),
        ("x-ratelimit-reset".into(), ceil_secs(report.reset_ns).to_string().into_bytes()),
    ]
}

/// The headers of a denial: the limit headers and `retry-after` when the limit is known, and
/// `x-envoy-ratelimited`.
pub fn denial_headers(report: Option<&Report>) -> Vec<Header> {
    let mut out = Vec::new();
    if let Some(report) = report {
        out.extend(limit_headers(report));
        out.push(("retry-after".into(), ceil_secs(report.reset_ns).max(1).to_string().into_bytes()));
    }
    out.push(ratelimited());
    out
}

/// `x-envoy-ratelimited: true`.
pub fn ratelimited() -> Header {
    ("x-envoy-ratelimited".into(), b"true".to_vec())
}

/// Borrowed pairs, the form the local-reply hostcall takes.
pub fn borrowed(headers: &[Header]) -> Vec<(&str, &[u8])> {
    headers.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(headers: &[Header]) -> Vec<(&str, &str)> {
        headers.iter().map(|(k, v)| (k.as_str(), std::str::from_utf8(v).unwrap())).collect()
    }

    #[test]
    fn a_denial_carries_limit_reset_and_retry_after() {
        let report = Report { limit: 2, remaining: 0, reset_ns: 3_599_500_000_000 };
        assert_eq!(
            text(&denial_headers(Some(&report))),
            [
                ("x-ratelimit-limit", "2"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "3600"),
                ("retry-after", "3600"),
                ("x-envoy-ratelimited", "true"),
            ]
        );
    }

    #[test]
    fn retry_after_is_at_least_a_second_and_unknown_limits_send_only_the_flag() {
        let report = Report { limit: 1, remaining: 0, reset_ns: 0 };
        let headers = denial_headers(Some(&report));
        assert_eq!(text(&headers)[2..4], [("x-ratelimit-reset", "0"), ("retry-after", "1")]);
        assert_eq!(text(&denial_headers(None)), [("x-envoy-ratelimited", "true")]);
    }

    #[test]
    fn allowed_requests_report_what_is_left() {
        let report = Report { limit: 100, remaining: 99, reset_ns: 1 };
        assert_eq!(
            text(&limit_headers(&report)),
            [("x-ratelimit-limit", "100"), ("x-ratelimit-remaining", "99"), ("x-ratelimit-reset", "1")]
        );
        assert_eq!(borrowed(&limit_headers(&report))[0], ("x-ratelimit-limit", &b"100"[..]));
    }
}
