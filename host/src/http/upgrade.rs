//! HTTP/1.1 upgrade requests (RFC 9110 §7.8): `Connection: upgrade` with an `Upgrade`
//! protocol. weir has no `upgrade_configs` yet, so it refuses them (403) as Envoy refuses an
//! upgrade it is not configured for; `h2c`, which Envoy drops and serves as a plain request,
//! is left to go on (hyper ignores it).

use http::HeaderMap;
use http::header::{CONNECTION, UPGRADE};

/// Whether `headers` ask to switch to another protocol than h2c.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    let Some(protocol) = headers.get(UPGRADE) else { return false };
    if protocol.as_bytes().eq_ignore_ascii_case(b"h2c") {
        return false;
    }
    headers
        .get_all(CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"upgrade"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (http::HeaderName::from_static(k), http::HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn an_upgrade_needs_both_headers_and_h2c_is_not_one() {
        assert!(is_upgrade(&headers(&[("connection", "keep-alive, Upgrade"), ("upgrade", "websocket")])));
        assert!(!is_upgrade(&headers(&[("upgrade", "websocket")])));
        assert!(!is_upgrade(&headers(&[("connection", "upgrade")])));
        assert!(!is_upgrade(&headers(&[("connection", "upgrade"), ("upgrade", "h2c")])));
        assert!(!is_upgrade(&headers(&[("connection", "upgraded"), ("upgrade", "websocket")])));
    }
}
