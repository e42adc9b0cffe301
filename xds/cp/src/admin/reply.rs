//! Admin API plumbing: replies, errors, bodies, query strings, path segments.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use hyper::body::Incoming;
use serde::Serialize;
use serde_json::Value;
use weir_admin_guard::Refusal;

use crate::error::StoreError;

/// The largest request body accepted (a runtime layer or an ECDS config): 1 MiB.
pub const MAX_BODY: usize = 1 << 20;

pub use weir_admin_guard::Reply;

/// An error reply: status and message (served as `{"error": message}`).
#[derive(Debug)]
pub struct Failure {
    /// The HTTP status.
    pub status: StatusCode,
    /// The message.
    pub message: String,
    /// The `WWW-Authenticate` challenge of a `401`.
    pub challenge: Option<String>,
}

impl Failure {
    /// A `400 Bad Request`.
    pub fn bad_request(message: impl Into<String>) -> Failure {
        Failure { status: StatusCode::BAD_REQUEST, message: message.into(), challenge: None }
    }

    /// A `404 Not Found`.
    pub fn not_found(message: impl Into<String>) -> Failure {
        Failure { status: StatusCode::NOT_FOUND, message: message.into(), challenge: None }
    }

    /// A `405 Method Not Allowed`.
    pub fn method(method: &http::Method, path: &str) -> Failure {
        Failure {
            status: StatusCode::METHOD_NOT_ALLOWED,
            message: format!("{method} is not allowed on {path}"),
            challenge: None,
        }
    }
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Failure {
        Failure { status: r.status, message: r.message, challenge: r.challenge }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        let status = match &e {
            StoreError::InvalidKey { .. }
            | StoreError::InvalidName { .. }
            | StoreError::InvalidValue { .. }
            | StoreError::InvalidLayer(_)
            | StoreError::InvalidEcds { .. }
            | StoreError::InvalidSecret { .. }
            | StoreError::InvalidResource { .. } => StatusCode::BAD_REQUEST,
            StoreError::NotFound(_) => StatusCode::NOT_FOUND,
            StoreError::Conflict(_) => StatusCode::CONFLICT,
            StoreError::Persist { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Failure { status, message: e.to_string(), challenge: None }
    }
}

/// A JSON reply.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Reply {
    let mut bytes =
        serde_json::to_vec_pretty(body).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}").into_bytes());
    bytes.push(b'\n');
    weir_admin_guard::reply(status, "application/json", bytes)
}

/// A JSON reply without indentation (large answers: `/status`).
pub fn json_compact<T: Serialize>(status: StatusCode, body: &T) -> Reply {
    let mut bytes =
        serde_json::to_vec(body).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}").into_bytes());
    bytes.push(b'\n');
    weir_admin_guard::reply(status, "application/json", bytes)
}

/// A plain-text reply.
pub fn text(status: StatusCode, content_type: &'static str, body: String) -> Reply {
    weir_admin_guard::reply(status, content_type, body)
}

/// The reply for a failure (a `401` with its `WWW-Authenticate` challenge).
pub fn failure(f: Failure) -> Reply {
    weir_admin_guard::challenged(
        json(f.status, &serde_json::json!({ "error": f.message })),
        f.challenge.as_deref(),
    )
}

/// Reads the whole body (at most [`MAX_BODY`]) if its `Content-Type` is one of `accepted`.
pub async fn body(headers: &HeaderMap, body: Incoming, accepted: &[&str]) -> Result<Bytes, Failure> {
    body_up_to(headers, body, accepted, MAX_BODY).await
}

/// Reads the whole body (at most `max` bytes) if its `Content-Type` is one of `accepted`.
pub async fn body_up_to(
    headers: &HeaderMap,
    body: Incoming,
    accepted: &[&str],
    max: usize,
) -> Result<Bytes, Failure> {
    weir_admin_guard::require_content_type(headers, accepted)?;
    Ok(weir_admin_guard::read_body(headers, body, max).await?)
}

/// A body holding one JSON value.
pub fn json_value(bytes: &[u8]) -> Result<Value, Failure> {
    serde_json::from_slice(bytes)
        .map_err(|e| Failure::bad_request(format!("the body must be a JSON value: {e}")))
}

/// A body holding a JSON or YAML document.
pub fn json_or_yaml(bytes: &[u8]) -> Result<Value, Failure> {
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| Failure::bad_request("the body is not UTF-8"))?;
    serde_norway::from_str(text)
        .map_err(|e| Failure::bad_request(format!("the body is neither JSON nor YAML: {e}")))
}

/// The query parameters, percent-decoded. Parameters other than `allowed` are refused.
pub fn query(uri: &http::Uri, allowed: &[&str]) -> Result<Vec<(String, String)>, Failure> {
    let mut out = Vec::new();
    for pair in uri.query().unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k)?, decode(v)?);
        if !allowed.contains(&k.as_str()) {
            return Err(Failure::bad_request(format!(
                "unknown query parameter `{k}` (allowed: {allowed:?})"
            )));
        }
        out.push((k, v));
    }
    Ok(out)
}

/// A boolean query parameter (`true`/`false`, `1`/`0`); `default` when absent.
pub fn flag(params: &[(String, String)], name: &str, default: bool) -> Result<bool, Failure> {
    match params.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str()) {
        None => Ok(default),
        Some("true" | "1" | "") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(other) => Err(Failure::bad_request(format!("`{name}` must be true or false, not `{other}`"))),
    }
}

/// Percent-decodes a path segment or query component.
pub fn decode(segment: &str) -> Result<String, Failure> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| Failure::bad_request(format!("`{segment}` is not UTF-8 once decoded")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_and_flags() {
        let uri: http::Uri = "/runtime/x?validate=false&mode=merge".parse().unwrap();
        let params = query(&uri, &["validate", "mode"]).unwrap();
        assert!(!flag(&params, "validate", true).unwrap());
        assert!(query(&uri, &["mode"]).is_err());
        let uri: http::Uri = "/x?validate=maybe".parse().unwrap();
        assert!(flag(&query(&uri, &["validate"]).unwrap(), "validate", true).is_err());
    }

    #[test]
    fn bodies() {
        assert_eq!(json_or_yaml(b"a:\n  b: 1\n").unwrap(), serde_json::json!({"a": {"b": 1}}));
        assert_eq!(json_or_yaml(br#"{"a": 1}"#).unwrap(), serde_json::json!({"a": 1}));
        assert!(json_value(b"not json").is_err());
        assert_eq!(decode("a%2Fb").unwrap(), "a/b");
    }
}
