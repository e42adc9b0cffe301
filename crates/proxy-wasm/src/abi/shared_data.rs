//! `proxy_get_shared_data`, `proxy_set_shared_data`: process-wide per `vm_id`, CAS 0 writes
//! unconditionally.

use bytes::Bytes;
use wasmtime::{Caller, Linker};

use super::ENV;
use crate::wasm::HostState;
use crate::wasm::memory::{self, HostResult, status};

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(ENV, "proxy_get_shared_data", get)?;
    linker.func_wrap(ENV, "proxy_set_shared_data", set)?;
    Ok(())
}

fn get(mut caller: Caller<'_, HostState>, kp: i32, ks: i32, vpp: i32, vsp: i32, cas_ptr: i32) -> HostResult {
    let found = memory::with_bytes(&mut caller, kp, ks, |key, state| state.shared_scope().get(key));
    match found.and_then(|r| r) {
        Ok((value, cas)) => {
            if let Err(s) = memory::copy_out(&mut caller, &value, vpp, vsp)? {
                return Ok(s.raw() as i32);
            }
            Ok(status(memory::write_u32(&mut caller, cas_ptr, cas)))
        }
        Err(s) => Ok(s.raw() as i32),
    }
}

/// A write past the `vm_id`'s `max_shared_data_bytes` is `InternalFailure` (Envoy has no
/// limit; the Rust SDK panics on anything but Ok and CasMismatch, so such a filter's VM
/// fails under its failure policy).
fn set(mut caller: Caller<'_, HostState>, kp: i32, ks: i32, vp: i32, vs: i32, cas: i32) -> HostResult {
    let result = memory::with_two(&mut caller, (kp, ks), (vp, vs), |key, value, state| {
        let written = state.shared_scope().set(key, Bytes::copy_from_slice(value), cas as u32);
        written.map_err(|refusal| state.refused(refusal))
    });
    Ok(status(result.and_then(|r| r)))
}
