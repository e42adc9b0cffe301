//! Local replies in one call.

use crate::types::Action;

use crate::host;

/// Answers the request with `status`, `body` and `headers`; returns `Action::Pause` so the
/// callback can `return reply(...)`. If the host refuses, logs and pauses anyway (the stream
/// then ends by its timeout rather than reaching the upstream unchecked).
pub fn reply(status: u32, body: &[u8], headers: &[(&str, &[u8])]) -> Action {
    if let Err(e) = host::send_local_response(status, "", body, headers) {
        log::error!("weir-sdk: the host refused a local reply ({status}): {e:?}");
    }
    Action::Pause
}

/// A JSON error reply: `{"error": code, "message": message}` with `content-type:
/// application/json`.
pub fn json_error(status: u32, code: &str, message: &str, extra_headers: &[(&str, &[u8])]) -> Action {
    let body = serde_json::json!({"error": code, "message": message}).to_string();
    let mut headers: Vec<(&str, &[u8])> = vec![("content-type", b"application/json")];
    headers.extend_from_slice(extra_headers);
    reply(status, body.as_bytes(), &headers)
}
