//! Header map hostcalls, with Envoy's availability rules. A context sees its request or response
//! maps only inside the matching callback (or while it keeps that part paused), and read-only
//! during `proxy_on_log`; call-response and gRPC metadata maps only while a callout result is
//! delivered. Reading an unavailable map is `BadArgument` (`NotFound` while logging), listing
//! its pairs is `Ok` with none, an absent header is `NotFound` (`Ok` and empty for ABI 0.1.0).
//! Changing request headers clears the route cache, as Envoy's Wasm filter does.

use bytes::Bytes;
use wasmtime::{Caller, Linker};
use weir_abi::{AbiVersion, MapType, Status, decode_pairs, encode_pairs};

use super::ENV;
use crate::wasm::HostState;
use crate::wasm::memory::{self, HostResult, status};
use weir_http::{HeaderMap, Name, StreamShared};

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(ENV, "proxy_get_header_map_value", get_value)?;
    linker.func_wrap(ENV, "proxy_get_header_map_pairs", get_pairs)?;
    linker.func_wrap(ENV, "proxy_get_header_map_size", get_size)?;
    linker.func_wrap(
        ENV,
        "proxy_add_header_map_value",
        |mut c: Caller<'_, HostState>, t: i32, kp: i32, ks: i32, vp: i32, vs: i32| -> HostResult {
            Ok(status(edit_kv(&mut c, t, (kp, ks), (vp, vs), false, |m, k, v| m.add(k, v))))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_replace_header_map_value",
        |mut c: Caller<'_, HostState>, t: i32, kp: i32, ks: i32, vp: i32, vs: i32| -> HostResult {
            Ok(status(edit_kv(&mut c, t, (kp, ks), (vp, vs), true, |m, k, v| m.set(k, v))))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_remove_header_map_value",
        |mut c: Caller<'_, HostState>, t: i32, kp: i32, ks: i32| -> HostResult {
            let result = memory::with_bytes(&mut c, kp, ks, |key, state| {
                with_map_mut(state, t as u32, |map| {
                    map.remove(lookup_key(t, key));
                })
            });
            Ok(status(result.and_then(|r| r)))
        },
    )?;
    linker.func_wrap(ENV, "proxy_set_header_map_pairs", set_pairs)?;
    Ok(())
}

/// Where a map lives.
enum Source<'a> {
    Stream(&'a StreamShared, MapType),
    Callout(MapType),
}

/// The map a read may use. `Ok(None)`: the map exists in the ABI but not now.
fn readable(state: &HostState, kind: u32) -> Result<Option<Source<'_>>, Status> {
    let kind = MapType::from_raw(kind).ok_or(Status::BadArgument)?;
    let available = match kind {
        MapType::HttpCallResponseHeaders | MapType::HttpCallResponseTrailers => {
            state.callout_response.as_ref().is_some_and(|c| !c.grpc)
        }
        MapType::GrpcReceiveInitialMetadata | MapType::GrpcReceiveTrailingMetadata => {
            state.callout_response.as_ref().is_some_and(|c| c.grpc)
        }
        MapType::HttpRequestHeaders
        | MapType::HttpRequestTrailers
        | MapType::HttpResponseHeaders
        | MapType::HttpResponseTrailers => {
            let Some((a, stream)) = state.effective_http() else { return Ok(None) };
            let open = match kind {
                MapType::HttpRequestHeaders => a.request_headers || a.log,
                MapType::HttpRequestTrailers => a.request_trailers && !a.log,
                MapType::HttpResponseHeaders => a.response_headers || a.log,
                _ => a.response_trailers || a.log,
            };
            return Ok(open.then_some(Source::Stream(stream, kind)));
        }
    };
    Ok(available.then_some(Source::Callout(kind)))
}

/// The map a write may use (only the stream's own maps, while the context holds them).
/// Trailers may be added at the end of a body, as Envoy's `addDecodedTrailers` allows.
fn writable(state: &HostState, kind: u32) -> Result<(&StreamShared, MapType), Status> {
    let kind = MapType::from_raw(kind).ok_or(Status::BadArgument)?;
    let (a, stream) = state.effective_http().ok_or(Status::BadArgument)?;
    let open = match kind {
        MapType::HttpRequestHeaders => a.request_headers,
        MapType::HttpRequestTrailers => a.request_trailers || (a.request_body && a.end_of_stream),
        MapType::HttpResponseHeaders => a.response_headers,
        MapType::HttpResponseTrailers => a.response_trailers || (a.response_body && a.end_of_stream),
        _ => false,
    };
    if open { Ok((stream, kind)) } else { Err(Status::BadArgument) }
}

fn with_map<R>(state: &HostState, source: Source<'_>, f: impl FnOnce(&HeaderMap) -> R) -> Option<R> {
    match source {
        Source::Stream(stream, kind) => stream.data.borrow().map(kind).map(f),
        Source::Callout(kind) => state.callout_response.as_ref().map(|c| f(c.map(kind))),
    }
}

fn with_map_mut<R>(state: &HostState, kind: u32, f: impl FnOnce(&mut HeaderMap) -> R) -> Result<R, Status> {
    let (stream, kind) = writable(state, kind)?;
    let mut data = stream.data.borrow_mut();
    if data.map(kind).is_none() {
        // Adding trailers at the end of a body creates them.
        match kind {
            MapType::HttpRequestTrailers => data.request_trailers = Some(HeaderMap::default()),
            MapType::HttpResponseTrailers => data.response_trailers = Some(HeaderMap::default()),
            _ => return Err(Status::BadArgument),
        }
    }
    let result = data.map_mut(kind).map(f).ok_or(Status::BadArgument)?;
    if kind == MapType::HttpRequestHeaders {
        data.clear_route_cache = true;
    }
    Ok(result)
}

/// Envoy aliases the legacy `host` header to `:authority` in request header maps.
fn lookup_key(kind: i32, key: &[u8]) -> &[u8] {
    if kind as u32 == MapType::HttpRequestHeaders.raw() && key.eq_ignore_ascii_case(b"host") {
        b":authority"
    } else {
        key
    }
}

/// The name a plugin's key is stored under.
fn key_for(state: &HostState, kind: i32, key: &[u8]) -> Name {
    match lookup_key(kind, key) {
        b":authority" => Name::pseudo(":authority"),
        key => state.names.parse(key),
    }
}

/// Checks that `map` stays within the plugin's header-map limits once `replacing` (a name
/// whose values go away first, for a replace) is gone and `added` entries of `bytes` bytes are
/// in; counts and answers `BadArgument` if it would not.
fn check_growth(
    state: &HostState,
    map: &HeaderMap,
    replacing: Option<&[u8]>,
    added: usize,
    bytes: usize,
) -> Result<(), Status> {
    let (mut entries, mut size) = (added, bytes);
    for (name, value) in map.iter() {
        if replacing.is_some_and(|r| name.as_bytes().eq_ignore_ascii_case(r)) {
            continue;
        }
        entries += 1;
        size += name.as_bytes().len() + value.len();
    }
    let limits = &state.limits;
    let over = if entries > limits.max_header_map_entries {
        "max_header_map_entries"
    } else if size > limits.max_header_map_bytes {
        "max_header_map_bytes"
    } else {
        return Ok(());
    };
    state.limit_exceeded(over);
    Err(Status::BadArgument)
}

fn edit_kv(
    caller: &mut Caller<'_, HostState>,
    kind: i32,
    key: (i32, i32),
    value: (i32, i32),
    replace: bool,
    f: impl FnOnce(&mut HeaderMap, Name, Bytes),
) -> Result<(), Status> {
    memory::with_two(caller, key, value, |k, v, state| {
        let name = key_for(state, kind, k);
        with_map_mut(state, kind as u32, |map| {
            let replacing = replace.then(|| name.as_bytes());
            check_growth(state, map, replacing, 1, name.as_bytes().len() + v.len())?;
            let value = map.copy_value(v);
            f(map, name, value);
            Ok(())
        })
    })
    .and_then(|r| r)
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
    let legacy = caller.data().env.abi == AbiVersion::V0_1_0;
    let found = memory::with_bytes(&mut caller, kp, ks, |key, state| {
        match readable(state, kind as u32)? {
            Some(source) => with_map(state, source, |map| map.get(lookup_key(kind, key)).cloned()).flatten(),
            // Envoy: an unavailable map is NotFound while logging, BadArgument otherwise.
            None if state.effective_http().is_some_and(|(a, _)| a.log) => None,
            None => return Err(Status::BadArgument),
        }
        .map_or_else(|| if legacy { Ok(Bytes::new()) } else { Err(Status::NotFound) }, Ok)
    });
    match found.and_then(|r| r) {
        Ok(value) => memory::copy_out_status(&mut caller, &value, vpp, vsp),
        Err(s) => Ok(s.raw() as i32),
    }
}

/// Envoy answers Ok with no pairs for a map that is not available now.
fn get_pairs(mut caller: Caller<'_, HostState>, kind: i32, ptr_ptr: i32, size_ptr: i32) -> HostResult {
    let encoded = readable(caller.data(), kind as u32).map(|source| {
        let mut out = Vec::new();
        if let Some(source) = source {
            with_map(caller.data(), source, |map| {
                if !map.is_empty() {
                    encode_pairs(map.entries(), &mut out);
                }
            });
        }
        out
    });
    match encoded {
        Ok(bytes) => memory::copy_out_status(&mut caller, &bytes, ptr_ptr, size_ptr),
        Err(s) => Ok(s.raw() as i32),
    }
}

fn get_size(mut caller: Caller<'_, HostState>, kind: i32, size_ptr: i32) -> HostResult {
    let size = writable(caller.data(), kind as u32).and_then(|(stream, kind)| {
        let data = stream.data.borrow();
        let map = data.map(kind).ok_or(Status::BadArgument)?;
        Ok(map.iter().map(|(k, v)| k.as_bytes().len() + v.len()).sum::<usize>() as u32)
    });
    match size {
        Ok(size) => Ok(status(memory::write_u32(&mut caller, size_ptr, size))),
        Err(s) => Ok(s.raw() as i32),
    }
}

fn set_pairs(mut caller: Caller<'_, HostState>, kind: i32, ptr: i32, size: i32) -> HostResult {
    let result = memory::with_bytes(&mut caller, ptr, size, |buf, state| {
        // Decoding borrows (at most two words per eight bytes of the buffer); the map it would
        // make must fit the plugin's header-map limits before anything is copied.
        let pairs = decode_pairs(buf).map_err(|_| Status::BadArgument)?;
        let bytes = pairs.iter().map(|(k, v)| k.len() + v.len()).sum();
        check_growth(state, &HeaderMap::default(), None, pairs.len(), bytes)?;
        with_map_mut(state, kind as u32, |map| {
            let owned: Vec<(Name, Bytes)> =
                pairs.into_iter().map(|(k, v)| (key_for(state, kind, k), map.copy_value(v))).collect();
            map.replace_all(owned)
        })
    });
    Ok(status(result.and_then(|r| r)))
}
