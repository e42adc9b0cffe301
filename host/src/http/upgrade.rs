//! HTTP/1.1 upgrade requests (RFC 9110 §7.8): `Connection: upgrade` with an `Upgrade`
//! protocol. Those of a protocol the listener's `upgrade_types` names are proxied (see
//! `tunnel.rs`); others are refused (403) as Envoy refuses an upgrade it is not configured
//! for; `h2c`, which Envoy drops and serves as a plain request, is left to go on (hyper
//! ignores it).

use http::HeaderMap;
use http::header::{CONNECTION, UPGRADE};

/// The protocol `headers` ask to switch to (other than h2c), if they ask.
pub fn protocol(headers: &HeaderMap) -> Option<&http::HeaderValue> {
    let protocol = headers.get(UPGRADE)?;
    if protocol.as_bytes().eq_ignore_ascii_case(b"h2c") {
        return None;
    }
    headers
        .get_all(CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"upgrade"))
        .then_some(protocol)
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
        let asks = |pairs| protocol(&headers(pairs)).map(|p| p.as_bytes().to_vec());
        assert_eq!(
            asks(&[("connection", "keep-alive, Upgrade"), ("upgrade", "websocket")]),
            Some(b"websocket".to_vec())
        );
        assert_eq!(asks(&[("upgrade", "websocket")]), None);
        assert_eq!(asks(&[("connection", "upgrade")]), None);
        assert_eq!(asks(&[("connection", "upgrade"), ("upgrade", "h2c")]), None);
        assert_eq!(asks(&[("connection", "upgraded"), ("upgrade", "websocket")]), None);
    }
}
