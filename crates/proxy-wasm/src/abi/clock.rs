//! `proxy_get_current_time_nanoseconds`.

use std::time::{SystemTime, UNIX_EPOCH};

use wasmtime::{Caller, Linker};

use super::ENV;
use crate::wasm::HostState;
use crate::wasm::memory::{self, HostResult, status};

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        ENV,
        "proxy_get_current_time_nanoseconds",
        |mut caller: Caller<'_, HostState>, ret: i32| -> HostResult {
            Ok(status(memory::write_u64(&mut caller, ret, now_nanos())))
        },
    )?;
    Ok(())
}

/// Wall-clock time in nanoseconds since the Unix epoch.
pub(crate) fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
