//! gRPC callouts over HTTP/2: unary calls (`proxy_grpc_call`) and streams
//! (`proxy_grpc_stream`, `proxy_grpc_send`, `proxy_grpc_close`, `proxy_grpc_cancel`).
//!
//! Delivery follows Envoy: a unary call ends in `proxy_on_grpc_receive` (success) or
//! `proxy_on_grpc_close` (failure, with the status); a stream gets initial metadata, each
//! message, trailing metadata, then `proxy_on_grpc_close`. A cancelled callout gets nothing.
//! Transport failures and timeouts are status 14 (UNAVAILABLE), as Envoy reports them (a
//! timeout's message is `upstream request timeout{response_timeout}`).

use std::rc::{Rc, Weak};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::{Method, Request, Version};
use http_body_util::BodyExt;
use tokio::sync::mpsc;
use weir_abi::Status;

use super::CalloutKind;
use crate::http::{BoxBody, BoxError, HeaderMap, boxed, full_body, header_map_from_http, response_map};
use crate::services::WorkerServices;
use crate::upstream::Cluster;
use crate::wasm::HostState;

/// The message of a call that ran out of time, as Envoy gives it.
const TIMEOUT_MESSAGE: &[u8] = b"upstream request timeout{response_timeout}";

/// gRPC status codes used by the host itself.
pub mod code {
    /// OK.
    pub const OK: u32 = 0;
    /// INTERNAL.
    pub const INTERNAL: u32 = 13;
    /// UNAVAILABLE.
    pub const UNAVAILABLE: u32 = 14;
}

/// What the guest asks of an open stream.
#[derive(Debug)]
pub enum StreamCommand {
    /// Send one message (already framed).
    Send(Bytes),
    /// Half-close: no more messages.
    Close,
}

/// Something that happened on a gRPC callout, in order.
#[derive(Debug, Clone)]
pub enum GrpcEvent {
    /// Response headers.
    InitialMetadata(HeaderMap),
    /// One message.
    Message(Bytes),
    /// Response trailers.
    TrailingMetadata(HeaderMap),
    /// The end, with the gRPC status and message.
    Close {
        /// gRPC status.
        status: u32,
        /// Status message.
        message: Bytes,
    },
}

/// Frames a message: flag byte 0, big-endian length, bytes.
pub fn frame(message: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(message.len() + 5);
    out.extend_from_slice(&[0]);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out.freeze()
}

fn request_for(
    cluster: &Cluster,
    service: &str,
    method: &str,
    metadata: &HeaderMap,
    timeout: Option<Duration>,
) -> http::request::Builder {
    let uri = format!("http://{}/{service}/{method}", cluster.name());
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .version(Version::HTTP_2)
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(t) = timeout {
        builder = builder.header("grpc-timeout", format!("{}m", t.as_millis()));
    }
    for (k, v) in metadata.iter() {
        if k.as_bytes().starts_with(b":") {
            continue;
        }
        builder = builder.header(k.as_bytes(), v.as_ref());
    }
    builder
}

fn cluster_of(state: &HostState, name: &str) -> Result<(Rc<WorkerServices>, Rc<Cluster>), Status> {
    let worker = state.env.worker.clone().ok_or(Status::ParseFailure)?;
    let cluster = worker.upstreams().get(name).cloned().ok_or(Status::ParseFailure)?;
    Ok((worker, cluster))
}

/// Starts a unary call; returns its token.
pub(crate) fn dispatch_call(
    state: &mut HostState,
    cluster: &str,
    service: &str,
    method: &str,
    metadata: HeaderMap,
    message: Bytes,
    timeout: Option<Duration>,
) -> Result<u32, Status> {
    let (worker, cluster) = cluster_of(state, cluster)?;
    let request = request_for(&cluster, service, method, &metadata, timeout)
        .body(full_body(frame(&message)))
        .map_err(|_| Status::BadArgument)?;
    let token = state.next_callout_token()?;
    let (instance, weak) = (state.env.instance, Rc::downgrade(&worker));
    let task = tokio::task::spawn_local(async move {
        let mut reply = None;
        let call = run(&cluster, request, |event| {
            if let GrpcEvent::Message(m) = event {
                reply.get_or_insert(m);
            }
        });
        let (status, message) = match timeout {
            Some(limit) => tokio::time::timeout(limit, call)
                .await
                .unwrap_or_else(|_| (code::UNAVAILABLE, Bytes::from_static(TIMEOUT_MESSAGE))),
            None => call.await,
        };
        let outcome = match (status, reply) {
            (code::OK, Some(reply)) => GrpcEvent::Message(reply),
            (code::OK, None) => GrpcEvent::Close {
                status: code::INTERNAL,
                message: Bytes::from_static(b"no response message"),
            },
            (status, _) => GrpcEvent::Close { status, message },
        };
        deliver(&weak, instance, token, outcome);
    });
    state.callouts.insert(token, state.effective_context, CalloutKind::GrpcCall, Some(task.abort_handle()));
    Ok(token)
}

/// Opens a stream; returns its token.
pub(crate) fn dispatch_stream(
    state: &mut HostState,
    cluster: &str,
    service: &str,
    method: &str,
    metadata: HeaderMap,
) -> Result<u32, Status> {
    let (worker, cluster) = cluster_of(state, cluster)?;
    let (tx, rx) = mpsc::unbounded_channel::<StreamCommand>();
    let request = request_for(&cluster, service, method, &metadata, None)
        .body(boxed(ChannelBody { rx }))
        .map_err(|_| Status::BadArgument)?;
    let token = state.next_callout_token()?;
    let (instance, weak) = (state.env.instance, Rc::downgrade(&worker));
    let task = tokio::task::spawn_local(async move {
        let (status, message) = run(&cluster, request, |event| deliver(&weak, instance, token, event)).await;
        deliver(&weak, instance, token, GrpcEvent::Close { status, message });
    });
    state.callouts.insert(
        token,
        state.effective_context,
        CalloutKind::GrpcStream(Some(tx)),
        Some(task.abort_handle()),
    );
    Ok(token)
}

/// `proxy_grpc_send`: queues a message on an open stream; `end_stream` half-closes it.
pub(crate) fn send(
    state: &mut HostState,
    token: u32,
    message: &[u8],
    end_stream: bool,
) -> Result<(), Status> {
    // As Envoy: a token that is not an open stream is NotFound (the Rust SDK panics on
    // anything but Ok, BadArgument and NotFound here).
    let pending = state.callouts.get_mut(token).ok_or(Status::NotFound)?;
    let CalloutKind::GrpcStream(sender) = &mut pending.kind else {
        return Err(Status::NotFound);
    };
    let tx = sender.as_ref().ok_or(Status::BadArgument)?;
    // The stream ended and its close is on the way: it is gone.
    tx.send(StreamCommand::Send(frame(message))).map_err(|_| Status::NotFound)?;
    if end_stream {
        let _ = tx.send(StreamCommand::Close);
        *sender = None;
    }
    Ok(())
}

/// `proxy_grpc_close`: half-closes a stream; cancels a unary call.
pub(crate) fn close(state: &mut HostState, token: u32) -> Result<(), Status> {
    let pending = state.callouts.get_mut(token).ok_or(Status::NotFound)?;
    match &mut pending.kind {
        CalloutKind::GrpcStream(sender) => {
            if let Some(tx) = sender.take() {
                let _ = tx.send(StreamCommand::Close);
            }
            Ok(())
        }
        CalloutKind::GrpcCall => {
            state.callouts.cancel(token);
            Ok(())
        }
        // Not a gRPC callout: unknown to the gRPC calls, as in Envoy.
        CalloutKind::Http => Err(Status::NotFound),
    }
}

/// `proxy_grpc_cancel`: stops a call or stream; no callback follows.
pub(crate) fn cancel(state: &mut HostState, token: u32) -> Result<(), Status> {
    match state.callouts.get(token).map(|p| matches!(p.kind, CalloutKind::Http)) {
        None | Some(true) => Err(Status::NotFound),
        Some(false) => {
            state.callouts.cancel(token);
            Ok(())
        }
    }
}

/// Sends the request and reports events; returns the final gRPC status and message.
async fn run(
    cluster: &Cluster,
    request: Request<BoxBody>,
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
                buffer.extend_from_slice(&data);
                while let Some(message) = take_message(&mut buffer) {
                    on_event(GrpcEvent::Message(message));
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

/// The status message for a status the server sent, shaped as Envoy's async client reports it:
/// `via_upstream` for OK, else the raw (still percent-encoded) `grpc-message` followed by
/// `{via_upstream}`.
fn upstream_message(status: u32, trailers: &HeaderMap) -> Bytes {
    if status == code::OK {
        return Bytes::from_static(b"via_upstream");
    }
    let mut message = trailers.get(b"grpc-message").map(|m| m.to_vec()).unwrap_or_default();
    message.extend_from_slice(b"{via_upstream}");
    Bytes::from(message)
}

fn grpc_status(map: &HeaderMap) -> Option<u32> {
    map.get_str("grpc-status").and_then(|s| s.parse().ok())
}

fn take_message(buffer: &mut BytesMut) -> Option<Bytes> {
    if buffer.len() < 5 {
        return None;
    }
    let len = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
    if buffer.len() < 5 + len {
        return None;
    }
    buffer.advance(5);
    Some(buffer.split_to(len).freeze())
}

/// The gRPC status for a non-200 HTTP response (gRPC's HTTP-to-gRPC mapping).
pub fn status_for_http(status: u16) -> u32 {
    match status {
        400 => 13,
        401 => 16,
        403 => 7,
        404 => 12,
        429 | 502 | 503 | 504 => 14,
        _ => 2,
    }
}

fn deliver(worker: &Weak<WorkerServices>, instance: u64, token: u32, event: GrpcEvent) {
    let Some(vm) = worker.upgrade().and_then(|w| w.vm(instance)) else { return };
    let Ok(mut vm) = vm.try_borrow_mut() else {
        tracing::error!("gRPC callout {token}: VM busy, event dropped");
        return;
    };
    if let Err(error) = vm.on_grpc_event(token, event) {
        tracing::error!(vm_id = %vm.state().vm_id(), "gRPC callback failed: {error}");
    }
}

/// The request body of a stream: messages the guest sends, until it half-closes.
struct ChannelBody {
    rx: mpsc::UnboundedReceiver<StreamCommand>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        match self.rx.poll_recv(cx) {
            std::task::Poll::Ready(Some(StreamCommand::Send(data))) => {
                std::task::Poll::Ready(Some(Ok(http_body::Frame::data(data))))
            }
            std::task::Poll::Ready(Some(StreamCommand::Close) | None) => std::task::Poll::Ready(None),
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_unframes() {
        let mut buffer = BytesMut::new();
        buffer.extend_from_slice(&frame(b"hello"));
        buffer.extend_from_slice(&frame(b""));
        buffer.extend_from_slice(&frame(b"partial")[..6]);
        assert_eq!(take_message(&mut buffer).unwrap(), "hello");
        assert_eq!(take_message(&mut buffer).unwrap(), "");
        assert!(take_message(&mut buffer).is_none());
        assert_eq!(status_for_http(503), 14);
    }
}
