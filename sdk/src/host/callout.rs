//! HTTP and gRPC callouts and foreign functions. Starting a callout returns the host's token;
//! the context methods that call these ([`crate::traits::Context`]) register the token with the
//! dispatcher, so the answer is delivered to the context that asked.

#![allow(unsafe_code)]

use std::ptr::null_mut;
use std::time::Duration;

use weir_abi::Status;

use super::{Value, owned, raw, status, text};

fn millis(timeout: Duration) -> u32 {
    u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX)
}

fn pairs(pairs: &[(&str, &[u8])]) -> Vec<u8> {
    let mut encoded = Vec::new();
    weir_abi::encode_pairs(pairs, &mut encoded);
    encoded
}

/// `proxy_http_call`: an HTTP request to cluster `upstream`; returns the token.
pub(crate) fn http_call(
    upstream: &str,
    headers: &[(&str, &[u8])],
    body: Option<&[u8]>,
    trailers: &[(&str, &[u8])],
    timeout: Duration,
) -> Result<u32, Status> {
    let (headers, trailers, body) = (pairs(headers), pairs(trailers), body.unwrap_or_default());
    let mut token = 0;
    // SAFETY: valid slices and pointer.
    status(unsafe {
        raw::proxy_http_call(
            upstream.as_ptr(),
            upstream.len(),
            headers.as_ptr(),
            headers.len(),
            body.as_ptr(),
            body.len(),
            trailers.as_ptr(),
            trailers.len(),
            millis(timeout),
            &mut token,
        )
    })?;
    Ok(token)
}

/// `proxy_grpc_call`: a unary gRPC call; returns the token.
pub(crate) fn grpc_call(
    upstream: &str,
    service: &str,
    method: &str,
    metadata: &[(&str, &[u8])],
    message: Option<&[u8]>,
    timeout: Duration,
) -> Result<u32, Status> {
    let (metadata, message) = (pairs(metadata), message.unwrap_or_default());
    let mut token = 0;
    // SAFETY: valid slices and pointer.
    status(unsafe {
        raw::proxy_grpc_call(
            upstream.as_ptr(),
            upstream.len(),
            service.as_ptr(),
            service.len(),
            method.as_ptr(),
            method.len(),
            metadata.as_ptr(),
            metadata.len(),
            message.as_ptr(),
            message.len(),
            millis(timeout),
            &mut token,
        )
    })?;
    Ok(token)
}

/// `proxy_grpc_stream`: opens a gRPC stream; returns the token.
pub(crate) fn grpc_stream(
    upstream: &str,
    service: &str,
    method: &str,
    metadata: &[(&str, &[u8])],
) -> Result<u32, Status> {
    let metadata = pairs(metadata);
    let mut token = 0;
    // SAFETY: valid slices and pointer.
    status(unsafe {
        raw::proxy_grpc_stream(
            upstream.as_ptr(),
            upstream.len(),
            service.as_ptr(),
            service.len(),
            method.as_ptr(),
            method.len(),
            metadata.as_ptr(),
            metadata.len(),
            &mut token,
        )
    })?;
    Ok(token)
}

/// Sends a message on a gRPC stream (`end_stream`: half-closes it).
pub fn grpc_send(token: u32, message: Option<&[u8]>, end_stream: bool) -> Result<(), Status> {
    let message = message.unwrap_or_default();
    // SAFETY: valid slice.
    status(unsafe { raw::proxy_grpc_send(token, message.as_ptr(), message.len(), u32::from(end_stream)) })
}

/// Cancels a gRPC call or stream (no further callbacks for it).
pub fn grpc_cancel(token: u32) -> Result<(), Status> {
    // SAFETY: plain call.
    status(unsafe { raw::proxy_grpc_cancel(token) })
}

/// Closes a gRPC stream (its close callback follows).
pub fn grpc_close(token: u32) -> Result<(), Status> {
    // SAFETY: plain call.
    status(unsafe { raw::proxy_grpc_close(token) })
}

/// The gRPC status (and message) of the callout being delivered.
pub fn grpc_status() -> Result<(u32, Option<String>), Status> {
    let (mut code, mut ptr, mut size) = (0u32, null_mut(), 0usize);
    // SAFETY: valid pointers to locals.
    let s = unsafe { raw::proxy_get_status(&mut code, &mut ptr, &mut size) };
    Ok((code, owned(s, ptr, size)?.map(|m| text(&m.0))))
}

/// Calls a host function by name (`proxy_call_foreign_function`).
pub fn call_foreign_function(name: &str, arguments: Option<&[u8]>) -> Result<Option<Value>, Status> {
    let arguments = arguments.unwrap_or_default();
    let (mut ptr, mut size) = (null_mut(), 0usize);
    // SAFETY: valid slices and pointers to locals.
    let s = unsafe {
        raw::proxy_call_foreign_function(
            name.as_ptr(),
            name.len(),
            arguments.as_ptr(),
            arguments.len(),
            &mut ptr,
            &mut size,
        )
    };
    owned(s, ptr, size)
}
