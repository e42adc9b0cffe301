//! Replies both admin APIs build the same way: a status, a content type, a body, and the
//! `WWW-Authenticate` challenge a `401` carries.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;

/// An admin reply: the whole body in memory (admin answers are small and bounded).
pub type Reply = Response<Full<Bytes>>;

/// A reply with `status`, `content_type` and `body`. A content type that is not a valid header
/// value is left out rather than sent malformed.
pub fn reply(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Reply {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// `reply` with the `WWW-Authenticate` challenge of a refusal, if it has one.
pub fn challenged(mut reply: Reply, challenge: Option<&str>) -> Reply {
    if let Some(value) = challenge.and_then(|c| HeaderValue::from_str(c).ok()) {
        reply.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    reply
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sets_status_type_and_challenge() {
        let r = challenged(reply(StatusCode::UNAUTHORIZED, "text/plain", "no\n"), Some("Bearer realm=\"x\""));
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/plain");
        assert_eq!(r.headers()[header::WWW_AUTHENTICATE], "Bearer realm=\"x\"");
        let bad = reply(StatusCode::OK, "text/plain\n", "");
        assert!(bad.headers().get(header::CONTENT_TYPE).is_none());
    }
}
