//! `proxy_define_metric`, `proxy_increment_metric`, `proxy_record_metric`, `proxy_get_metric`.

use wasmtime::{Caller, Linker};
use weir_abi::{MetricType, Status};

use super::ENV;
use crate::wasm::HostState;
use crate::wasm::memory::{self, HostResult, status};

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(ENV, "proxy_define_metric", define)?;
    linker.func_wrap(
        ENV,
        "proxy_increment_metric",
        |c: Caller<'_, HostState>, id: i32, delta: i64| -> HostResult {
            Ok(status(c.data().env.process.metrics.increment(id as u32, delta)))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_record_metric",
        |c: Caller<'_, HostState>, id: i32, value: i64| -> HostResult {
            Ok(status(c.data().env.process.metrics.record(id as u32, value as u64)))
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_metric",
        |mut c: Caller<'_, HostState>, id: i32, ret: i32| -> HostResult {
            match c.data().env.process.metrics.get(id as u32) {
                Ok(value) => Ok(status(memory::write_u64(&mut c, ret, value))),
                Err(s) => Ok(s.raw() as i32),
            }
        },
    )?;
    Ok(())
}

fn define(mut caller: Caller<'_, HostState>, kind: i32, np: i32, ns: i32, id_ptr: i32) -> HostResult {
    let Some(kind) = MetricType::from_raw(kind as u32) else {
        return Ok(Status::BadArgument.raw() as i32);
    };
    let id = memory::with_bytes(&mut caller, np, ns, |name, state| {
        let defined =
            state.env.process.metrics.define(&state.env.vm_id, kind, &String::from_utf8_lossy(name));
        defined.map_err(|refusal| state.refused(refusal))
    });
    match id.and_then(|r| r) {
        Ok(id) => Ok(status(memory::write_u32(&mut caller, id_ptr, id))),
        Err(s) => Ok(s.raw() as i32),
    }
}
