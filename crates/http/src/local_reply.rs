//! Local replies: responses weir makes itself (plugin `proxy_send_local_response`, direct
//! responses, upstream failures), shaped as Envoy shapes them.

use bytes::Bytes;
use http::Response;

use crate::{BoxBody, HeaderMap, full_body};

/// A local reply requested with `proxy_send_local_response`.
#[derive(Debug, Clone, Default)]
pub struct LocalReply {
    /// Status code (not range-checked, as in Envoy).
    pub status: u32,
    /// Body.
    pub body: Bytes,
    /// Extra response headers.
    pub headers: Vec<(Bytes, Bytes)>,
    /// gRPC status, or -1 for none.
    pub grpc_status: i32,
    /// Response code details (spaces become `_`).
    pub details: String,
}

impl LocalReply {
    /// A host-generated reply (no plugin headers).
    pub fn host(status: u32, body: impl Into<Bytes>, details: &str) -> LocalReply {
        LocalReply {
            status,
            body: body.into(),
            headers: Vec::new(),
            grpc_status: -1,
            details: details.to_string(),
        }
    }

    /// The response header map plugins see for this reply: `:status`, the reply's own headers,
    /// then `content-length` and (with a body) `content-type: text/plain`, as Envoy adds them.
    pub fn header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(self.headers.len() + 3);
        map.add(Bytes::from_static(b":status"), Bytes::from(self.status.to_string()));
        for (name, value) in &self.headers {
            map.add(name.clone(), value.clone());
        }
        if !self.body.is_empty() {
            if map.get(b"content-type").is_none() {
                map.add(Bytes::from_static(b"content-type"), Bytes::from_static(b"text/plain"));
            }
            map.set(Bytes::from_static(b"content-length"), Bytes::from(self.body.len().to_string()));
        }
        map
    }
}

impl LocalReply {
    /// The same reply for a gRPC client, as Envoy sends it: HTTP 200, trailers-only, the gRPC
    /// status given by the plugin (or mapped from the HTTP status) and the body as
    /// `grpc-message`.
    pub fn into_grpc(self) -> LocalReply {
        let status = u32::try_from(self.grpc_status).ok().filter(|s| *s <= 16).unwrap_or_else(|| {
            crate::grpc_status::status_for_http(u16::try_from(self.status).unwrap_or(500))
        });
        let mut headers = self.headers;
        headers.push((Bytes::from_static(b"content-type"), Bytes::from_static(b"application/grpc")));
        headers.push((Bytes::from_static(b"grpc-status"), Bytes::from(status.to_string())));
        if !self.body.is_empty() {
            headers.push((Bytes::from_static(b"grpc-message"), percent_encode(&self.body)));
        }
        LocalReply {
            status: 200,
            body: Bytes::new(),
            headers,
            grpc_status: status as i32,
            details: self.details,
        }
    }
}

/// gRPC's `grpc-message` encoding: bytes outside printable ASCII, and `%`, as `%XX`.
fn percent_encode(text: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(text.len());
    for &b in text {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    Bytes::from(out)
}

/// A reply that bypasses plugins (used when the chain itself cannot run).
pub fn local_reply_response(reply: &LocalReply) -> Response<BoxBody> {
    crate::convert::downstream_response(&reply.header_map(), full_body(reply.body.clone()))
}
