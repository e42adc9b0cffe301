//! Stream control: `proxy_continue_stream`, `proxy_close_stream`, `proxy_send_local_response`,
//! and 0.1.0's `proxy_continue_request`, `proxy_continue_response`, `proxy_clear_route_cache`.
//!
//! These only record what the plugin asked and wake the stream; the stream driver acts once the
//! callback has returned (as Envoy defers actions until after the VM call).

use bytes::Bytes;
use wasmtime::{Caller, Linker};
use weir_abi::{Status, StreamType, decode_pairs};

use super::ENV;
use crate::wasm::HostState;
use crate::wasm::memory::{self, HostResult, status};
use weir_http::{HttpStream, LocalReply};

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        ENV,
        "proxy_continue_stream",
        |mut c: Caller<'_, HostState>, kind: i32| -> HostResult {
            Ok(status(continue_stream(c.data_mut(), kind as u32)))
        },
    )?;
    linker.func_wrap(ENV, "proxy_close_stream", |mut c: Caller<'_, HostState>, kind: i32| -> HostResult {
        Ok(status(close_stream(c.data_mut(), kind as u32)))
    })?;
    linker.func_wrap(ENV, "proxy_continue_request", |mut c: Caller<'_, HostState>| -> HostResult {
        Ok(status(continue_stream(c.data_mut(), StreamType::Request.raw())))
    })?;
    linker.func_wrap(ENV, "proxy_continue_response", |mut c: Caller<'_, HostState>| -> HostResult {
        Ok(status(continue_stream(c.data_mut(), StreamType::Response.raw())))
    })?;
    linker.func_wrap(ENV, "proxy_clear_route_cache", |mut c: Caller<'_, HostState>| -> HostResult {
        Ok(status(with_stream(c.data_mut(), |s| s.clear_route_cache = true)))
    })?;
    linker.func_wrap(ENV, "proxy_send_local_response", send_local_response)?;
    Ok(())
}

/// Runs `f` on the effective HTTP context's stream and wakes its driver. Root contexts have no
/// stream: Envoy answers `Ok` and does nothing.
fn with_stream(state: &mut HostState, f: impl FnOnce(&mut HttpStream)) -> Result<(), Status> {
    if let Some(stream) = state.effective_stream() {
        f(&mut stream.data.borrow_mut());
        stream.wake.notify_one();
    }
    Ok(())
}

/// Continuing lets go of the request's maps and body: the context can no longer touch them
/// (Envoy drops those pointers on either direction's continue).
fn continue_stream(state: &mut HostState, kind: u32) -> Result<(), Status> {
    if state.effective_is_network() {
        return match StreamType::from_raw(kind) {
            // Reading resumes once the callback returned (Envoy's `continueReading`).
            Some(StreamType::Downstream) => with_stream(state, |s| s.continue_request = true),
            Some(StreamType::Upstream) => Err(Status::Unimplemented),
            // No HTTP stream in a network filter: Envoy answers Ok and does nothing.
            Some(StreamType::Request | StreamType::Response) => Ok(()),
            None => Err(Status::BadArgument),
        };
    }
    match StreamType::from_raw(kind) {
        Some(StreamType::Request) => {
            if let Some(a) = state.effective_access_mut() {
                (a.request_headers, a.request_body, a.request_trailers) = (false, false, false);
            }
            with_stream(state, |s| s.continue_request = true)
        }
        // Envoy lets go of the request parts here too (and keeps the response ones).
        Some(StreamType::Response) => {
            if let Some(a) = state.effective_access_mut() {
                (a.request_headers, a.request_body, a.request_trailers) = (false, false, false);
            }
            with_stream(state, |s| s.continue_response = true)
        }
        // TCP streams do not exist in HTTP filters: Envoy accepts Downstream as a no-op.
        Some(StreamType::Downstream) => Ok(()),
        Some(StreamType::Upstream) => Err(Status::Unimplemented),
        None => Err(Status::BadArgument),
    }
}

fn close_stream(state: &mut HostState, kind: u32) -> Result<(), Status> {
    if state.effective_is_network() {
        return match StreamType::from_raw(kind) {
            // Either closes the client's connection once the callback returned, after what is
            // already written to it (Envoy closes the downstream connection with FlushWrite for
            // both: its write filter sits on that connection too).
            Some(StreamType::Downstream | StreamType::Upstream) => {
                with_stream(state, |s| s.close_requested = true)
            }
            Some(StreamType::Request | StreamType::Response) => Ok(()),
            None => Err(Status::BadArgument),
        };
    }
    match StreamType::from_raw(kind) {
        Some(StreamType::Request | StreamType::Response) => with_stream(state, |s| s.close_requested = true),
        // No TCP connection to close in an HTTP filter: Envoy answers Ok and does nothing.
        Some(StreamType::Downstream | StreamType::Upstream) => Ok(()),
        None => Err(Status::BadArgument),
    }
}

/// Longest response code details a local reply may carry.
const MAX_DETAILS: usize = 4096;

#[allow(clippy::too_many_arguments)]
fn send_local_response(
    mut caller: Caller<'_, HostState>,
    status_code: i32,
    details_ptr: i32,
    details_len: i32,
    body_ptr: i32,
    body_len: i32,
    headers_ptr: i32,
    headers_len: i32,
    grpc_status: i32,
) -> HostResult {
    // Sized before anything is copied: the body at most the listener's `buffer_limit_bytes`,
    // the headers within the plugin's header-map limits, the details a short string.
    let body_limit = caller.data().effective_stream().map_or(0, |s| s.data.borrow().info.body_limit);
    let limits = caller.data().limits;
    let over = if body_len as u32 as usize > body_limit.max(1024) {
        Some("buffer_limit_bytes")
    } else if headers_len as u32 as usize
        > limits.max_header_map_bytes + 10 * limits.max_header_map_entries + 4
    {
        Some("max_header_map_bytes")
    } else if details_len as u32 as usize > MAX_DETAILS {
        Some("response_code_details")
    } else {
        None
    };
    if let Some(limit) = over {
        caller.data().limit_exceeded(limit);
        return Ok(Status::BadArgument.raw() as i32);
    }
    let details = match memory::read(&caller, details_ptr, details_len) {
        Ok(d) => String::from_utf8_lossy(&d).replace(' ', "_"),
        Err(s) => return Ok(s.raw() as i32),
    };
    let body = match memory::read(&caller, body_ptr, body_len) {
        Ok(b) => Bytes::from(b),
        Err(s) => return Ok(s.raw() as i32),
    };
    let headers = match memory::read(&caller, headers_ptr, headers_len) {
        Ok(raw) => match decode_pairs(&raw) {
            Ok(pairs) => pairs
                .into_iter()
                .map(|(k, v)| (Bytes::copy_from_slice(&k.to_ascii_lowercase()), Bytes::copy_from_slice(v)))
                .collect(),
            Err(_) => return Ok(Status::BadArgument.raw() as i32),
        },
        Err(s) => return Ok(s.raw() as i32),
    };
    let state = caller.data_mut();
    // From a root context there is no stream to answer: Envoy accepts the call and does nothing.
    let reply = LocalReply { status: status_code as u32, body, headers, grpc_status, details };
    Ok(status(with_stream(state, |s| s.local_reply = Some(reply))))
}
