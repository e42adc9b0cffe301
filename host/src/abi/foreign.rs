//! `proxy_call_foreign_function`: the Envoy foreign functions that make sense in weir.
//!
//! - `clear_route_cache`: re-evaluate the route after this callback.
//! - `set_envoy_filter_state` (`SetEnvoyFilterStateArguments`: path = 1, value = 2): stores the
//!   value as filter state, readable with `proxy_get_property([path])`.
//! - `declare_property` (`DeclarePropertyArguments`): accepted; weir stores properties as bytes.
//!
//! Unknown names are `NotFound`, as in Envoy.

use bytes::Bytes;
use wasmtime::{Caller, Linker};
use weir_abi::Status;

use super::ENV;
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
            let stream = state.effective_stream().ok_or(Status::NotFound)?;
            stream.data.borrow_mut().filter_state.insert(path, Bytes::from(value));
            Ok(Vec::new())
        }
        b"declare_property" => {
            proto_strings(args).ok_or(Status::BadArgument)?;
            Ok(Vec::new())
        }
        _ => Err(Status::NotFound),
    }
}

/// Reads the length-delimited and varint fields of a protobuf message: `(field, bytes)`.
/// Varints are returned as their decimal text. `None` if the message is malformed.
fn proto_strings(mut buf: &[u8]) -> Option<Vec<(u64, Vec<u8>)>> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let (key, rest) = varint(buf)?;
        buf = rest;
        let field = key >> 3;
        match key & 7 {
            0 => {
                let (v, rest) = varint(buf)?;
                out.push((field, v.to_string().into_bytes()));
                buf = rest;
            }
            2 => {
                let (len, rest) = varint(buf)?;
                let len = usize::try_from(len).ok()?;
                let value = rest.get(..len)?;
                out.push((field, value.to_vec()));
                buf = &rest[len..];
            }
            _ => return None,
        }
    }
    Some(out)
}

fn varint(buf: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, byte) in buf.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &buf[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_protobuf_fields() {
        // field 1 = "ab", field 2 = "c", field 3 = varint 150
        let msg = [0x0a, 2, b'a', b'b', 0x12, 1, b'c', 0x18, 0x96, 0x01];
        let fields = proto_strings(&msg).unwrap();
        assert_eq!(fields, vec![(1, b"ab".to_vec()), (2, b"c".to_vec()), (3, b"150".to_vec())]);
        assert!(proto_strings(&[0x0a, 5, b'a']).is_none());
    }
}
