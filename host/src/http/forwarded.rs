//! The request headers that say where a request came from, as Envoy's HTTP connection manager
//! sets them: `x-forwarded-for`, `x-forwarded-proto`, `x-request-id`.
//!
//! A listener with `use_remote_address` faces clients, so what a client claims is not
//! trusted: its address is appended to `x-forwarded-for`, `x-forwarded-proto` comes from the
//! connection, `x-envoy-external-address` holds its address (as Envoy sets it for external
//! clients), and its `x-request-id` is replaced (unless `preserve_external_request_id`).
//! Without it (a listener behind a trusted proxy) those headers pass as sent, and are only
//! added when missing. Either way a client's `x-forwarded-client-cert` is removed, as Envoy's
//! default `forward_client_cert_details: SANITIZE` does: weir never vouches for a client
//! certificate in it, and nobody else may.

use std::net::SocketAddr;

use bytes::Bytes;
use http::header::HeaderName;

use super::listener::ListenerContext;
use weir_http::HeaderMap;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_ENVOY_EXTERNAL_ADDRESS: HeaderName = HeaderName::from_static("x-envoy-external-address");

/// Sets the forwarding headers of a request that arrived from `remote`.
pub(crate) fn apply(listener: &ListenerContext, remote: SocketAddr, tls: bool, headers: &mut HeaderMap) {
    // The scheme of the downstream connection.
    let scheme = Bytes::from_static(if tls { b"https" } else { b"http" });
    headers.remove(b"x-forwarded-client-cert");
    if listener.use_remote_address {
        let ip = remote.ip().to_string();
        let chain = match headers.get(b"x-forwarded-for") {
            Some(existing) if !existing.is_empty() => {
                let mut chain = existing.to_vec();
                chain.push(b',');
                chain.extend_from_slice(ip.as_bytes());
                Bytes::from(chain)
            }
            _ => Bytes::from(ip.clone()),
        };
        headers.set_in_place(X_FORWARDED_FOR, chain);
        headers.set_in_place(X_FORWARDED_PROTO, scheme);
        // Envoy's name for the address of an external client (plugins written for Envoy
        // read it); a client's own value is replaced.
        headers.set_in_place(X_ENVOY_EXTERNAL_ADDRESS, Bytes::from(ip));
        if !listener.preserve_external_request_id || headers.get(b"x-request-id").is_none() {
            headers.set_in_place(X_REQUEST_ID, request_id());
        }
        return;
    }
    if headers.get(b"x-forwarded-proto").is_none() {
        headers.add(X_FORWARDED_PROTO, scheme);
    }
    if headers.get(b"x-request-id").is_none() {
        headers.add(X_REQUEST_ID, request_id());
    }
}

fn request_id() -> Bytes {
    let mut id = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut id);
    Bytes::copy_from_slice(id.as_bytes())
}
