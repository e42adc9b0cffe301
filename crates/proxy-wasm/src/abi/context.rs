//! `proxy_set_effective_context` and `proxy_done`.

use wasmtime::{Caller, Linker};
use weir_abi::Status;

use super::ENV;
use crate::wasm::memory::HostResult;
use crate::wasm::{ContextEntry, HostState};

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        ENV,
        "proxy_set_effective_context",
        |mut caller: Caller<'_, HostState>, ctx: i32| -> HostResult {
            let state = caller.data_mut();
            let ctx = ctx as u32;
            if !state.contexts.contains_key(&ctx) {
                return Ok(Status::BadArgument.raw() as i32);
            }
            state.effective_context = ctx;
            Ok(Status::Ok.raw() as i32)
        },
    )?;
    linker.func_wrap(ENV, "proxy_done", |mut caller: Caller<'_, HostState>| -> HostResult {
        let state = caller.data_mut();
        let ctx = state.effective_context;
        match state.contexts.get_mut(&ctx) {
            Some(ContextEntry::Root(root)) if root.done_pending => {
                root.done_pending = false;
                root.done_called = true;
                Ok(Status::Ok.raw() as i32)
            }
            _ => Ok(Status::NotFound.raw() as i32),
        }
    })?;
    Ok(())
}
