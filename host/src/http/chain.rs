//! Runs one exchange through a chain of plugins with Envoy's semantics: contexts are created
//! when a plugin first sees request headers; request callbacks run first to last, response
//! callbacks last to first over the plugins that saw the request; a paused plugin holds the
//! exchange until it continues, answers or resets it; a failed VM fails the request (503) and
//! later requests follow the plugin's failure policy.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use weir_abi::{HeadersStatus, HttpCallbacks};

use crate::config::FailurePolicy;
use weir_http::Chunk;
use weir_http::{LocalReply, StreamShared};
use weir_proxy_wasm::plugin::{PluginHandle, clock};
use weir_proxy_wasm::services::PluginStats;
use weir_proxy_wasm::wasm::{Vm, VmError};

/// Why an exchange stopped flowing normally.
#[derive(Debug, Clone)]
pub enum Halt {
    /// A plugin sent a local reply; response callbacks run from this plugin index down.
    LocalReply(usize),
    /// A plugin asked to reset the stream.
    Reset,
    /// A plugin's VM failed: the request gets 503 (`wasm_fail_stream`).
    Failed {
        /// The plugin.
        plugin: String,
        /// What happened.
        error: VmError,
    },
}

/// Request or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Downstream to upstream.
    Request,
    /// Upstream to downstream.
    Response,
}

/// Body state of one plugin in one direction.
#[derive(Debug, Default)]
pub(crate) struct BodyState {
    /// The plugin answered `StopIterationAndBuffer`: later chunks are appended and it sees all.
    pub(crate) buffering: bool,
    /// What it holds.
    pub(crate) buffer: Chunk,
}

pub(crate) struct Slot {
    pub(crate) handle: Rc<PluginHandle>,
    pub(crate) ctx: Cell<Option<u32>>,
    /// The VM instance `ctx` lives in (a replaced VM does not know it).
    pub(crate) instance: Cell<u64>,
    pub(crate) failed: Cell<bool>,
    pub(crate) body: [RefCell<BodyState>; 2],
    /// Callback time in this exchange, added to the plugin's stats when it ends.
    time: CallTime,
}

/// Callbacks of one plugin in one exchange and their time, kept here and added to the
/// process-wide stats (atomics shared by every worker) once, when the exchange ends.
#[derive(Default)]
struct CallTime {
    calls: Cell<u64>,
    ns: Cell<u64>,
    max_ns: Cell<u64>,
    /// Start of the first callback and end of the last ([`clock::ticks`]), for trace spans.
    first: Cell<u64>,
    last: Cell<u64>,
}

impl CallTime {
    fn add(&self, started: u64, ended: u64) {
        let ns = clock::nanos_between(started, ended);
        if self.calls.get() == 0 {
            self.first.set(started);
        }
        self.last.set(ended);
        self.calls.set(self.calls.get() + 1);
        self.ns.set(self.ns.get().saturating_add(ns));
        self.max_ns.set(self.max_ns.get().max(ns));
    }

    fn flush(&self, stats: &PluginStats) {
        let calls = self.calls.take();
        if calls > 0 {
            stats.record_calls(calls, self.ns.take(), self.max_ns.take());
        }
    }
}

/// The plugins of one exchange and their contexts.
pub struct Chain {
    pub(crate) stream: Rc<StreamShared>,
    pub(crate) slots: Vec<Slot>,
    /// Plugins (indices) the response runs through, in call order.
    pub(crate) response_order: RefCell<Vec<usize>>,
    finished: Cell<bool>,
    /// When the previous callback of the current run of consecutive callbacks ended
    /// ([`clock::ticks`]): the next one's start, so each callback reads the clock once.
    /// Cleared whenever the run stops (before anything awaits, and when a phase is done).
    clock: Cell<Option<u64>>,
    halt: RefCell<Option<Halt>>,
    halted: tokio::sync::Notify,
    finisher: RefCell<Option<Finisher>>,
}

/// Runs once when the exchange ends (stats, access log, trace spans).
pub type Finisher = Box<dyn FnOnce(&weir_http::HttpStream, &Chain)>;

impl Chain {
    /// A chain over `plugins` for `stream`. No guest code runs yet.
    pub fn new(stream: Rc<StreamShared>, plugins: &[Rc<PluginHandle>]) -> Chain {
        Chain {
            stream,
            slots: plugins
                .iter()
                .map(|handle| Slot {
                    handle: handle.clone(),
                    ctx: Cell::new(None),
                    instance: Cell::new(0),
                    failed: Cell::new(false),
                    body: Default::default(),
                    time: CallTime::default(),
                })
                .collect(),
            response_order: RefCell::new(Vec::with_capacity(plugins.len())),
            finished: Cell::new(false),
            clock: Cell::new(None),
            halt: RefCell::new(None),
            halted: tokio::sync::Notify::new(),
            finisher: RefCell::new(None),
        }
    }

    /// The shared stream.
    pub fn stream(&self) -> &Rc<StreamShared> {
        &self.stream
    }

    /// Whether any plugin is in the chain.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Calls `callback` of the plugin at `index` with `f`, turning VM failures into
    /// [`Halt::Failed`]. `Ok(None)`: not called (no context, a failed plugin, or a callback the
    /// module does not implement, which continues).
    pub(crate) fn call<R>(
        &self,
        index: usize,
        callback: HttpCallbacks,
        f: impl FnOnce(&mut Vm, u32) -> Result<R, VmError>,
    ) -> Result<Option<R>, Halt> {
        let slot = &self.slots[index];
        let Some(ctx) = slot.ctx.get() else {
            return Ok(None);
        };
        if slot.failed.get() {
            return Ok(None);
        }
        if !self.implements(index, callback) {
            return Ok(None);
        }
        let result = self.timed(slot, || match slot.handle.vm.try_borrow_mut() {
            Ok(vm) if vm.instance() != slot.instance.get() => {
                Err(VmError::Failed("the plugin's VM failed and was replaced".into()))
            }
            Ok(mut vm) => f(&mut vm, ctx),
            Err(_) => Err(VmError::Busy),
        });
        match result {
            Ok(r) => Ok(Some(r)),
            Err(error) => {
                slot.failed.set(true);
                let plugin = slot.handle.name().to_string();
                tracing::error!(plugin = %plugin, "plugin failed, request gets 503: {error}");
                slot.handle.record_failure(&error);
                Err(Halt::Failed { plugin, error })
            }
        }
    }

    /// Whether the plugin at `index` implements `callback` (a busy VM counts as yes: the call
    /// then reports it).
    pub(crate) fn implements(&self, index: usize, callback: HttpCallbacks) -> bool {
        self.slots[index].handle.vm.try_borrow().map_or(true, |vm| vm.implements(callback))
    }

    /// Runs one guest callback of `slot`'s plugin, adding its time to the slot.
    fn timed<R>(&self, slot: &Slot, f: impl FnOnce() -> R) -> R {
        let started = self.clock.take().unwrap_or_else(clock::ticks);
        let result = f();
        let ended = clock::ticks();
        self.clock.set(Some(ended));
        slot.time.add(started, ended);
        result
    }

    /// Ends a run of consecutive callbacks: the next callback reads the clock for its start.
    pub(crate) fn end_run(&self) {
        self.clock.set(None);
    }

    /// Creates the plugin's HTTP context if needed. `Ok(false)`: skip it (failed VM under
    /// `FAIL_OPEN`).
    fn ensure_context(&self, index: usize) -> Result<bool, Halt> {
        let slot = &self.slots[index];
        if slot.ctx.get().is_some() {
            return Ok(true);
        }
        let handle = &slot.handle;
        let failure = handle.vm.try_borrow().ok().and_then(|vm| vm.failure().cloned());
        if let Some(error) = failure {
            return match handle.plugin.config.failure_policy {
                FailurePolicy::FailOpen => Ok(false),
                FailurePolicy::FailClosed | FailurePolicy::FailReload => Err(Halt::Failed {
                    plugin: handle.name().to_string(),
                    error: VmError::Failed(error.to_string()),
                }),
            };
        }
        let created = match handle.vm.try_borrow_mut() {
            Ok(mut vm) => vm
                .create_http_context(handle.root_context.get(), self.stream.clone())
                .map(|c| (c, vm.instance())),
            Err(_) => Err(VmError::Busy),
        };
        match created {
            Ok((ctx, instance)) => {
                slot.ctx.set(Some(ctx));
                slot.instance.set(instance);
                Ok(true)
            }
            Err(error) => {
                handle.record_failure(&error);
                Err(Halt::Failed { plugin: handle.name().to_string(), error })
            }
        }
    }

    /// Runs `proxy_on_request_headers` through the chain from plugin `start` on, waiting where
    /// a plugin pauses. `Ok(Some(i))`: plugin `i` answered `StopIteration` with
    /// `allow_on_headers_stop_iteration` and the request has a body: the headers stay with it
    /// while its body callbacks go on (the caller feeds it the body, then resumes at `i + 1`).
    pub async fn request_headers(&self, start: usize, end_of_stream: bool) -> Result<Option<usize>, Halt> {
        let result = self.request_headers_run(start, end_of_stream).await;
        self.end_run();
        result
    }

    async fn request_headers_run(&self, start: usize, end_of_stream: bool) -> Result<Option<usize>, Halt> {
        for index in start..self.slots.len() {
            if !self.ensure_context(index)? {
                continue;
            }
            self.response_order.borrow_mut().insert(0, index);
            self.stream.data.borrow_mut().continue_request = false;
            let count = self.stream.data.borrow().request_headers.len();
            let status = self.call(index, HttpCallbacks::REQUEST_HEADERS, |vm, ctx| {
                vm.on_request_headers(ctx, count, end_of_stream)
            })?;
            self.check(Direction::Request, index)?;
            if status.is_some_and(stops_headers) {
                self.end_run();
                let holds = status == Some(HeadersStatus::StopIteration as u32)
                    && self.slots[index].handle.plugin.config.allow_on_headers_stop_iteration;
                if holds && !end_of_stream {
                    return Ok(Some(index));
                }
                self.wait(Direction::Request, index).await?;
            }
        }
        Ok(None)
    }

    /// Runs `proxy_on_response_headers` over the plugins that saw the request, last first.
    pub async fn response_headers(&self, end_of_stream: bool) -> Result<(), Halt> {
        let result = self.response_headers_run(end_of_stream).await;
        self.end_run();
        result
    }

    async fn response_headers_run(&self, end_of_stream: bool) -> Result<(), Halt> {
        // By position: the order is fixed while the response headers run.
        let plugins = self.response_order.borrow().len();
        for position in 0..plugins {
            let Some(index) = self.response_order.borrow().get(position).copied() else { break };
            self.stream.data.borrow_mut().continue_response = false;
            let count = self.stream.data.borrow().response_headers.as_ref().map_or(0, |h| h.len());
            let status = self.call(index, HttpCallbacks::RESPONSE_HEADERS, |vm, ctx| {
                vm.on_response_headers(ctx, count, end_of_stream)
            })?;
            self.check(Direction::Response, index)?;
            if status.is_some_and(stops_headers) {
                self.end_run();
                self.wait(Direction::Response, index).await?;
            }
        }
        Ok(())
    }

    /// Restricts the response to plugins `index` down to 0 (a local reply sent by `index`
    /// during the request phase is seen only by plugins that saw the request up to it).
    pub fn start_response_at(&self, index: usize) {
        self.response_order.borrow_mut().retain(|i| *i <= index);
    }

    /// After a callback: did the plugin answer or reset the stream?
    pub(crate) fn check(&self, direction: Direction, index: usize) -> Result<(), Halt> {
        let data = self.stream.data.borrow();
        if data.local_reply.is_some() {
            return Err(Halt::LocalReply(index));
        }
        if data.close_requested {
            return Err(Halt::Reset);
        }
        let _ = direction;
        Ok(())
    }

    /// Waits until the plugin at `index` continues the stream (or answers / resets it).
    pub(crate) async fn wait(&self, direction: Direction, index: usize) -> Result<(), Halt> {
        loop {
            let notified = self.stream.wake.notified();
            {
                let mut data = self.stream.data.borrow_mut();
                if data.local_reply.is_some() {
                    return Err(Halt::LocalReply(index));
                }
                if data.close_requested {
                    return Err(Halt::Reset);
                }
                let flag = match direction {
                    Direction::Request => &mut data.continue_request,
                    Direction::Response => &mut data.continue_response,
                };
                if *flag {
                    *flag = false;
                    return Ok(());
                }
            }
            if self.slots[index].failed.get() {
                return Err(Halt::Failed {
                    plugin: self.slots[index].handle.name().to_string(),
                    error: VmError::Failed("VM failed while the stream was paused".into()),
                });
            }
            notified.await;
        }
    }

    /// Sets what runs when the exchange ends.
    pub fn on_finish(&self, finisher: Finisher) {
        *self.finisher.borrow_mut() = Some(finisher);
    }

    /// Records that a body stopped the exchange, for whoever waits in [`Chain::halted`].
    pub(crate) fn set_halt(&self, halt: Halt) {
        *self.halt.borrow_mut() = Some(halt);
        self.halted.notify_one();
    }

    /// Takes a recorded halt, if a body stopped the exchange.
    pub fn take_halt(&self) -> Option<Halt> {
        self.halt.borrow_mut().take()
    }

    /// Resolves when a body callback stopped the exchange (local reply, reset, failure).
    pub async fn halted(&self) -> Halt {
        loop {
            let notified = self.halted.notified();
            if let Some(halt) = self.halt.borrow().clone() {
                return halt;
            }
            notified.await;
        }
    }

    /// The local reply a plugin requested, taken out of the stream.
    pub fn take_local_reply(&self) -> Option<LocalReply> {
        self.stream.data.borrow_mut().local_reply.take()
    }

    /// Ends every context (`proxy_on_log`, `proxy_on_done`, `proxy_on_delete`), once. Like
    /// Envoy, plugins that never saw the request (a plugin before them answered) still get a
    /// context for logging.
    pub fn finish(&self) {
        if self.finished.replace(true) {
            return;
        }
        self.stream.data.borrow_mut().phase = weir_http::Phase::Done;
        // Envoy logs every filter first, then destroys them (on_done, on_delete) in order.
        let mut logged = Vec::with_capacity(self.slots.len());
        for slot in &self.slots {
            let ctx = slot.ctx.take();
            if slot.failed.get() {
                continue;
            }
            let result = match slot.handle.vm.try_borrow_mut() {
                // Its VM was replaced: the context went with the old one.
                Ok(vm) if ctx.is_some() && vm.instance() != slot.instance.get() => continue,
                Ok(mut vm) if vm.failure().is_none() => {
                    let ctx = match ctx {
                        Some(ctx) => Ok(ctx),
                        None => vm.create_http_context(slot.handle.root_context.get(), self.stream.clone()),
                    };
                    ctx.and_then(|ctx| vm.log_http_context(ctx).map(|()| ctx))
                }
                Ok(mut vm) => {
                    if let Some(ctx) = ctx {
                        vm.forget_http_context(ctx);
                    }
                    continue;
                }
                Err(_) => Err(VmError::Busy),
            };
            match result {
                Ok(ctx) => logged.push((slot, ctx)),
                Err(error) => Self::report(slot, &error),
            }
        }
        for (slot, ctx) in logged {
            let result = match slot.handle.vm.try_borrow_mut() {
                Ok(mut vm) => vm.destroy_http_context(ctx),
                Err(_) => Err(VmError::Busy),
            };
            if let Err(error) = result {
                Self::report(slot, &error);
            }
        }
        if let Some(finisher) = self.finisher.borrow_mut().take() {
            finisher(&self.stream.data.borrow(), self);
        }
        self.flush_times();
    }

    /// Each plugin's callbacks in this exchange so far (before they are added to its stats).
    pub fn plugin_times(&self) -> impl Iterator<Item = crate::trace::PluginTime<'_>> {
        self.slots.iter().map(|slot| crate::trace::PluginTime {
            name: slot.handle.name(),
            calls: slot.time.calls.get(),
            ns: slot.time.ns.get(),
            first: slot.time.first.get(),
            last: slot.time.last.get(),
        })
    }

    /// Adds this exchange's callback times to the plugins' stats.
    fn flush_times(&self) {
        for slot in &self.slots {
            slot.time.flush(&slot.handle.plugin.stats);
        }
    }

    fn report(slot: &Slot, error: &VmError) {
        tracing::error!(plugin = %slot.handle.name(), "plugin failed while ending a stream: {error}");
        slot.handle.record_failure(error);
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        self.finish();
        // Callbacks after `finish` (none usually) are counted too.
        self.flush_times();
    }
}

fn stops_headers(status: u32) -> bool {
    !matches!(
        HeadersStatus::from_raw(status),
        Some(HeadersStatus::Continue | HeadersStatus::ContinueAndEndStream)
    )
}
