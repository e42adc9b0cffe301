//! One gRPC exchange with an upstream: send the request, report what comes back as
//! [`GrpcEvent`]s (initial metadata, messages), and say how it ended ([`Ending`]; the caller
//! reports the trailing metadata and the close).

use bytes::BytesMut;
use http::Request;
use http_body_util::BodyExt;

use super::GrpcEvent;
use super::ending::{Ending, Failure};
use super::wire::{Framing, take_message};
use crate::embedder::CalloutCluster;
use weir_http::error_chain;
use weir_http::{BoxBody, add_service_time, header_map_from_http, response_map};

/// Sends the request and reports events until the end. Received messages are at most
/// `max_message` bytes, and the bytes waiting to form a message are held from the VM's
/// in-flight budget (`charge`): past either, the call ends with RESOURCE_EXHAUSTED, as a gRPC
/// client refuses an oversized message.
pub(super) async fn run(
    cluster: &dyn CalloutCluster,
    request: Request<BoxBody>,
    max_message: usize,
    charge: &mut crate::wasm::Charge,
    mut on_event: impl FnMut(GrpcEvent),
) -> Ending {
    let started = std::time::Instant::now();
    let response = match cluster.send_h2(request).await {
        Ok(r) => r,
        Err(e) => return Ending::Before(Failure::of(&e)),
    };
    let (mut parts, mut body) = response.into_parts();
    let status = parts.status;
    let mut headers = response_map(&mut parts);
    add_service_time(&mut headers, started);
    // A headers-only answer: Envoy's client reads its headers as the trailers (for a status
    // other than 200 only when they carry a grpc-status).
    let ended = http_body::Body::is_end_stream(&body);
    let has_status = headers.get(b"grpc-status").is_some();
    if status != http::StatusCode::OK {
        return match ended && has_status {
            true => Ending::HeadersOnly(headers),
            false => Ending::Http(status.as_u16()),
        };
    }
    if ended || has_status {
        return Ending::HeadersOnly(headers);
    }
    on_event(GrpcEvent::InitialMetadata(headers));
    let mut buffer = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => return Ending::After(Failure::of_reset(&error_chain(&*e))),
        };
        match frame.into_data() {
            Ok(data) => {
                if !charge.grow(data.len()) {
                    return too_large("the plugin's limits.max_callout_bytes_in_flight");
                }
                buffer.extend_from_slice(&data);
                loop {
                    match take_message(&mut buffer, max_message) {
                        Framing::Message(message) => {
                            charge.shrink(message.len() + 5);
                            on_event(GrpcEvent::Message(message));
                        }
                        Framing::Incomplete => break,
                        Framing::TooLarge(len) => {
                            return too_large(&format!("a message of {len} bytes (max {max_message})"));
                        }
                        Framing::Malformed => return Ending::Malformed,
                    }
                }
            }
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    return Ending::Trailers(header_map_from_http(trailers));
                }
            }
        }
    }
    Ending::NoTrailers
}

fn too_large(what: &str) -> Ending {
    Ending::TooLarge(format!("received {what}: over the limit"))
}
