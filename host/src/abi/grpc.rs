//! gRPC callouts: `proxy_grpc_call`, `proxy_grpc_stream`, `proxy_grpc_send`,
//! `proxy_grpc_cancel`, `proxy_grpc_close`, and `proxy_get_status`.
//!
//! Not implemented yet: the calls return `Unimplemented` (listed in `docs/abi-conformance.md`),
//! `proxy_get_status` answers as Envoy does outside a callout.

use wasmtime::{Caller, Linker};
use weir_abi::Status;

use super::ENV;
use crate::wasm::HostState;
use crate::wasm::memory::{self, HostResult, status};

const UNIMPLEMENTED: i32 = Status::Unimplemented as i32;

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        ENV,
        "proxy_grpc_call",
        |_: Caller<'_, HostState>,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32,
         _: i32| UNIMPLEMENTED,
    )?;
    linker.func_wrap(
        ENV,
        "proxy_grpc_stream",
        |_: Caller<'_, HostState>, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32| {
            UNIMPLEMENTED
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_grpc_send",
        |_: Caller<'_, HostState>, _: i32, _: i32, _: i32, _: i32| UNIMPLEMENTED,
    )?;
    linker.func_wrap(ENV, "proxy_grpc_cancel", |_: Caller<'_, HostState>, _: i32| UNIMPLEMENTED)?;
    linker.func_wrap(ENV, "proxy_grpc_close", |_: Caller<'_, HostState>, _: i32| UNIMPLEMENTED)?;
    linker.func_wrap(ENV, "proxy_get_status", get_status)?;
    Ok(())
}

fn get_status(
    mut caller: Caller<'_, HostState>,
    code_ptr: i32,
    msg_ptr_ptr: i32,
    msg_size_ptr: i32,
) -> HostResult {
    let (code, message) = match &caller.data().callout_response {
        Some(c) => (c.status, c.message.clone()),
        None => (0, bytes::Bytes::new()),
    };
    if let Err(s) = memory::write_u32(&mut caller, code_ptr, code) {
        return Ok(s.raw() as i32);
    }
    match memory::copy_out(&mut caller, &message, msg_ptr_ptr, msg_size_ptr)? {
        Ok(()) => Ok(status(Ok(()))),
        Err(s) => Ok(s.raw() as i32),
    }
}
