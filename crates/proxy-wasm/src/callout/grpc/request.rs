//! The HTTP/2 request of a gRPC callout, with the headers Envoy's gRPC client sends:
//! `content-type: application/grpc`, `te: trailers`, `x-envoy-internal: true`, and for a unary
//! call `grpc-timeout` (always, `0m` for no deadline) and `x-envoy-expected-rq-timeout-ms`
//! (when there is a deadline). No `content-length`: the message is streamed.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Uri, Version};
use http_body::Frame;

use crate::embedder::CalloutCluster;
use weir_http::{BoxError, HeaderMap};

/// The `:path` a service and method make is not a valid request target (it has a space, a
/// control character, ...). Envoy accepts the call and the stream then fails with a protocol
/// error; weir cannot send it at all.
#[derive(Debug)]
pub(super) struct InvalidPath;

/// `http://<cluster>/<service>/<method>`: the authority is the cluster name, as Envoy's
/// `envoy_grpc` client uses.
pub(super) fn uri(cluster: &dyn CalloutCluster, service: &str, method: &str) -> Result<Uri, InvalidPath> {
    Uri::try_from(format!("http://{}/{service}/{method}", cluster.name())).map_err(|_| InvalidPath)
}

/// A `grpc-timeout` value: the count in the finest unit (milliseconds, seconds, minutes,
/// hours) that keeps it within the 8 digits gRPC allows, truncated, as Envoy writes it.
pub(super) fn grpc_timeout(ms: u64) -> String {
    const MAX: u64 = 99_999_999;
    let mut value = ms;
    for (unit, next) in [('m', 1000), ('S', 60), ('M', 60)] {
        if value <= MAX {
            return format!("{value}{unit}");
        }
        value /= next;
    }
    format!("{}H", value.min(MAX))
}

/// The request head. `timeout_ms` is a unary call's timeout (`None` for a stream).
pub(super) fn head(uri: Uri, metadata: &HeaderMap, timeout_ms: Option<u32>) -> http::request::Builder {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .version(Version::HTTP_2)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("x-envoy-internal", "true");
    if let Some(ms) = timeout_ms {
        builder = builder.header("grpc-timeout", grpc_timeout(ms.into()));
        if ms > 0 {
            builder = builder.header("x-envoy-expected-rq-timeout-ms", ms.to_string());
        }
    }
    for (k, v) in metadata.iter() {
        if k.as_bytes().starts_with(b":") {
            continue;
        }
        builder = builder.header(k.as_bytes(), v.as_ref());
    }
    builder
}

/// A unary call's one framed message, sent without a `content-length` (its size is not
/// announced, as Envoy streams it).
pub(super) struct OneMessage(pub(super) Option<Bytes>);

impl http_body::Body for OneMessage {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Poll::Ready(self.0.take().map(|data| Ok(Frame::data(data))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeout_keeps_eight_digits() {
        assert_eq!(grpc_timeout(0), "0m");
        assert_eq!(grpc_timeout(250), "250m");
        assert_eq!(grpc_timeout(99_999_999), "99999999m");
        assert_eq!(grpc_timeout(100_000_000), "100000S");
        assert_eq!(grpc_timeout(u32::MAX.into()), "4294967S");
        assert_eq!(grpc_timeout(3_000_000_000), "3000000S");
        assert_eq!(grpc_timeout(u64::MAX), "99999999H");
    }

    #[test]
    fn one_message_has_no_exact_size() {
        use http_body::Body;
        let body = OneMessage(Some(Bytes::from_static(b"x")));
        assert!(body.size_hint().exact().is_none());
    }
}
