//! `proxy_http_call`. As in Envoy, a negative timeout is `BadArgument` and 0 means none.

use std::time::Duration;

use bytes::Bytes;
use wasmtime::{Caller, Linker};
use weir_abi::{Status, decode_pairs};

use super::ENV;
use crate::callout;
use crate::wasm::HostState;
use crate::wasm::memory::{self, HostResult, status};
use weir_http::HeaderMap;

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(ENV, "proxy_http_call", http_call)?;
    Ok(())
}

/// Decodes a pairs buffer from guest memory into a header map.
pub(super) fn read_pairs(caller: &Caller<'_, HostState>, ptr: i32, len: i32) -> Result<HeaderMap, Status> {
    let raw = memory::read(caller, ptr, len)?;
    let pairs = decode_pairs(&raw).map_err(|_| Status::BadArgument)?;
    let mut map = HeaderMap::with_capacity(pairs.len());
    for (k, v) in pairs {
        map.add(Bytes::copy_from_slice(k), Bytes::copy_from_slice(v));
    }
    Ok(map)
}

#[allow(clippy::too_many_arguments)]
fn http_call(
    mut caller: Caller<'_, HostState>,
    up_ptr: i32,
    up_len: i32,
    headers_ptr: i32,
    headers_len: i32,
    body_ptr: i32,
    body_len: i32,
    trailers_ptr: i32,
    trailers_len: i32,
    timeout_ms: i32,
    token_ptr: i32,
) -> HostResult {
    let started = (|| {
        // The Rust SDK hands over `as_millis() as u32`: a huge Duration arrives negative, and
        // Envoy refuses it; 0 is "no timeout".
        if timeout_ms < 0 {
            return Err(Status::BadArgument);
        }
        let cluster =
            String::from_utf8(memory::read(&caller, up_ptr, up_len)?).map_err(|_| Status::BadArgument)?;
        // Sized before anything is copied out of the guest.
        let size = [headers_len, body_len, trailers_len].iter().map(|n| *n as u32 as usize).sum::<usize>();
        if size > caller.data().limits.max_callout_bytes {
            caller.data().limit_exceeded("max_callout_bytes");
            return Err(Status::BadArgument);
        }
        let headers = read_pairs(&caller, headers_ptr, headers_len)?;
        let body = Bytes::from(memory::read(&caller, body_ptr, body_len)?);
        // Request trailers are accepted and ignored (Envoy's async client sends none either).
        let _trailers = read_pairs(&caller, trailers_ptr, trailers_len)?;
        let timeout = (timeout_ms > 0).then(|| Duration::from_millis(timeout_ms.unsigned_abs().into()));
        callout::http::dispatch(caller.data_mut(), &cluster, headers, body, size, timeout)
    })();
    match started {
        Ok(token) => Ok(status(memory::write_u32(&mut caller, token_ptr, token))),
        Err(s) => Ok(s.raw() as i32),
    }
}
