//! Header map hostcalls. Request, response and trailer maps belong to the effective HTTP
//! context; call-response and gRPC metadata maps exist only while a callout result is being
//! delivered. An unavailable map is `BadArgument` (Envoy), an absent header `NotFound`.
//! Changing request headers clears the route cache, as Envoy's Wasm filter does.

use std::rc::Rc;

use bytes::Bytes;
use wasmtime::{Caller, Linker};
use weir_abi::{MapType, Status, decode_pairs, encode_pairs};

use super::ENV;
use crate::http::{HeaderMap, StreamShared};
use crate::wasm::HostState;
use crate::wasm::memory::{self, HostResult, status};

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(ENV, "proxy_get_header_map_value", get_value)?;
    linker.func_wrap(ENV, "proxy_get_header_map_pairs", get_pairs)?;
    linker.func_wrap(ENV, "proxy_get_header_map_size", get_size)?;
    linker.func_wrap(
        ENV,
        "proxy_add_header_map_value",
        |mut c: Caller<'_, HostState>, t: i32, kp: i32, ks: i32, vp: i32, vs: i32| -> HostResult {
            Ok(status(edit_kv(&mut c, t, (kp, ks), (vp, vs), |m, k, v| m.add(k, v))))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_replace_header_map_value",
        |mut c: Caller<'_, HostState>, t: i32, kp: i32, ks: i32, vp: i32, vs: i32| -> HostResult {
            Ok(status(edit_kv(&mut c, t, (kp, ks), (vp, vs), |m, k, v| m.set(k, v))))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_remove_header_map_value",
        |mut c: Caller<'_, HostState>, t: i32, kp: i32, ks: i32| -> HostResult {
            let result = memory::with_bytes(&mut c, kp, ks, |key, state| {
                with_map_mut(state, t as u32, |map| {
                    map.remove(key);
                })
            });
            Ok(status(result.and_then(|r| r)))
        },
    )?;
    linker.func_wrap(ENV, "proxy_set_header_map_pairs", set_pairs)?;
    Ok(())
}

/// Where a map lives.
enum Source {
    Stream(Rc<StreamShared>, MapType),
    Callout(MapType),
}

fn source(state: &HostState, kind: u32) -> Result<Source, Status> {
    let kind = MapType::from_raw(kind).ok_or(Status::BadArgument)?;
    match kind {
        MapType::HttpRequestHeaders
        | MapType::HttpRequestTrailers
        | MapType::HttpResponseHeaders
        | MapType::HttpResponseTrailers => {
            let stream = state.effective_stream().ok_or(Status::BadArgument)?;
            Ok(Source::Stream(stream.clone(), kind))
        }
        MapType::HttpCallResponseHeaders
        | MapType::HttpCallResponseTrailers
        | MapType::GrpcReceiveInitialMetadata
        | MapType::GrpcReceiveTrailingMetadata => {
            let grpc =
                matches!(kind, MapType::GrpcReceiveInitialMetadata | MapType::GrpcReceiveTrailingMetadata);
            match &state.callout_response {
                Some(c) if c.grpc == grpc => Ok(Source::Callout(kind)),
                _ => Err(Status::BadArgument),
            }
        }
    }
}

fn with_map<R>(state: &HostState, kind: u32, f: impl FnOnce(&HeaderMap) -> R) -> Result<R, Status> {
    match source(state, kind)? {
        Source::Stream(stream, kind) => {
            let data = stream.data.borrow();
            data.map(kind).map(f).ok_or(Status::BadArgument)
        }
        Source::Callout(kind) => {
            let callout = state.callout_response.as_ref().ok_or(Status::BadArgument)?;
            Ok(f(callout.map(kind)))
        }
    }
}

fn with_map_mut<R>(
    state: &mut HostState,
    kind: u32,
    f: impl FnOnce(&mut HeaderMap) -> R,
) -> Result<R, Status> {
    match source(state, kind)? {
        Source::Stream(stream, kind) => {
            let mut data = stream.data.borrow_mut();
            let result = data.map_mut(kind).map(f).ok_or(Status::BadArgument)?;
            if kind == MapType::HttpRequestHeaders {
                data.clear_route_cache = true;
            }
            Ok(result)
        }
        Source::Callout(kind) => {
            let callout = state.callout_response.as_mut().ok_or(Status::BadArgument)?;
            Ok(f(callout.map_mut(kind)))
        }
    }
}

fn edit_kv(
    caller: &mut Caller<'_, HostState>,
    kind: i32,
    key: (i32, i32),
    value: (i32, i32),
    f: impl FnOnce(&mut HeaderMap, Bytes, Bytes),
) -> Result<(), Status> {
    memory::with_two(caller, key, value, |k, v, state| {
        with_map_mut(state, kind as u32, |map| f(map, Bytes::copy_from_slice(k), Bytes::copy_from_slice(v)))
    })
    .and_then(|r| r)
}

fn get_value(
    mut caller: Caller<'_, HostState>,
    kind: i32,
    kp: i32,
    ks: i32,
    vpp: i32,
    vsp: i32,
) -> HostResult {
    let found = memory::with_bytes(&mut caller, kp, ks, |key, state| {
        with_map(state, kind as u32, |map| map.get(key).cloned()).and_then(|v| v.ok_or(Status::NotFound))
    });
    match found.and_then(|r| r) {
        Ok(value) => memory::copy_out_status(&mut caller, &value, vpp, vsp),
        Err(s) => Ok(s.raw() as i32),
    }
}

fn get_pairs(mut caller: Caller<'_, HostState>, kind: i32, ptr_ptr: i32, size_ptr: i32) -> HostResult {
    let encoded = with_map(caller.data(), kind as u32, |map| {
        let mut out = Vec::new();
        if !map.is_empty() {
            encode_pairs(map.entries(), &mut out);
        }
        out
    });
    match encoded {
        Ok(bytes) => memory::copy_out_status(&mut caller, &bytes, ptr_ptr, size_ptr),
        Err(s) => Ok(s.raw() as i32),
    }
}

fn get_size(mut caller: Caller<'_, HostState>, kind: i32, size_ptr: i32) -> HostResult {
    let size = with_map(caller.data(), kind as u32, |map| {
        map.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() as u32
    });
    match size {
        Ok(size) => Ok(status(memory::write_u32(&mut caller, size_ptr, size))),
        Err(s) => Ok(s.raw() as i32),
    }
}

fn set_pairs(mut caller: Caller<'_, HostState>, kind: i32, ptr: i32, size: i32) -> HostResult {
    let result = memory::with_bytes(&mut caller, ptr, size, |buf, state| {
        let pairs = decode_pairs(buf).map_err(|_| Status::BadArgument)?;
        let owned: Vec<(Bytes, Bytes)> =
            pairs.into_iter().map(|(k, v)| (Bytes::copy_from_slice(k), Bytes::copy_from_slice(v))).collect();
        with_map_mut(state, kind as u32, |map| map.replace_all(owned))
    });
    Ok(status(result.and_then(|r| r)))
}
