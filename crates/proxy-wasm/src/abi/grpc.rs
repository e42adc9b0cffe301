//! gRPC callouts: `proxy_grpc_call`, `proxy_grpc_stream`, `proxy_grpc_send`,
//! `proxy_grpc_cancel`, `proxy_grpc_close`, and `proxy_get_status`.
//!
//! The `service` argument is a cluster name, or (as Envoy accepts) a serialized
//! `envoy.config.core.v3.GrpcService` whose `envoy_grpc.cluster_name` names the cluster. An
//! unknown cluster is `ParseFailure` at once, with no callback (Envoy). A unary call's
//! timeout is unsigned milliseconds, 0 for none.

use bytes::Bytes;
use wasmtime::{Caller, Linker};
use weir_abi::Status;

use super::ENV;
use super::http_call::read_pairs;
use super::proto::proto_strings;
use crate::callout::grpc;
use crate::wasm::HostState;
use crate::wasm::memory::{self, HostResult, status};

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(ENV, "proxy_grpc_call", grpc_call)?;
    linker.func_wrap(ENV, "proxy_grpc_stream", grpc_stream)?;
    linker.func_wrap(
        ENV,
        "proxy_grpc_send",
        |mut c: Caller<'_, HostState>, token: i32, mp: i32, ms: i32, end: i32| -> HostResult {
            let result = memory::with_bytes(&mut c, mp, ms, |message, state| {
                grpc::send(state, token as u32, message, end != 0)
            });
            Ok(status(result.and_then(|r| r)))
        },
    )?;
    linker.func_wrap(ENV, "proxy_grpc_cancel", |mut c: Caller<'_, HostState>, token: i32| -> HostResult {
        Ok(status(grpc::cancel(c.data_mut(), token as u32)))
    })?;
    linker.func_wrap(ENV, "proxy_grpc_close", |mut c: Caller<'_, HostState>, token: i32| -> HostResult {
        Ok(status(grpc::close(c.data_mut(), token as u32)))
    })?;
    linker.func_wrap(ENV, "proxy_get_status", get_status)?;
    Ok(())
}

/// The cluster a `service` argument names.
fn cluster_name(service: &[u8]) -> Result<String, Status> {
    let from_proto = proto_strings(service)
        .and_then(|fields| fields.into_iter().find(|(n, _)| *n == 1))
        .and_then(|(_, envoy_grpc)| proto_strings(&envoy_grpc))
        .and_then(|fields| fields.into_iter().find(|(n, _)| *n == 1))
        .map(|(_, name)| name);
    let name = from_proto.unwrap_or_else(|| service.to_vec());
    String::from_utf8(name).map_err(|_| Status::ParseFailure)
}

/// A call's metadata and message must fit `limits.max_callout_bytes` (checked before
/// anything is copied out of the guest): `BadArgument` past it.
fn check_size(caller: &Caller<'_, HostState>, lens: [i32; 2]) -> Result<(), Status> {
    let size = lens.iter().map(|n| *n as u32 as usize).sum::<usize>();
    if size > caller.data().limits.max_callout_bytes {
        caller.data().limit_exceeded("max_callout_bytes");
        return Err(Status::BadArgument);
    }
    Ok(())
}

fn text(caller: &Caller<'_, HostState>, ptr: i32, len: i32) -> Result<String, Status> {
    String::from_utf8(memory::read(caller, ptr, len)?).map_err(|_| Status::BadArgument)
}

#[allow(clippy::too_many_arguments)]
fn grpc_call(
    mut caller: Caller<'_, HostState>,
    sp: i32,
    ss: i32,
    np: i32,
    ns: i32,
    mp: i32,
    ms: i32,
    hp: i32,
    hs: i32,
    bp: i32,
    bs: i32,
    timeout_ms: i32,
    token_ptr: i32,
) -> HostResult {
    let started = (|| {
        let cluster = cluster_name(&memory::read(&caller, sp, ss)?)?;
        let service = text(&caller, np, ns)?;
        let method = text(&caller, mp, ms)?;
        check_size(&caller, [hs, bs])?;
        let metadata = read_pairs(&caller, hp, hs)?;
        let message = Bytes::from(memory::read(&caller, bp, bs)?);
        // Unsigned, as Envoy reads it: the Rust SDK's `as_millis() as u32` of a huge Duration
        // is a long timeout here, not an error (unlike `proxy_http_call`).
        let timeout_ms = timeout_ms as u32;
        grpc::dispatch_call(caller.data_mut(), &cluster, &service, &method, metadata, message, timeout_ms)
    })();
    match started {
        Ok(token) => Ok(status(memory::write_u32(&mut caller, token_ptr, token))),
        Err(s) => Ok(s.raw() as i32),
    }
}

#[allow(clippy::too_many_arguments)]
fn grpc_stream(
    mut caller: Caller<'_, HostState>,
    sp: i32,
    ss: i32,
    np: i32,
    ns: i32,
    mp: i32,
    ms: i32,
    hp: i32,
    hs: i32,
    token_ptr: i32,
) -> HostResult {
    let started = (|| {
        let cluster = cluster_name(&memory::read(&caller, sp, ss)?)?;
        let service = text(&caller, np, ns)?;
        let method = text(&caller, mp, ms)?;
        check_size(&caller, [hs, 0])?;
        let metadata = read_pairs(&caller, hp, hs)?;
        grpc::dispatch_stream(caller.data_mut(), &cluster, &service, &method, metadata)
    })();
    match started {
        Ok(token) => Ok(status(memory::write_u32(&mut caller, token_ptr, token))),
        Err(s) => Ok(s.raw() as i32),
    }
}

/// As Envoy: the code is the last gRPC close status of the caller's root context (0 before
/// any), also outside a callback and for later requests; the message only while
/// `proxy_on_grpc_close` runs.
fn get_status(
    mut caller: Caller<'_, HostState>,
    code_ptr: i32,
    msg_ptr_ptr: i32,
    msg_size_ptr: i32,
) -> HostResult {
    let state = caller.data();
    let code = state.root_of(state.effective_context).map_or(0, |root| root.grpc_status);
    let message = match &state.callout_response {
        Some(c) if c.grpc => c.message.clone(),
        _ => Bytes::new(),
    };
    if let Err(s) = memory::write_u32(&mut caller, code_ptr, code) {
        return Ok(s.raw() as i32);
    }
    memory::copy_out_status(&mut caller, &message, msg_ptr_ptr, msg_size_ptr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_is_a_cluster_name_or_a_grpc_service() {
        assert_eq!(cluster_name(b"grpc-backend").unwrap(), "grpc-backend");
        // GrpcService { envoy_grpc { cluster_name: "rls" } }
        let proto = [0x0a, 5, 0x0a, 3, b'r', b'l', b's'];
        assert_eq!(cluster_name(&proto).unwrap(), "rls");
    }
}
