//! Local replies: responses weir makes itself (plugin `proxy_send_local_response`, direct
//! responses, upstream failures), shaped as Envoy shapes them.

use bytes::Bytes;
use http::Response;

use super::{BoxBody, HeaderMap, LocalReply, full_body};

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

/// A reply that bypasses plugins (used when the chain itself cannot run).
pub fn local_reply_response(reply: &LocalReply) -> Response<BoxBody> {
    super::convert::downstream_response(&reply.header_map(), full_body(reply.body.clone()))
}
