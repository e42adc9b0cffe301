//! gRPC callouts over HTTP/2: unary calls (`proxy_grpc_call`) and streams
//! (`proxy_grpc_stream`, `proxy_grpc_send`, `proxy_grpc_close`, `proxy_grpc_cancel`).
//!
//! Delivery follows Envoy: a unary call ends in `proxy_on_grpc_receive` (success) or
//! `proxy_on_grpc_close` (failure, with the status); a stream gets initial metadata, each
//! message, trailing metadata, then `proxy_on_grpc_close`, worded as [`ending`] describes
//! (also for failures: a dead cluster, a reset, a timeout). A service and method that make an
//! invalid `:path` are accepted, and the call then fails with Envoy's protocol error. A
//! cancelled callout gets nothing more. A token stays valid during its last callback, and a
//! stream's until the plugin closes or cancels it (see [`super::GrpcStream`]).
//!
//! Bounded per VM: a message sent or received is at most `limits.max_callout_bytes`, and the
//! bytes a call holds (its request, messages queued on a stream, a message being received)
//! come out of the VM's `limits.max_callout_bytes_in_flight`.

mod ending;
mod exchange;
mod request;
mod wire;

use std::rc::{Rc, Weak};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use weir_abi::Status;

use super::{CalloutKind, GrpcStream};
use crate::embedder::CalloutCluster;
use crate::services::WorkerServices;
use crate::wasm::{Charge, HostState};
use ending::{Ending, Failure};
use weir_http::{HeaderMap, boxed};
pub use wire::frame;

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

fn cluster_of(state: &HostState, name: &str) -> Result<(Rc<WorkerServices>, Rc<dyn CalloutCluster>), Status> {
    let worker = state.env.worker.clone().ok_or(Status::ParseFailure)?;
    let cluster = worker.clusters().cluster(name).ok_or(Status::ParseFailure)?;
    Ok((worker, cluster))
}

/// Reserves `bytes` of the VM's in-flight budget (`InternalFailure`, counted, past it).
fn charge(state: &HostState, bytes: usize) -> Result<Charge, Status> {
    state.in_flight.charge(bytes).ok_or_else(|| state.limit_exceeded("max_callout_bytes_in_flight"))
}

/// The request, or the failure Envoy reports for a `:path` it cannot send.
fn build(
    cluster: &dyn CalloutCluster,
    service: &str,
    method: &str,
    metadata: &HeaderMap,
    timeout_ms: Option<u32>,
    body: weir_http::BoxBody,
) -> Result<Result<http::Request<weir_http::BoxBody>, Failure>, Status> {
    let Ok(uri) = request::uri(cluster, service, method) else {
        return Ok(Err(Failure::ProtocolError));
    };
    let request = request::head(uri, metadata, timeout_ms).body(body).map_err(|_| Status::BadArgument)?;
    Ok(Ok(request))
}

/// Starts a unary call; returns its token. `timeout_ms` as the guest gave it (unsigned; 0:
/// no deadline, though `grpc-timeout: 0m` is still sent, as Envoy does).
pub(crate) fn dispatch_call(
    state: &mut HostState,
    cluster: &str,
    service: &str,
    method: &str,
    metadata: HeaderMap,
    message: Bytes,
    timeout_ms: u32,
) -> Result<u32, Status> {
    let (worker, cluster) = cluster_of(state, cluster)?;
    let mut held = charge(state, message.len() + 5)?;
    let body = boxed(request::OneMessage(Some(frame(&message))));
    let request = build(&*cluster, service, method, &metadata, Some(timeout_ms), body)?;
    let token = state.next_callout_token()?;
    let (instance, weak) = (state.env.instance, Rc::downgrade(&worker));
    let max_message = state.limits.max_callout_bytes;
    let deadline = (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms.into()));
    let task = tokio::task::spawn_local(async move {
        let mut reply = None;
        let ending = match request {
            Err(failure) => Ending::Before(failure),
            Ok(request) => {
                let call = exchange::run(&*cluster, request, max_message, &mut held, |event| {
                    if let GrpcEvent::Message(m) = event {
                        reply.get_or_insert(m);
                    }
                });
                match deadline {
                    Some(limit) => tokio::time::timeout(limit, call).await.unwrap_or(Ending::Timeout),
                    None => call.await,
                }
            }
        };
        let (status, message) = ending.status();
        let outcome = match (status, reply) {
            (code::OK, Some(reply)) => GrpcEvent::Message(reply),
            // Envoy's unary client: OK without a message is INTERNAL, with no message.
            (code::OK, None) => GrpcEvent::Close { status: code::INTERNAL, message: Bytes::new() },
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
    let in_connection = Rc::new(std::cell::RefCell::new(None));
    let body = wire::ChannelBody { rx, in_connection: in_connection.clone() };
    let request = build(&*cluster, service, method, &metadata, None, boxed(body))?;
    let token = state.next_callout_token()?;
    let mut held = charge(state, 0)?;
    let (instance, weak) = (state.env.instance, Rc::downgrade(&worker));
    let max_message = state.limits.max_callout_bytes;
    let task = tokio::task::spawn_local(async move {
        let mut on_event = |event| deliver(&weak, instance, token, event);
        let ending = match request {
            Err(failure) => Ending::Before(failure),
            Ok(request) => exchange::run(&*cluster, request, max_message, &mut held, &mut on_event).await,
        };
        drop((held, in_connection));
        ending.report(&mut on_event);
        let (status, message) = ending.status();
        on_event(GrpcEvent::Close { status, message });
    });
    let stream = GrpcStream { sender: Some(tx), ..GrpcStream::default() };
    state.callouts.insert(
        token,
        state.effective_context,
        CalloutKind::GrpcStream(stream),
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
    let CalloutKind::GrpcStream(stream) = &pending.kind else {
        return Err(Status::NotFound);
    };
    // Closed by the upstream: nothing more goes out.
    if stream.remote_closed.is_some() {
        return Err(Status::NotFound);
    }
    if stream.sender.is_none() {
        return Err(Status::BadArgument);
    }
    if message.len() > state.limits.max_callout_bytes {
        state.limit_exceeded("max_callout_bytes");
        return Err(Status::BadArgument);
    }
    let held = charge(state, message.len() + 5).map_err(|_| Status::BadArgument)?;
    let Some(pending) = state.callouts.get_mut(token) else { return Err(Status::NotFound) };
    let CalloutKind::GrpcStream(stream) = &mut pending.kind else {
        return Err(Status::NotFound);
    };
    let Some(tx) = &stream.sender else { return Err(Status::BadArgument) };
    // The stream ended and its close is on the way: it is gone.
    tx.send(StreamCommand::Send(frame(message), held)).map_err(|_| Status::NotFound)?;
    if end_stream {
        let _ = tx.send(StreamCommand::Close);
        stream.sender = None;
    }
    Ok(())
}

/// `proxy_grpc_close`: half-closes a stream (and forgets it once the upstream closed it
/// too); cancels a unary call.
pub(crate) fn close(state: &mut HostState, token: u32) -> Result<(), Status> {
    let pending = state.callouts.get_mut(token).ok_or(Status::NotFound)?;
    match &mut pending.kind {
        CalloutKind::GrpcStream(stream) if stream.remote_closed.is_some() => {
            state.callouts.take(token);
            Ok(())
        }
        CalloutKind::GrpcStream(stream) => {
            stream.local_closed = true;
            if let Some(tx) = stream.sender.take() {
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

/// `proxy_grpc_cancel`: stops a call or stream (also from its own callbacks, and a stream the
/// upstream closed); no callback follows.
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
