//! The network filters of one TCP connection: one proxy-wasm stream context per plugin,
//! called as Envoy's `envoy.filters.network.wasm` calls them. Downstream data runs through
//! them first to last, upstream data last to first (Envoy's write filters); a filter that
//! answers anything but Continue holds the data, which then grows with what arrives next and
//! is shown again to every filter (Envoy's connection read buffer). A failed VM closes the
//! connection, or is passed over under `FAIL_OPEN`.

use std::cell::Cell;
use std::rc::Rc;

use weir_abi::PeerType;
use weir_http::StreamShared;
use weir_proxy_wasm::plugin::{PluginHandle, clock};
use weir_proxy_wasm::wasm::{Vm, VmError};

use crate::config::FailurePolicy;

/// Where a run of callbacks ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Every filter continued.
    Continue,
    /// The filter at this index stopped: the data waits (for more data, or for it to continue
    /// with `proxy_continue_stream(Downstream)`).
    Paused(usize),
    /// A filter closed the connection, or failed.
    Close,
}

struct Slot {
    handle: Rc<PluginHandle>,
    ctx: Cell<Option<u32>>,
    /// The VM instance `ctx` lives in (a replaced VM does not know it).
    instance: Cell<u64>,
}

/// The network filters of one connection.
pub struct Filters {
    stream: Rc<StreamShared>,
    slots: Vec<Slot>,
}

impl Filters {
    /// Creates a context for each filter. `None`: a filter's VM has failed and its policy
    /// is not `FAIL_OPEN` (the connection is closed, as Envoy closes it).
    pub fn new(stream: Rc<StreamShared>, plugins: &[Rc<PluginHandle>]) -> Option<Filters> {
        let mut slots = Vec::with_capacity(plugins.len());
        for handle in plugins {
            let created = match handle.vm.try_borrow_mut() {
                Ok(vm) if vm.failure().is_some() => Err(VmError::Failed("the plugin's VM has failed".into())),
                Ok(mut vm) => vm
                    .create_network_context(handle.root_context.get(), stream.clone())
                    .map(|ctx| (ctx, vm.instance())),
                Err(_) => Err(VmError::Busy),
            };
            match created {
                Ok((ctx, instance)) => slots.push(Slot {
                    handle: handle.clone(),
                    ctx: Cell::new(Some(ctx)),
                    instance: Cell::new(instance),
                }),
                Err(_) if handle.plugin.config.failure_policy == FailurePolicy::FailOpen => {}
                Err(error) => {
                    tracing::warn!(plugin = %handle.name(), "network filter unavailable, closing the connection: {error}");
                    let filters = Filters { stream, slots };
                    filters.end(PeerType::Local);
                    return None;
                }
            }
        }
        Some(Filters { stream, slots })
    }

    /// The connection's shared state.
    pub fn stream(&self) -> &Rc<StreamShared> {
        &self.stream
    }

    /// Calls one filter; a failed VM ends its context. `None`: not called (no context).
    fn call<R>(
        &self,
        index: usize,
        f: impl FnOnce(&mut Vm, u32) -> Result<R, VmError>,
    ) -> Option<Result<R, ()>> {
        let slot = &self.slots[index];
        let ctx = slot.ctx.get()?;
        let started = clock::ticks();
        let result = match slot.handle.vm.try_borrow_mut() {
            Ok(vm) if vm.instance() != slot.instance.get() => {
                Err(VmError::Failed("the plugin's VM failed and was replaced".into()))
            }
            Ok(mut vm) => f(&mut vm, ctx),
            Err(_) => Err(VmError::Busy),
        };
        let ns = clock::nanos_between(started, clock::ticks());
        slot.handle.plugin.stats.record_calls(1, ns, ns);
        Some(result.map_err(|error| {
            slot.ctx.set(None);
            tracing::error!(plugin = %slot.handle.name(), "network filter failed, closing the connection: {error}");
            slot.handle.record_failure(&error);
        }))
    }

    /// Runs `callback` over the filters in `order`, stopping where one does not continue.
    fn run(
        &self,
        order: impl Iterator<Item = usize>,
        callback: impl Fn(&mut Vm, u32) -> Result<u32, VmError>,
    ) -> Step {
        for index in order {
            self.stream.data.borrow_mut().continue_request = false;
            let status = match self.call(index, &callback) {
                None => continue,
                Some(Ok(status)) => status,
                Some(Err(()))
                    if self.slots[index].handle.plugin.config.failure_policy == FailurePolicy::FailOpen =>
                {
                    continue;
                }
                Some(Err(())) => return Step::Close,
            };
            if self.stream.data.borrow().close_requested {
                return Step::Close;
            }
            if status != 0 {
                return Step::Paused(index);
            }
        }
        Step::Continue
    }

    /// `proxy_on_new_connection`, from filter `from` on.
    pub fn new_connection(&self, from: usize) -> Step {
        self.run(from..self.slots.len(), |vm, ctx| vm.on_new_connection(ctx))
    }

    /// `proxy_on_downstream_data` over what is held, from filter `from` on.
    pub fn downstream_data(&self, from: usize, end_of_stream: bool) -> Step {
        self.run(from..self.slots.len(), |vm, ctx| {
            let size = self.stream.data.borrow().request_body.len();
            vm.on_downstream_data(ctx, size, end_of_stream)
        })
    }

    /// `proxy_on_upstream_data` over what is held, last filter first; at the end of the
    /// upstream's data each filter then hears `proxy_on_upstream_connection_close(Unknown)`, as
    /// Envoy tells it (it has no other upstream close event for network filters).
    pub fn upstream_data(&self, end_of_stream: bool) -> Step {
        self.run((0..self.slots.len()).rev(), |vm, ctx| {
            let size = self.stream.data.borrow().response_body.len();
            let status = vm.on_upstream_data(ctx, size, end_of_stream)?;
            if end_of_stream {
                vm.on_upstream_connection_close(ctx, PeerType::Unknown)?;
            }
            Ok(status)
        })
    }

    /// The connection closed (`peer`: who closed it): each filter hears
    /// `proxy_on_downstream_connection_close`, then its context ends.
    pub fn end(&self, peer: PeerType) {
        for index in 0..self.slots.len() {
            let _ = self.call(index, |vm, ctx| vm.on_downstream_connection_close(ctx, peer));
            let _ = self.call(index, |vm, ctx| vm.end_network_context(ctx));
            self.slots[index].ctx.set(None);
        }
    }
}
