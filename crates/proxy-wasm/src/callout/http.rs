//! `proxy_http_call`: an HTTP request to a named cluster, run on the VM's worker, with the
//! headers Envoy's async client adds; the response (or failure, with no headers) is delivered
//! by `proxy_on_http_call_response`.

use std::rc::{Rc, Weak};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use weir_abi::Status;

use super::{CalloutKind, CalloutState};
use crate::embedder::CalloutCluster;
use crate::services::WorkerServices;
use crate::wasm::{Charge, HostState};
use weir_http::UpstreamError;
use weir_http::{HeaderMap, full_body};

/// Starts an HTTP callout for the effective context; returns its token. `size` (the request's
/// bytes) is held from the VM's in-flight budget until the callout ends, and so is its
/// response as it arrives (at most `limits.max_callout_bytes` of body: a larger one, or one
/// past the budget, fails the callout).
pub(crate) fn dispatch(
    state: &mut HostState,
    cluster: &str,
    mut headers: HeaderMap,
    body: Bytes,
    size: usize,
    timeout: Option<Duration>,
) -> Result<u32, Status> {
    let worker = state.env.worker.clone().ok_or(Status::BadArgument)?;
    let cluster = worker.clusters().cluster(cluster).ok_or(Status::BadArgument)?;
    for required in [&b":method"[..], b":path", b":authority"] {
        if headers.get(required).is_none_or(|v| v.is_empty()) {
            return Err(Status::BadArgument);
        }
    }
    scheme(&mut headers, cluster.as_ref(), state.vm_id())?;
    envoy_request_headers(&mut headers, timeout);
    let token = state.next_callout_token()?;
    let Some(charge) = state.in_flight.charge(size) else {
        return Err(state.limit_exceeded("max_callout_bytes_in_flight"));
    };
    let max_body = state.limits.max_callout_bytes;
    let instance = state.env.instance;
    let weak = Rc::downgrade(&worker);
    let task = tokio::task::spawn_local(async move {
        let call = run(cluster, headers, body, charge, max_body);
        let result = match timeout {
            Some(limit) => tokio::time::timeout(limit, call)
                .await
                .unwrap_or_else(|_| Ok(local_reply(&UpstreamError::Timeout))),
            None => call.await,
        };
        deliver(&weak, instance, token, result);
    });
    state.callouts.insert(token, state.effective_context, CalloutKind::Http, Some(task.abort_handle()));
    Ok(token)
}

/// `:scheme`: a callout asking for `https` to a cluster without TLS is refused (BadArgument)
/// rather than sent in cleartext; without one, a TLS cluster's callout says `https`.
/// Envoy sends such a callout in cleartext (`docs/abi-conformance.md`, "HTTP callouts").
fn scheme(headers: &mut HeaderMap, cluster: &dyn CalloutCluster, vm_id: &str) -> Result<(), Status> {
    match headers.get(b":scheme") {
        Some(s) if s.eq_ignore_ascii_case(b"https") && !cluster.tls() => {
            tracing::warn!(
                vm_id,
                cluster = %cluster.name(),
                "HTTP callout refused: `:scheme: https` to cluster `{}`, which has no `tls` (it would go out in cleartext)",
                cluster.name()
            );
            Err(Status::BadArgument)
        }
        None if cluster.tls() => {
            headers.set(":scheme", Bytes::from_static(b"https"));
            Ok(())
        }
        _ => Ok(()),
    }
}

/// What Envoy's async client adds to a callout request: `x-envoy-internal: true`, and the
/// router's `x-envoy-expected-rq-timeout-ms` when the call has a timeout.
fn envoy_request_headers(headers: &mut HeaderMap, timeout: Option<Duration>) {
    headers.set("x-envoy-internal", Bytes::from_static(b"true"));
    if let Some(timeout) = timeout {
        headers.set("x-envoy-expected-rq-timeout-ms", Bytes::from(timeout.as_millis().to_string()));
    }
}

/// Runs the call. Like Envoy's async client, a connection failure or timeout is answered with the
/// router's local reply (503 / 504) rather than a failed callout; only a reset after the
/// response started is a failure.
async fn run(
    cluster: Rc<dyn CalloutCluster>,
    headers: HeaderMap,
    body: Bytes,
    mut charge: Charge,
    max_body: usize,
) -> Result<CalloutState, String> {
    let request = weir_http::upstream_request(&headers, full_body(body), cluster.http2())?;
    let started = std::time::Instant::now();
    let response = match cluster.send(request).await {
        Ok(response) => response,
        Err(error) => return Ok(local_reply(&error)),
    };
    let (mut parts, body) = response.into_parts();
    let mut headers = weir_http::response_map(&mut parts);
    weir_http::add_service_time(&mut headers, started);
    headers.remove(b"transfer-encoding");
    let (body, trailers) = collect(body, &mut charge, max_body).await?;
    Ok(CalloutState { grpc: false, headers, body, trailers, status: 0, message: Bytes::new() })
}

/// Reads a response body of at most `max` bytes, each chunk held from the in-flight budget.
async fn collect(
    mut body: weir_http::BoxBody,
    charge: &mut Charge,
    max: usize,
) -> Result<(Bytes, HeaderMap), String> {
    let mut data = BytesMut::new();
    let mut trailers = HeaderMap::default();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| e.to_string())?;
        match frame.into_data() {
            Ok(chunk) => {
                if data.len() + chunk.len() > max {
                    return Err(format!("response body over limits.max_callout_bytes ({max})"));
                }
                if !charge.grow(chunk.len()) {
                    return Err("response over limits.max_callout_bytes_in_flight".into());
                }
                data.extend_from_slice(&chunk);
            }
            Err(frame) => {
                if let Ok(map) = frame.into_trailers() {
                    trailers = weir_http::header_map_from_http(map);
                }
            }
        }
    }
    Ok((data.freeze(), trailers))
}

fn local_reply(error: &UpstreamError) -> CalloutState {
    let (status, body, _) = error.local_reply();
    let mut headers = HeaderMap::with_capacity(3);
    headers.add(Bytes::from_static(b":status"), Bytes::from(status.to_string()));
    headers.add(Bytes::from_static(b"content-length"), Bytes::from(body.len().to_string()));
    headers.add(Bytes::from_static(b"content-type"), Bytes::from_static(b"text/plain"));
    CalloutState { headers, body: Bytes::from(body), ..CalloutState::default() }
}

fn deliver(worker: &Weak<WorkerServices>, instance: u64, token: u32, result: Result<CalloutState, String>) {
    let Some(vm) = worker.upgrade().and_then(|w| w.vm(instance)) else {
        return;
    };
    let Ok(mut vm) = vm.try_borrow_mut() else {
        tracing::error!("HTTP callout {token}: VM busy, response dropped");
        return;
    };
    if let Err(reason) = &result {
        tracing::debug!(vm_id = %vm.state().vm_id(), "HTTP callout {token} failed: {reason}");
    }
    if let Err(error) = vm.on_http_call_response(token, result.ok()) {
        tracing::error!(vm_id = %vm.state().vm_id(), "proxy_on_http_call_response failed: {error}");
    }
}
