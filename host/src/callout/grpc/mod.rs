//! gRPC callouts over HTTP/2: unary calls (`proxy_grpc_call`) and streams
//! (`proxy_grpc_stream`, `proxy_grpc_send`, `proxy_grpc_close`, `proxy_grpc_cancel`).
//!
//! Delivery follows Envoy: a unary call ends in `proxy_on_grpc_receive` (success) or
//! `proxy_on_grpc_close` (failure, with the status); a stream gets initial metadata, each
//! message, trailing metadata, then `proxy_on_grpc_close`. A cancelled callout gets nothing.
//! Transport failures and timeouts are status 14 (UNAVAILABLE), as Envoy reports them (a
//! timeout's message is `upstream request timeout{response_timeout}`).
//!
//! Bounded per VM: a message sent or received is at most `limits.max_callout_bytes`, and the
//! bytes a call holds (its request, messages queued on a stream, a message being received)
//! come out of the VM's `limits.max_callout_bytes_in_flight`.

mod exchange;
mod wire;

use std::rc::{Rc, Weak};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Version};
use tokio::sync::mpsc;
use weir_abi::Status;

use super::CalloutKind;
use crate::services::WorkerServices;
use crate::upstream::Cluster;
use crate::wasm::{Charge, HostState};
use weir_http::{HeaderMap, boxed, full_body};
pub use wire::frame;

/// The message of a call that ran out of time, as Envoy gives it.
const TIMEOUT_MESSAGE: &[u8] = b"upstream request timeout{response_timeout}";

/// gRPC status codes used by the host itself.
pub use weir_http::grpc_status::code;

/// What the guest asks of an open stream.
#[derive(Debug)]
pub enum StreamCommand {
    /// Send one message (already framed), holding its bytes from the VM's budget.
    Send(Bytes, Charge),
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

/// Reserves `bytes` of the VM's in-flight budget (`InternalFailure`, counted, past it).
fn charge(state: &HostState, bytes: usize) -> Result<Charge, Status> {
    state.in_flight.charge(bytes).ok_or_else(|| state.limit_exceeded("max_callout_bytes_in_flight"))
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
    let mut held = charge(state, message.len() + 5)?;
    let request = request_for(&cluster, service, method, &metadata, timeout)
        .body(full_body(frame(&message)))
        .map_err(|_| Status::BadArgument)?;
    let token = state.next_callout_token()?;
    let (instance, weak) = (state.env.instance, Rc::downgrade(&worker));
    let max_message = state.limits.max_callout_bytes;
    let task = tokio::task::spawn_local(async move {
        let mut reply = None;
        let call = exchange::run(&cluster, request, max_message, &mut held, |event| {
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
        drop(held);
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
        .body(boxed(wire::ChannelBody { rx }))
        .map_err(|_| Status::BadArgument)?;
    let token = state.next_callout_token()?;
    let mut held = charge(state, 0)?;
    let (instance, weak) = (state.env.instance, Rc::downgrade(&worker));
    let max_message = state.limits.max_callout_bytes;
    let task = tokio::task::spawn_local(async move {
        let (status, message) = exchange::run(&cluster, request, max_message, &mut held, |event| {
            deliver(&weak, instance, token, event)
        })
        .await;
        drop(held);
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

/// `proxy_grpc_send`: queues a message on an open stream; `end_stream` half-closes it. A
/// message over `limits.max_callout_bytes`, or past the in-flight budget while earlier ones
/// wait, is `BadArgument` (the one refusal the Rust SDK does not panic on here).
pub(crate) fn send(
    state: &mut HostState,
    token: u32,
    message: &[u8],
    end_stream: bool,
) -> Result<(), Status> {
    // As Envoy: a token that is not an open stream is NotFound (the Rust SDK panics on
    // anything but Ok, BadArgument and NotFound here).
    let pending = state.callouts.get(token).ok_or(Status::NotFound)?;
    let CalloutKind::GrpcStream(sender) = &pending.kind else {
        return Err(Status::NotFound);
    };
    if sender.is_none() {
        return Err(Status::BadArgument);
    }
    if message.len() > state.limits.max_callout_bytes {
        state.limit_exceeded("max_callout_bytes");
        return Err(Status::BadArgument);
    }
    let held = charge(state, message.len() + 5).map_err(|_| Status::BadArgument)?;
    let Some(pending) = state.callouts.get_mut(token) else { return Err(Status::NotFound) };
    let CalloutKind::GrpcStream(Some(tx)) = &mut pending.kind else {
        return Err(Status::NotFound);
    };
    // The stream ended and its close is on the way: it is gone.
    tx.send(StreamCommand::Send(frame(message), held)).map_err(|_| Status::NotFound)?;
    if end_stream {
        let _ = tx.send(StreamCommand::Close);
        pending.kind = CalloutKind::GrpcStream(None);
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
