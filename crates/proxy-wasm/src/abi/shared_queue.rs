//! Shared queues: register, resolve, enqueue, dequeue. The registering VM's root context gets
//! `proxy_on_queue_ready` on its own worker. Resolving with an empty `vm_id` looks in the
//! caller's own `vm_id`, as Envoy does.

use bytes::Bytes;
use wasmtime::{Caller, Linker};
use weir_abi::Status;

use super::ENV;
use crate::wasm::memory::{self, HostResult, status};
use crate::wasm::{ContextEntry, HostState};

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(ENV, "proxy_register_shared_queue", register)?;
    linker.func_wrap(ENV, "proxy_resolve_shared_queue", resolve)?;
    linker.func_wrap(ENV, "proxy_enqueue_shared_queue", enqueue)?;
    linker.func_wrap(ENV, "proxy_dequeue_shared_queue", dequeue)?;
    Ok(())
}

fn register(mut caller: Caller<'_, HostState>, np: i32, ns: i32, token_ptr: i32) -> HostResult {
    let token = memory::with_bytes(&mut caller, np, ns, |name, state| {
        let ctx = state.effective_context;
        // on_queue_ready goes to the root context, also when an HTTP context registers.
        let root = match state.contexts.get(&ctx) {
            Some(ContextEntry::Stream { root, .. }) => *root,
            _ => ctx,
        };
        let owner = state.env.worker.as_ref().map(|w| (state.env.instance, root, w.queue_ready.clone()));
        let registered = state.env.process.queues.register(&state.env.vm_id, name, owner);
        registered.map_err(|refusal| state.refused(refusal))
    });
    match token.and_then(|r| r) {
        Ok(token) => Ok(status(memory::write_u32(&mut caller, token_ptr, token))),
        Err(s) => Ok(s.raw() as i32),
    }
}

fn resolve(
    mut caller: Caller<'_, HostState>,
    vp: i32,
    vs: i32,
    np: i32,
    ns: i32,
    token_ptr: i32,
) -> HostResult {
    let token = memory::with_two(&mut caller, (vp, vs), (np, ns), |vm_id, name, state| {
        let vm_id = std::str::from_utf8(vm_id).map_err(|_| Status::NotFound)?;
        // An empty vm_id is the caller's own VM (Envoy's lookupSharedQueue).
        let vm_id = if vm_id.is_empty() { &*state.env.vm_id } else { vm_id };
        state.env.process.queues.resolve(vm_id, name)
    });
    match token.and_then(|r| r) {
        Ok(token) => Ok(status(memory::write_u32(&mut caller, token_ptr, token))),
        Err(s) => Ok(s.raw() as i32),
    }
}

fn enqueue(mut caller: Caller<'_, HostState>, token: i32, vp: i32, vs: i32) -> HostResult {
    let result = memory::with_bytes(&mut caller, vp, vs, |value, state| {
        let queued = state.env.process.queues.enqueue(token as u32, Bytes::copy_from_slice(value));
        queued.map_err(|refusal| state.refused(refusal))
    });
    Ok(status(result.and_then(|r| r)))
}

fn dequeue(mut caller: Caller<'_, HostState>, token: i32, ptr_ptr: i32, size_ptr: i32) -> HostResult {
    match caller.data().env.process.queues.dequeue(token as u32) {
        Ok(value) => memory::copy_out_status(&mut caller, &value, ptr_ptr, size_ptr),
        Err(s) => Ok(s.raw() as i32),
    }
}
