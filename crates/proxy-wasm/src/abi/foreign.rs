//! `proxy_call_foreign_function`: the Envoy foreign functions that make sense in weir.
//!
//! - `clear_route_cache`: re-evaluate the route after this callback.
//! - `set_envoy_filter_state` (`SetEnvoyFilterStateArguments`: path = 1, value = 2): stores the
//!   value as filter state, readable with `proxy_get_property([path])`; `envoy.tcp_proxy.cluster`
//!   also picks the upstream cluster of a TCP connection, as Envoy's `tcp_proxy` reads it.
//! - `declare_property` (`DeclarePropertyArguments`): accepted; weir stores properties as bytes.
//!
//! Unknown names are `NotFound`, as in Envoy.

use wasmtime::{Caller, Linker};
use weir_abi::Status;

use super::ENV;
use super::proto::proto_strings;
use crate::wasm::HostState;
use crate::wasm::memory::{self, HostResult, status};

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(ENV, "proxy_call_foreign_function", call)?;
    Ok(())
}

fn call(
    mut caller: Caller<'_, HostState>,
    np: i32,
    ns: i32,
    ap: i32,
    as_: i32,
    rpp: i32,
    rsp: i32,
) -> HostResult {
    let result =
        memory::with_two(&mut caller, (np, ns), (ap, as_), |name, args, state| run(state, name, args));
    match result.and_then(|r| r) {
        Ok(output) => {
            if output.is_empty() {
                Ok(status(Ok(())))
            } else {
                memory::copy_out_status(&mut caller, &output, rpp, rsp)
            }
        }
        Err(s) => Ok(s.raw() as i32),
    }
}

/// The filter state key that picks a TCP connection's upstream cluster (Envoy's
/// `PerConnectionCluster`, read by `tcp_proxy`).
const TCP_PROXY_CLUSTER: &[u8] = b"envoy.tcp_proxy.cluster";

fn run(state: &mut HostState, name: &[u8], args: &[u8]) -> Result<Vec<u8>, Status> {
    match name {
        b"clear_route_cache" => {
            if let Some(stream) = state.effective_stream() {
                stream.data.borrow_mut().clear_route_cache = true;
            }
            Ok(Vec::new())
        }
        b"set_envoy_filter_state" => {
            let fields = proto_strings(args).ok_or(Status::BadArgument)?;
            let path =
                fields.iter().find(|(n, _)| *n == 1).map(|(_, v)| v.clone()).ok_or(Status::BadArgument)?;
            let value = fields.iter().find(|(n, _)| *n == 2).map(|(_, v)| v.clone()).unwrap_or_default();
            super::properties::set_filter_state(state, &path, &value)?;
            if path == TCP_PROXY_CLUSTER
                && let Some(stream) = state.effective_stream()
            {
                stream.data.borrow_mut().tcp_proxy_cluster =
                    Some(String::from_utf8_lossy(&value).into_owned());
            }
            Ok(Vec::new())
        }
        b"declare_property" => {
            proto_strings(args).ok_or(Status::BadArgument)?;
            Ok(Vec::new())
        }
        _ => Err(Status::NotFound),
    }
}
