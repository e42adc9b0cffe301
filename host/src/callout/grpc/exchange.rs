//! One gRPC exchange with an upstream: send the request, report what comes back as
//! [`GrpcEvent`]s, end with the final status.

use bytes::{Bytes, BytesMut};
use http::Request;
use http_body_util::BodyExt;

use super::wire::{TooLarge, grpc_status, take_message, upstream_message};
use super::{GrpcEvent, code};
use crate::upstream::Cluster;
use crate::wasm::Charge;
use weir_http::grpc_status::status_for_http;
use weir_http::{BoxBody, header_map_from_http, response_map};

/// RESOURCE_EXHAUSTED: a received message was longer than the limit.
const RESOURCE_EXHAUSTED: u32 = 8;

/// Sends the request and reports events; returns the final gRPC status and message. Received
/// messages are at most `max_message` bytes, and the bytes waiting to form a message are held
/// from the VM's in-flight budget (`charge`): past either, the call ends with
/// RESOURCE_EXHAUSTED, as a gRPC client refuses an oversized message.
pub(super) async fn run(
    cluster: &Cluster,
    request: Request<BoxBody>,
    max_message: usize,
    charge: &mut Charge,
    mut on_event: impl FnMut(GrpcEvent),
) -> (u32, Bytes) {
    let unavailable = |e: String| (code::UNAVAILABLE, Bytes::from(e));
    let connection = match cluster.connect_h2().await {
        Ok((_, c)) => c,
        Err(e) => return unavailable(e.to_string()),
    };
    let response = match connection.send(request).await {
        Ok(r) => r,
        Err(e) => return unavailable(e.to_string()),
    };
    let (mut parts, mut body) = response.into_parts();
    if parts.status != http::StatusCode::OK {
        return (
            status_for_http(parts.status.as_u16()),
            Bytes::from(format!("HTTP status {}", parts.status)),
        );
    }
    let headers = response_map(&mut parts);
    if let Some(status) = grpc_status(&headers) {
        // Trailers-only response.
        on_event(GrpcEvent::TrailingMetadata(headers.clone()));
        return (status, upstream_message(status, &headers));
    }
    on_event(GrpcEvent::InitialMetadata(headers));
    let mut buffer = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => return unavailable(e.to_string()),
        };
        match frame.into_data() {
            Ok(data) => {
                if !charge.grow(data.len()) {
                    return too_large("the plugin's limits.max_callout_bytes_in_flight");
                }
                buffer.extend_from_slice(&data);
                loop {
                    match take_message(&mut buffer, max_message) {
                        Ok(Some(message)) => {
                            charge.shrink(message.len() + 5);
                            on_event(GrpcEvent::Message(message));
                        }
                        Ok(None) => break,
                        Err(TooLarge(len)) => {
                            return too_large(&format!("a message of {len} bytes (max {max_message})"));
                        }
                    }
                }
            }
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    let map = header_map_from_http(trailers);
                    let status = grpc_status(&map).unwrap_or(code::INTERNAL);
                    let message = upstream_message(status, &map);
                    on_event(GrpcEvent::TrailingMetadata(map));
                    return (status, message);
                }
            }
        }
    }
    (code::INTERNAL, Bytes::from_static(b"stream ended without grpc-status"))
}

fn too_large(what: &str) -> (u32, Bytes) {
    (RESOURCE_EXHAUSTED, Bytes::from(format!("received {what}: over the limit")))
}
