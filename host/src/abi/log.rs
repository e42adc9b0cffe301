//! `proxy_log`, `proxy_get_log_level`: guest logs become `tracing` events labelled with the
//! plugin name.

use wasmtime::{Caller, Linker};
use weir_abi::{LogLevel, Status};

use super::ENV;
use crate::wasm::HostState;
use crate::wasm::memory::{self, HostResult, status};

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(ENV, "proxy_log", proxy_log)?;
    linker.func_wrap(ENV, "proxy_get_log_level", proxy_get_log_level)?;
    Ok(())
}

fn proxy_log(mut caller: Caller<'_, HostState>, level: i32, ptr: i32, len: i32) -> HostResult {
    let Some(level) = LogLevel::from_raw(level as u32) else {
        return Ok(Status::BadArgument.raw() as i32);
    };
    let result = memory::with_bytes(&mut caller, ptr, len, |message, state| {
        let message = String::from_utf8_lossy(message);
        emit(state, level, &message);
        if state.configuring && level.raw() >= LogLevel::Warn.raw() && state.configure_errors.len() < 4 {
            state.configure_errors.push(message.into_owned());
        }
    });
    Ok(status(result))
}

/// Writes one guest log line (also used by WASI stdout/stderr).
pub(crate) fn emit(state: &HostState, level: LogLevel, message: &str) {
    let plugin = state.plugin_name();
    let vm_id = state.vm_id();
    match level {
        LogLevel::Trace => tracing::trace!(target: "weir::wasm", plugin, vm_id, "{message}"),
        LogLevel::Debug => tracing::debug!(target: "weir::wasm", plugin, vm_id, "{message}"),
        LogLevel::Info => tracing::info!(target: "weir::wasm", plugin, vm_id, "{message}"),
        LogLevel::Warn => tracing::warn!(target: "weir::wasm", plugin, vm_id, "{message}"),
        LogLevel::Error | LogLevel::Critical => {
            tracing::error!(target: "weir::wasm", plugin, vm_id, "{message}")
        }
    }
}

/// The guest-visible log level: the lowest level at which `weir::wasm` events are enabled
/// (as Envoy answers its `wasm` logger's level), so a guest that follows it skips formatting
/// lines the host would drop; never above warn, since a plugin's warnings and errors while it
/// is configured explain a refusal (see `configure_errors`).
fn current_level() -> LogLevel {
    use tracing::Level;
    if tracing::enabled!(target: "weir::wasm", Level::TRACE) {
        LogLevel::Trace
    } else if tracing::enabled!(target: "weir::wasm", Level::DEBUG) {
        LogLevel::Debug
    } else if tracing::enabled!(target: "weir::wasm", Level::INFO) {
        LogLevel::Info
    } else {
        LogLevel::Warn
    }
}

fn proxy_get_log_level(mut caller: Caller<'_, HostState>, ret: i32) -> HostResult {
    Ok(status(memory::write_u32(&mut caller, ret, current_level().raw())))
}
