//! `proxy_set_tick_period_milliseconds`: each root context gets its own tick timer, run on the
//! VM's worker (Envoy: every root context has its own timer). Period 0 stops it.
//!
//! One task per root context, whatever the guest does: setting a period replaces the task
//! (the old one is stopped at once, not at its next tick), and the task is stopped when its
//! root context or its VM goes away. An HTTP context reaches its root's timer through
//! `proxy_set_effective_context`, so calls per request cannot pile up tasks.

use std::rc::Rc;
use std::time::Duration;

use wasmtime::{Caller, Linker};
use weir_abi::Status;

use super::ENV;
use crate::services::WorkerServices;
use crate::wasm::memory::HostResult;
use crate::wasm::{ContextEntry, HostState, Ticker};

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(ENV, "proxy_set_tick_period_milliseconds", set_tick_period)?;
    Ok(())
}

fn set_tick_period(mut caller: Caller<'_, HostState>, period_ms: i32) -> HostResult {
    let state = caller.data_mut();
    let ctx = state.effective_context;
    let instance = state.env.instance;
    let worker = state.env.worker.clone();
    let Some(ContextEntry::Root(root)) = state.contexts.get_mut(&ctx) else {
        // Envoy keeps timers on root contexts only.
        return Ok(Status::BadArgument.raw() as i32);
    };
    let period = (period_ms > 0).then(|| Duration::from_millis(period_ms as u32 as u64));
    root.tick_period = period;
    // Dropping the old ticker stops its task.
    root.ticker = match (period, worker) {
        (Some(period), Some(worker)) => {
            let task = tokio::task::spawn_local(tick_loop(Rc::downgrade(&worker), instance, ctx, period));
            Some(Ticker(task.abort_handle()))
        }
        _ => None,
    };
    Ok(Status::Ok.raw() as i32)
}

async fn tick_loop(worker: std::rc::Weak<WorkerServices>, instance: u64, root: u32, period: Duration) {
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(vm) = worker.upgrade().and_then(|w| w.vm(instance)) else {
            return;
        };
        let Ok(mut vm) = vm.try_borrow_mut() else {
            continue;
        };
        if vm.failure().is_some() || !matches!(vm.state().contexts.get(&root), Some(ContextEntry::Root(_))) {
            return;
        }
        if let Err(error) = vm.on_tick(root) {
            tracing::error!(vm_id = %vm.state().vm_id(), "proxy_on_tick failed: {error}");
            return;
        }
    }
}
