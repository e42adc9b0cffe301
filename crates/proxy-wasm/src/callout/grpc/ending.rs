//! How a gRPC callout ends, worded as Envoy 1.40's gRPC client reports it to a plugin: the
//! status, a message made of the upstream's `grpc-message` (raw, still percent-encoded) and
//! the response code details (`<grpc-message>{<details>}`, or the details alone when there is
//! no message), and the metadata callbacks a stream gets first.
//!
//! A failure before response headers is answered by Envoy's router with a local reply, which
//! its gRPC client sees as a headers-only answer: status 14 (UNAVAILABLE), the reply's body as
//! `grpc-message`, empty initial metadata and trailing metadata of four entries.

use bytes::Bytes;

use super::{GrpcEvent, code};
use weir_http::HeaderMap;
use weir_http::UpstreamError;
use weir_http::grpc_status::status_for_http;

/// The response code details of an answer that came from the upstream.
const VIA_UPSTREAM: &str = "via_upstream";
/// UNKNOWN: an answer without `grpc-status`.
const UNKNOWN: u32 = 2;
/// RESOURCE_EXHAUSTED: a received message was longer than the limit.
const RESOURCE_EXHAUSTED: u32 = 8;

/// Why a stream failed at the transport level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Failure {
    /// The connection could not be made (the OS error text, when there is one).
    Connect(Option<String>),
    /// The connection was not made in time.
    ConnectTimeout,
    /// No endpoint to send to.
    NoHealthyUpstream,
    /// A circuit breaker refused the call.
    Overflow,
    /// The upstream reset the stream (RST_STREAM).
    RemoteReset,
    /// The connection went away.
    ConnectionTermination,
    /// The request cannot be sent as it is (an invalid `:path`): Envoy's codec refuses it.
    ProtocolError,
}

impl Failure {
    /// The failure an upstream error stands for.
    pub(super) fn of(error: &UpstreamError) -> Failure {
        match error {
            UpstreamError::ConnectFailure(text) => Failure::Connect(os_error_text(text)),
            UpstreamError::ConnectTimeout => Failure::ConnectTimeout,
            UpstreamError::NoHealthyUpstream | UpstreamError::UnknownCluster(_) => Failure::NoHealthyUpstream,
            UpstreamError::Overflow => Failure::Overflow,
            UpstreamError::Reset(text) => Failure::of_reset(text),
            UpstreamError::Timeout => Failure::ConnectionTermination,
        }
    }

    /// A reset, from the text of its error and the errors under it: a stream reset the
    /// upstream sent, or else the connection's end.
    pub(super) fn of_reset(text: &str) -> Failure {
        if text.contains("stream error received") {
            Failure::RemoteReset
        } else {
            Failure::ConnectionTermination
        }
    }

    /// Envoy's words for the reset reason.
    fn reason(&self) -> &'static str {
        match self {
            Failure::Connect(_) => "remote connection failure",
            Failure::ConnectTimeout => "connection timeout",
            Failure::NoHealthyUpstream => "no healthy upstream",
            Failure::Overflow => "overflow",
            Failure::RemoteReset => "remote reset",
            Failure::ConnectionTermination => "connection termination",
            Failure::ProtocolError => "protocol error",
        }
    }

    /// The reason as response code details, with the transport failure when there is one
    /// (`remote_connection_failure|delayed_connect_error:_Connection_refused`).
    fn details(&self) -> String {
        let reason = self.reason().replace(' ', "_");
        match self {
            Failure::Connect(Some(os)) => format!("{reason}|delayed_connect_error:_{}", os.replace(' ', "_")),
            _ => reason,
        }
    }

    /// The local reply Envoy's router makes: body and details.
    fn local_reply(&self) -> (String, String) {
        match self {
            Failure::NoHealthyUpstream => ("no healthy upstream".into(), "no_healthy_upstream".into()),
            other => (
                format!(
                    "upstream connect error or disconnect/reset before headers. reset reason: {}",
                    other.reason()
                ),
                format!("upstream_reset_before_response_started{{{}}}", other.details()),
            ),
        }
    }
}

/// The OS error of a connection failure without Rust's ` (os error N)` suffix: the text
/// Envoy's `strerror` gives.
fn os_error_text(text: &str) -> Option<String> {
    let (message, _) = text.rsplit_once(" (os error ")?;
    Some(message.to_string())
}

/// How a callout ended.
#[derive(Debug, Clone)]
pub(super) enum Ending {
    /// Failed before response headers.
    Before(Failure),
    /// The call's timeout passed.
    Timeout,
    /// A response status other than 200 (no `grpc-status` in a headers-only answer).
    Http(u16),
    /// A headers-only answer (status 200): its headers are the trailing metadata.
    HeadersOnly(HeaderMap),
    /// Trailers after the messages.
    Trailers(HeaderMap),
    /// The body is not gRPC framing.
    Malformed,
    /// The body ended without trailers.
    NoTrailers,
    /// Reset after the response started.
    After(Failure),
    /// A received message over weir's limits (weir's own wording).
    TooLarge(String),
}

fn with_details(grpc_message: &[u8], details: &str) -> Bytes {
    if grpc_message.is_empty() {
        return Bytes::from(details.to_string());
    }
    let mut message = grpc_message.to_vec();
    message.extend_from_slice(format!("{{{details}}}").as_bytes());
    Bytes::from(message)
}

fn upstream_status(map: &HeaderMap) -> (u32, Bytes) {
    let status = map.get_str("grpc-status").and_then(|s| s.parse().ok()).unwrap_or(UNKNOWN);
    let message = map.get(b"grpc-message").map_or(&[][..], |m| m.as_ref());
    (status, with_details(message, VIA_UPSTREAM))
}

impl Ending {
    /// The gRPC status and message `proxy_get_status` reports.
    pub(super) fn status(&self) -> (u32, Bytes) {
        match self {
            Ending::Before(failure) => {
                let (body, details) = failure.local_reply();
                (code::UNAVAILABLE, with_details(body.as_bytes(), &details))
            }
            Ending::Timeout => {
                (code::UNAVAILABLE, with_details(b"upstream request timeout", "response_timeout"))
            }
            Ending::Http(status) => (status_for_http(*status), Bytes::from_static(VIA_UPSTREAM.as_bytes())),
            Ending::HeadersOnly(map) | Ending::Trailers(map) => upstream_status(map),
            Ending::Malformed => (code::INTERNAL, Bytes::from_static(VIA_UPSTREAM.as_bytes())),
            Ending::NoTrailers => (UNKNOWN, Bytes::from_static(VIA_UPSTREAM.as_bytes())),
            Ending::After(failure) => (
                code::INTERNAL,
                Bytes::from(format!("upstream_reset_after_response_started{{{}}}", failure.details())),
            ),
            Ending::TooLarge(what) => (RESOURCE_EXHAUSTED, Bytes::from(what.clone())),
        }
    }

    /// Reports the metadata a stream gets before its close: empty initial metadata when none
    /// came yet, then the trailing metadata (empty when the stream failed).
    pub(super) fn report(&self, on_event: &mut impl FnMut(GrpcEvent)) {
        let trailing = match self {
            Ending::Before(_) | Ending::Timeout => Some(self.local_reply_trailers()),
            Ending::Http(_) => Some(HeaderMap::default()),
            Ending::HeadersOnly(map) => Some(map.clone()),
            _ => None,
        };
        if let Some(trailing) = trailing {
            on_event(GrpcEvent::InitialMetadata(HeaderMap::default()));
            on_event(GrpcEvent::TrailingMetadata(trailing));
            return;
        }
        let trailing = match self {
            Ending::Trailers(map) => map.clone(),
            _ => HeaderMap::default(),
        };
        on_event(GrpcEvent::TrailingMetadata(trailing));
    }

    /// The headers-only answer Envoy's router makes of a local reply to a gRPC request.
    fn local_reply_trailers(&self) -> HeaderMap {
        let body = match self {
            Ending::Before(failure) => failure.local_reply().0,
            _ => "upstream request timeout".to_string(),
        };
        let mut map = HeaderMap::with_capacity(4);
        map.add(":status", Bytes::from_static(b"200"));
        map.add("content-type", Bytes::from_static(b"application/grpc"));
        map.add("grpc-status", Bytes::from(code::UNAVAILABLE.to_string()));
        map.add("grpc-message", Bytes::from(body));
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(ending: Ending) -> (u32, String) {
        let (status, message) = ending.status();
        (status, String::from_utf8_lossy(&message).into_owned())
    }

    #[test]
    fn envoy_wording() {
        let refused = Failure::of(&UpstreamError::ConnectFailure("Connection refused (os error 111)".into()));
        assert_eq!(
            message(Ending::Before(refused)),
            (
                14,
                "upstream connect error or disconnect/reset before headers. reset reason: remote connection \
                 failure{upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:\
                 _Connection_refused}}"
                    .into()
            )
        );
        assert_eq!(
            message(Ending::Before(Failure::ProtocolError)),
            (
                14,
                "upstream connect error or disconnect/reset before headers. reset reason: protocol \
                 error{upstream_reset_before_response_started{protocol_error}}"
                    .into()
            )
        );
        assert_eq!(message(Ending::Timeout), (14, "upstream request timeout{response_timeout}".into()));
        assert_eq!(message(Ending::Http(503)), (14, "via_upstream".into()));
        assert_eq!(message(Ending::NoTrailers), (2, "via_upstream".into()));
        assert_eq!(message(Ending::Malformed), (13, "via_upstream".into()));
        assert_eq!(
            message(Ending::After(Failure::RemoteReset)),
            (13, "upstream_reset_after_response_started{remote_reset}".into())
        );
        let mut ok = HeaderMap::default();
        ok.add("grpc-status", Bytes::from_static(b"0"));
        assert_eq!(message(Ending::Trailers(ok.clone())), (0, "via_upstream".into()));
        ok.add("grpc-message", Bytes::from_static(b"all%20good"));
        assert_eq!(message(Ending::Trailers(ok)), (0, "all%20good{via_upstream}".into()));
        assert_eq!(message(Ending::HeadersOnly(HeaderMap::default())), (2, "via_upstream".into()));
    }

    #[test]
    fn resets_by_who_sent_them() {
        let received = "http2 error: stream error received: unexpected internal error encountered";
        assert_eq!(Failure::of_reset(received), Failure::RemoteReset);
        assert_eq!(
            Failure::of_reset("connection closed before message completed"),
            Failure::ConnectionTermination
        );
    }
}
