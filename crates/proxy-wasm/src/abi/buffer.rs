//! `proxy_get_buffer_bytes`, `proxy_set_buffer_bytes`, `proxy_get_buffer_status`, and 0.1.0's
//! `proxy_get_configuration`.
//!
//! Bodies are the chunk (or everything buffered) the current body callback sees; a TCP
//! connection's data (`DownstreamData`, `UpstreamData`) what its data callback sees. Writes follow
//! Envoy: `start == 0` drains `length` bytes and prepends the data (so `(0, len)` replaces all),
//! `start >= size` appends, anything else is `BadArgument`.

use wasmtime::{Caller, Linker};
use weir_abi::{BufferType, Status};

use super::ENV;
use crate::wasm::HostState;
use crate::wasm::memory::{self, HostResult, status};
use weir_http::ByteView;

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(ENV, "proxy_get_buffer_bytes", get_buffer_bytes)?;
    linker.func_wrap(ENV, "proxy_set_buffer_bytes", set_buffer_bytes)?;
    linker.func_wrap(ENV, "proxy_get_buffer_status", get_buffer_status)?;
    linker.func_wrap(
        ENV,
        "proxy_get_configuration",
        |mut caller: Caller<'_, HostState>, ptr_ptr: i32, size_ptr: i32| -> HostResult {
            let kind = BufferType::PluginConfiguration as u32;
            match with_buffer(caller.data(), kind, |b| b.len()) {
                Ok(len) => copy_out_range(&mut caller, kind, (0, len), ptr_ptr, size_ptr),
                Err(s) => Ok(s.raw() as i32),
            }
        },
    )?;
    Ok(())
}

/// Runs `f` on the current content of a buffer (borrowed, not copied, and a buffered body not
/// gathered), or gives Envoy's status for an unavailable one.
fn with_buffer<R>(state: &HostState, kind: u32, f: impl FnOnce(ByteView<'_>) -> R) -> Result<R, Status> {
    let kind = BufferType::from_raw(kind).ok_or(Status::BadArgument)?;
    let bytes = match kind {
        BufferType::HttpRequestBody | BufferType::HttpResponseBody => {
            if state.effective_is_network() {
                return Err(Status::NotFound);
            }
            let stream = state.effective_stream().ok_or(Status::NotFound)?;
            let data = stream.data.borrow();
            let body =
                if kind == BufferType::HttpRequestBody { &data.request_body } else { &data.response_body };
            return Ok(f(body.view()));
        }
        // A connection's data, during the callback that delivers it and while the context
        // holds it paused (Envoy holds the buffer's pointer only then; it reads as empty
        // otherwise, and in contexts that have no connection).
        BufferType::DownstreamData | BufferType::UpstreamData => {
            let downstream = kind == BufferType::DownstreamData;
            let open = state
                .effective_access()
                .is_some_and(|a| if downstream { a.request_body } else { a.response_body });
            if !state.effective_is_network() || !open {
                return Ok(f(ByteView::Whole(&[])));
            }
            let stream = state.effective_stream().ok_or(Status::NotFound)?;
            let data = stream.data.borrow();
            let bytes = if downstream { &data.request_body } else { &data.response_body };
            return Ok(f(bytes.view()));
        }
        BufferType::HttpCallResponseBody => {
            state.callout_response.as_ref().filter(|c| !c.grpc).map(|c| &c.body).ok_or(Status::NotFound)?
        }
        // Envoy's gRPC receive buffer always exists (empty outside a gRPC callback).
        BufferType::GrpcReceiveBuffer => match state.callout_response.as_ref().filter(|c| c.grpc) {
            Some(c) => &c.body,
            None => return Ok(f(ByteView::Whole(&[]))),
        },
        BufferType::VmConfiguration => &state.env.vm_configuration,
        // Only while the plugin is being started or configured (Envoy's `temp_plugin_`).
        BufferType::PluginConfiguration => state
            .root_of(state.effective_context)
            .filter(|_| state.configuring)
            .map(|r| &r.configuration)
            .ok_or(Status::NotFound)?,
        BufferType::CallData => match &state.call_data {
            Some(data) => data,
            None => return Ok(f(ByteView::Whole(&[]))),
        },
    };
    Ok(f(ByteView::Whole(bytes)))
}

/// Copies bytes `start..end` of a buffer into fresh guest memory (see
/// [`memory::copy_out_with`]), straight from where the host holds them.
fn copy_out_range(
    caller: &mut Caller<'_, HostState>,
    kind: u32,
    (start, end): (usize, usize),
    ptr_ptr: i32,
    size_ptr: i32,
) -> HostResult {
    // The guest's allocator runs between measuring and copying; it makes no hostcalls, so the
    // buffer cannot change, but a shorter one is refused rather than trusted.
    let fill = |state: &HostState, dst: &mut [u8]| {
        with_buffer(state, kind, |b| b.copy_range(start, dst))?.then_some(()).ok_or(Status::InternalFailure)
    };
    Ok(status(memory::copy_out_with(caller, end - start, fill, ptr_ptr, size_ptr)?))
}

fn get_buffer_bytes(
    mut caller: Caller<'_, HostState>,
    kind: i32,
    start: i32,
    max: i32,
    ptr_ptr: i32,
    size_ptr: i32,
) -> HostResult {
    let start = start as u32 as usize;
    let Some(end) = start.checked_add(max as u32 as usize) else {
        return Ok(Status::BadArgument.raw() as i32);
    };
    let end = match with_buffer(caller.data(), kind as u32, |b| end.min(b.len())) {
        Ok(end) => end,
        Err(s) => return Ok(s.raw() as i32),
    };
    if start >= end {
        // Envoy writes nothing and answers Ok for an empty range.
        return Ok(Status::Ok.raw() as i32);
    }
    copy_out_range(&mut caller, kind as u32, (start, end), ptr_ptr, size_ptr)
}

fn get_buffer_status(
    mut caller: Caller<'_, HostState>,
    kind: i32,
    len_ptr: i32,
    flags_ptr: i32,
) -> HostResult {
    let len = match with_buffer(caller.data(), kind as u32, |b| b.len() as u32) {
        Ok(len) => len,
        Err(s) => return Ok(s.raw() as i32),
    };
    if let Err(s) = memory::write_u32(&mut caller, len_ptr, len) {
        return Ok(s.raw() as i32);
    }
    Ok(status(memory::write_u32(&mut caller, flags_ptr, 0)))
}

fn set_buffer_bytes(
    mut caller: Caller<'_, HostState>,
    kind: i32,
    start: i32,
    len: i32,
    data_ptr: i32,
    data_len: i32,
) -> HostResult {
    let result = memory::with_bytes(&mut caller, data_ptr, data_len, |data, state| {
        let kind = BufferType::from_raw(kind as u32).ok_or(Status::BadArgument)?;
        let network = state.effective_is_network();
        let request = match kind {
            BufferType::HttpRequestBody if !network => true,
            BufferType::HttpResponseBody if !network => false,
            BufferType::DownstreamData if network => true,
            BufferType::UpstreamData if network => false,
            _ => return Err(Status::BadArgument),
        };
        // Only a body the context holds now (its body callback, or while it buffers), or the
        // connection data of the current callback, can be written; Envoy has no buffer behind
        // the call otherwise.
        let access = state.effective_access().ok_or(Status::BadArgument)?;
        if !(if request { access.request_body } else { access.response_body }) {
            return Err(Status::BadArgument);
        }
        let stream = state.effective_stream().ok_or(Status::NotFound)?;
        let mut stream = stream.data.borrow_mut();
        let limit = stream.info.body_limit;
        let body = if request { &mut stream.request_body } else { &mut stream.response_body };
        // The body as it would be: `start == 0` drains `len` and prepends, else appends.
        let (current, start, len) = (body.len(), start as u32 as usize, len as u32 as usize);
        let after = if start == 0 { current - len.min(current) } else { current } + data.len();
        if after > limit && after > current {
            state.limit_exceeded("buffer_limit_bytes");
            return Err(Status::BadArgument);
        }
        if body.splice(start, len, data) { Ok(()) } else { Err(Status::BadArgument) }
    });
    Ok(status(result.and_then(|r| r)))
}
