//! One instance of a module on one worker: its store, its contexts, and the checked calls into
//! it. A VM that traps or exceeds a limit is marked failed and runs nothing more.

use std::rc::Rc;
use std::time::Duration;

use wasmtime::{Engine, Store, Trap};
use weir_abi::HttpCallbacks;

use super::error::ProcExit;
use super::exports::GuestExports;
use super::{
    Access, CompiledModule, ContextEntry, EPOCH_TICK, HostState, LoadError, RootContextInfo, VmEnv, VmError,
    VmLimits,
};
use weir_http::StreamShared;

/// A running module instance.
pub struct Vm {
    store: Store<HostState>,
    exports: GuestExports,
    next_context_id: u32,
    failed: Option<VmError>,
    deadline_ticks: u64,
    max_callback_time: Duration,
    /// The HTTP callbacks the module declared (all when it declares none): `proxy_on_log` and
    /// `proxy_on_done` of HTTP contexts are made only when declared.
    http_callbacks: HttpCallbacks,
}

impl std::fmt::Debug for Vm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vm")
            .field("vm_id", &self.store.data().vm_id())
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl Vm {
    /// Instantiates `module` and runs its initializer (`_initialize`, else `_start`).
    pub fn new(
        engine: &Engine,
        module: &CompiledModule,
        env: VmEnv,
        limits: VmLimits,
    ) -> Result<Vm, LoadError> {
        let fail = |reason: String| LoadError::Start { plugin: module.name().to_string(), reason };
        let mut state = HostState::new(env);
        state.limiter = super::VmLimiter {
            max_memory: usize::try_from(limits.max_memory_bytes).unwrap_or(usize::MAX),
            memory_refusals: 0,
        };
        state.limits = limits;
        state.in_flight = super::InFlight::new(limits.max_callout_bytes_in_flight);
        state.log_budget = crate::abi::LogBudget::new(limits.max_log_lines_per_second);
        let mut store = Store::new(engine, state);
        store.limiter(|s| &mut s.limiter);
        let deadline_ticks = limits.max_callback_time.as_millis().div_ceil(EPOCH_TICK.as_millis()) as u64 + 1;
        store.set_epoch_deadline(deadline_ticks);
        let instance =
            module.instance_pre().instantiate(&mut store).map_err(|e| fail(format!("instantiate: {e:#}")))?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| fail("module exports no `memory`".into()))?;
        let exports = GuestExports::resolve(&instance, &mut store).map_err(fail)?;
        store.data_mut().memory = Some(memory);
        store.data_mut().malloc = exports.malloc.clone();
        let mut vm = Vm {
            store,
            exports,
            next_context_id: 1,
            failed: None,
            deadline_ticks,
            max_callback_time: limits.max_callback_time,
            http_callbacks: HttpCallbacks::ALL,
        };
        let init = vm.exports.initialize.clone().or_else(|| vm.exports.start.clone());
        if let Some(init) = init {
            match vm.call(0, |store, _| init.call(store, ())) {
                Ok(()) | Err(VmError::Exit(0)) => vm.failed = None,
                Err(e) => return Err(fail(format!("initialisation failed: {e}"))),
            }
        }
        // Asked after the initializer, which is where a weir-sdk module makes its declaration.
        if let Some(declared) = vm.exports.http_callbacks.clone() {
            let raw = vm
                .call(0, |store, _| declared.call(store, ()))
                .map_err(|e| fail(format!("{}: {e}", weir_abi::callbacks::EXPORT)))?;
            vm.http_callbacks = HttpCallbacks::from_raw(raw as u32);
            vm.exports.keep_http(vm.http_callbacks);
        }
        Ok(vm)
    }

    /// The process-unique instance number of this VM.
    pub fn instance(&self) -> u64 {
        self.store.data().env.instance
    }

    /// Why the VM failed, if it has.
    pub fn failure(&self) -> Option<&VmError> {
        self.failed.as_ref()
    }

    /// The module's exported callbacks.
    pub(super) fn exports(&self) -> &GuestExports {
        &self.exports
    }

    /// The host state (for inspection by the owner).
    pub fn state(&self) -> &HostState {
        self.store.data()
    }

    /// Mutable host state.
    pub fn state_mut(&mut self) -> &mut HostState {
        self.store.data_mut()
    }

    /// Guest linear memory size in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.store.data().memory.map_or(0, |m| m.data_size(&self.store))
    }

    fn next_id(&mut self) -> u32 {
        let id = self.next_context_id;
        self.next_context_id = self.next_context_id.wrapping_add(1).max(1);
        id
    }

    /// Whether the module implements an HTTP callback: exports it and, if it declared its
    /// callbacks, declared it. One it does not is not made (it would continue).
    pub fn implements(&self, callback: HttpCallbacks) -> bool {
        let e = &self.exports;
        self.http_callbacks.contains(callback)
            && match callback {
                HttpCallbacks::REQUEST_HEADERS => e.on_request_headers.is_some(),
                HttpCallbacks::REQUEST_BODY => e.on_request_body.is_some(),
                HttpCallbacks::REQUEST_TRAILERS => e.on_request_trailers.is_some(),
                HttpCallbacks::RESPONSE_HEADERS => e.on_response_headers.is_some(),
                HttpCallbacks::RESPONSE_BODY => e.on_response_body.is_some(),
                HttpCallbacks::RESPONSE_TRAILERS => e.on_response_trailers.is_some(),
                HttpCallbacks::LOG => e.on_log.is_some(),
                HttpCallbacks::DONE => e.on_done.is_some(),
                _ => true,
            }
    }

    /// Runs one guest call for context `ctx` under the callback deadline; any failure marks the
    /// VM failed.
    pub(crate) fn call<R>(
        &mut self,
        ctx: u32,
        f: impl FnOnce(&mut Store<HostState>, &GuestExports) -> wasmtime::Result<R>,
    ) -> Result<R, VmError> {
        if let Some(failed) = &self.failed {
            return Err(VmError::Failed(failed.to_string()));
        }
        self.store.data_mut().effective_context = ctx;
        self.store.set_epoch_deadline(self.deadline_ticks);
        let result = f(&mut self.store, &self.exports);
        result.map_err(|err| {
            let limiter = &self.store.data().limiter;
            let error = classify(err, self.max_callback_time, limiter.memory_refusals, limiter.max_memory);
            self.failed = Some(error.clone());
            // `proc_exit(0)` from an initializer is a normal end (`Vm::new` keeps the VM).
            if !matches!(error, VmError::Exit(0)) {
                self.release();
            }
            error
        })
    }

    /// A failed VM runs nothing more, so its instance goes now: linear memory, tables,
    /// contexts, tick timers and callouts in flight are dropped, rather than when the VM is
    /// replaced (after a backoff, under `FAIL_RELOAD`) or when the configuration changes
    /// (`FAIL_CLOSED`, `FAIL_OPEN`). A VM that failed at its memory cap would otherwise keep
    /// that memory. What stays is an empty store with the VM's identity (for logs and the
    /// callouts and timers that still look it up, which then find it failed).
    fn release(&mut self) {
        let husk = Store::new(self.store.engine(), HostState::new(self.store.data().env.clone()));
        drop(std::mem::replace(&mut self.store, husk));
    }

    /// Creates a plugin's root context and delivers `proxy_on_context_create(id, 0)`.
    pub fn create_root_context(&mut self, info: RootContextInfo) -> Result<u32, VmError> {
        let id = self.next_id();
        self.store.data_mut().contexts.insert(id, ContextEntry::Root(info));
        if let Some(f) = self.exports.on_context_create.clone() {
            self.call(id, |s, _| f.call(s, (id as i32, 0)))?;
        }
        Ok(id)
    }

    /// `proxy_on_vm_start(root, vm_configuration_size)`; a missing export counts as success.
    pub fn on_vm_start(&mut self, root: u32) -> Result<bool, VmError> {
        let size = self.store.data().env.vm_configuration.len() as i32;
        self.configuring(|vm| {
            vm.call(root, |s, e| match &e.on_vm_start {
                Some(f) => f.call(s, (root as i32, size)).map(|r| r != 0),
                None => Ok(true),
            })
        })
    }

    /// `proxy_on_configure(root, plugin_configuration_size)`; a missing export counts as success.
    pub fn on_configure(&mut self, root: u32) -> Result<bool, VmError> {
        let size = self.store.data().root_of(root).map_or(0, |r| r.configuration.len()) as i32;
        self.configuring(|vm| {
            vm.call(root, |s, e| match &e.on_configure {
                Some(f) => f.call(s, (root as i32, size)).map(|r| r != 0),
                None => Ok(true),
            })
        })
    }

    /// Runs `f` with the plugin configuration readable (Envoy's `temp_plugin_` window).
    fn configuring<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        self.store.data_mut().configuring = true;
        self.store.data_mut().configure_errors.clear();
        let result = f(self);
        self.store.data_mut().configuring = false;
        result
    }

    /// What the plugin logged at warn level or above during its last `proxy_on_vm_start` or
    /// `proxy_on_configure` (its reasons for refusing a configuration, usually).
    pub fn configure_errors(&self) -> &[String] {
        &self.store.data().configure_errors
    }

    /// `proxy_on_tick(root)`.
    pub fn on_tick(&mut self, root: u32) -> Result<(), VmError> {
        match self.exports.on_tick.clone() {
            Some(f) => self.call(root, |s, _| f.call(s, root as i32)),
            None => Ok(()),
        }
    }

    /// `proxy_on_queue_ready(root, queue_id)`.
    pub fn on_queue_ready(&mut self, root: u32, queue: u32) -> Result<(), VmError> {
        match self.exports.on_queue_ready.clone() {
            Some(f) => self.call(root, |s, _| f.call(s, (root as i32, queue as i32))),
            None => Ok(()),
        }
    }

    /// Creates an HTTP context under `root` for `stream` (`proxy_on_context_create(id, root)`).
    pub fn create_http_context(&mut self, root: u32, stream: Rc<StreamShared>) -> Result<u32, VmError> {
        self.create_stream_context(root, stream, false)
    }

    /// Creates a stream context under `root`: an HTTP exchange's, or a TCP connection's
    /// (`network`).
    pub(super) fn create_stream_context(
        &mut self,
        root: u32,
        stream: Rc<StreamShared>,
        network: bool,
    ) -> Result<u32, VmError> {
        let id = self.next_id();
        self.store
            .data_mut()
            .contexts
            .insert(id, ContextEntry::Stream { root, stream, access: Access::default(), network });
        let created = self.call(id, |s, e| match &e.on_context_create {
            Some(f) => f.call(s, (id as i32, root as i32)),
            None => Ok(()),
        });
        if let Err(e) = created {
            self.store.data_mut().contexts.remove(&id);
            return Err(e);
        }
        Ok(id)
    }

    /// Changes an HTTP context's access window.
    pub(crate) fn set_access(&mut self, ctx: u32, f: impl FnOnce(&mut Access)) {
        if let Some(ContextEntry::Stream { access, .. }) = self.store.data_mut().contexts.get_mut(&ctx) {
            f(access);
        }
    }

    /// Runs an HTTP callback with a part of the stream opened, closing it again when the
    /// callback answered "continue" (Envoy drops its pointer then).
    pub(super) fn windowed(
        &mut self,
        ctx: u32,
        open: fn(&mut Access, bool),
        body_eos: Option<bool>,
        call: impl FnOnce(&mut Store<HostState>, &GuestExports) -> wasmtime::Result<i32>,
    ) -> Result<u32, VmError> {
        self.set_access(ctx, |a| {
            open(a, true);
            if let Some(eos) = body_eos {
                a.end_of_stream = eos;
            }
        });
        let status = self.call(ctx, call).map(|r| r as u32);
        if let Ok(0) = status {
            self.set_access(ctx, |a| open(a, false));
        }
        status
    }

    /// `proxy_on_request_headers`. A missing export continues.
    pub fn on_request_headers(&mut self, ctx: u32, count: usize, eos: bool) -> Result<u32, VmError> {
        let status = self.windowed(ctx, open_request_headers, None, |s, e| match &e.on_request_headers {
            Some(f) => f.call(s, ctx as i32, count as i32, eos),
            None => Ok(0),
        });
        // ContinueAndEndStream also lets go of the headers.
        if let Ok(2) = status {
            self.set_access(ctx, |a| a.request_headers = false);
        }
        status
    }

    /// `proxy_on_response_headers`. A missing export continues.
    pub fn on_response_headers(&mut self, ctx: u32, count: usize, eos: bool) -> Result<u32, VmError> {
        let status = self.windowed(ctx, open_response_headers, None, |s, e| match &e.on_response_headers {
            Some(f) => f.call(s, ctx as i32, count as i32, eos),
            None => Ok(0),
        });
        if let Ok(2) = status {
            self.set_access(ctx, |a| a.response_headers = false);
        }
        status
    }

    /// `proxy_on_request_body`. A missing export continues.
    pub fn on_request_body(&mut self, ctx: u32, size: usize, eos: bool) -> Result<u32, VmError> {
        self.windowed(ctx, open_request_body, Some(eos), |s, e| match &e.on_request_body {
            Some(f) => f.call(s, (ctx as i32, size as i32, i32::from(eos))),
            None => Ok(0),
        })
    }

    /// `proxy_on_response_body`. A missing export continues.
    pub fn on_response_body(&mut self, ctx: u32, size: usize, eos: bool) -> Result<u32, VmError> {
        self.windowed(ctx, open_response_body, Some(eos), |s, e| match &e.on_response_body {
            Some(f) => f.call(s, (ctx as i32, size as i32, i32::from(eos))),
            None => Ok(0),
        })
    }

    /// `proxy_on_request_trailers`. A missing export continues.
    pub fn on_request_trailers(&mut self, ctx: u32, count: usize) -> Result<u32, VmError> {
        self.windowed(ctx, open_request_trailers, None, |s, e| match &e.on_request_trailers {
            Some(f) => f.call(s, (ctx as i32, count as i32)),
            None => Ok(0),
        })
    }

    /// `proxy_on_response_trailers`. A missing export continues.
    pub fn on_response_trailers(&mut self, ctx: u32, count: usize) -> Result<u32, VmError> {
        self.windowed(ctx, open_response_trailers, None, |s, e| match &e.on_response_trailers {
            Some(f) => f.call(s, (ctx as i32, count as i32)),
            None => Ok(0),
        })
    }

    /// `proxy_on_log` with the stream's maps readable (Envoy's access-log phase).
    pub fn log_http_context(&mut self, ctx: u32) -> Result<(), VmError> {
        if !self.http_callbacks.contains(HttpCallbacks::LOG) {
            return Ok(());
        }
        self.set_access(ctx, |a| *a = Access { log: true, ..Access::default() });
        let logged = self.call(ctx, |s, e| match &e.on_log {
            Some(f) => f.call(s, ctx as i32),
            None => Ok(()),
        });
        self.set_access(ctx, |a| *a = Access::default());
        if logged.is_err() {
            self.forget_http_context(ctx);
        }
        logged
    }

    /// `proxy_on_done` then `proxy_on_delete`, then forgets the context (and cancels its
    /// callouts). The context is forgotten even when a call fails.
    pub fn destroy_http_context(&mut self, ctx: u32) -> Result<(), VmError> {
        let done = self.http_callbacks.contains(HttpCallbacks::DONE);
        let result = self
            .call(ctx, |s, e| match &e.on_done {
                Some(f) if done => f.call(s, ctx as i32).map(|_| ()),
                _ => Ok(()),
            })
            .and_then(|()| {
                self.call(ctx, |s, e| match &e.on_delete {
                    Some(f) => f.call(s, ctx as i32),
                    None => Ok(()),
                })
            });
        self.forget_http_context(ctx);
        result
    }

    /// Drops an HTTP context and its callouts without calling the guest (the stream ended, or
    /// its VM failed).
    pub fn forget_http_context(&mut self, ctx: u32) {
        let state = self.store.data_mut();
        state.contexts.remove(&ctx);
        state.callouts.forget_context(ctx);
    }

    /// Asks a root context to finish (`proxy_on_done`). `Ok(true)`: done now; `Ok(false)`: the
    /// guest will call `proxy_done` when its work ends.
    pub fn root_on_done(&mut self, root: u32) -> Result<bool, VmError> {
        let done = self.call(root, |s, e| match &e.on_done {
            Some(f) => f.call(s, root as i32).map(|r| r != 0),
            None => Ok(true),
        })?;
        if !done && let Some(ContextEntry::Root(info)) = self.store.data_mut().contexts.get_mut(&root) {
            info.done_pending = true;
        }
        Ok(done)
    }

    /// Whether a root context that answered "not yet" has since called `proxy_done`.
    pub fn root_done_called(&self, root: u32) -> bool {
        matches!(self.store.data().contexts.get(&root), Some(ContextEntry::Root(info)) if info.done_called)
    }

    /// Deletes a root context (`proxy_on_delete`) and forgets it.
    pub fn delete_root_context(&mut self, root: u32) -> Result<(), VmError> {
        let result = match self.exports.on_delete.clone() {
            Some(f) => self.call(root, |s, _| f.call(s, root as i32)),
            None => Ok(()),
        };
        self.store.data_mut().contexts.remove(&root);
        result
    }
}

fn open_request_headers(a: &mut Access, on: bool) {
    a.request_headers = on;
}

fn open_response_headers(a: &mut Access, on: bool) {
    a.response_headers = on;
}

fn open_request_body(a: &mut Access, on: bool) {
    a.request_body = on;
}

fn open_response_body(a: &mut Access, on: bool) {
    a.response_body = on;
}

fn open_request_trailers(a: &mut Access, on: bool) {
    a.request_trailers = on;
}

fn open_response_trailers(a: &mut Access, on: bool) {
    a.response_trailers = on;
}

fn classify(err: wasmtime::Error, limit: Duration, memory_refusals: u64, max_memory: usize) -> VmError {
    if let Some(exit) = err.downcast_ref::<ProcExit>() {
        return VmError::Exit(exit.0);
    }
    if let Some(Trap::Interrupt) = err.downcast_ref::<Trap>() {
        return VmError::Timeout(limit);
    }
    let trap = err.downcast_ref::<Trap>().copied();
    let mut text = match trap {
        Some(trap) => trap.to_string(),
        None => err.root_cause().to_string(),
    };
    if memory_refusals > 0 {
        text.push_str(&format!(" after {memory_refusals} memory growth refused at {max_memory} bytes"));
    }
    if let Some(trace) = err.downcast_ref::<wasmtime::WasmBacktrace>() {
        text.push_str(&symbolize(trace));
    }
    match trap {
        Some(Trap::StackOverflow) => VmError::Limit { limit: "max_stack_bytes", detail: text },
        _ if memory_refusals > 0 => VmError::Limit { limit: "max_memory_bytes", detail: text },
        _ => VmError::Trap(text),
    }
}

/// The guest frames of a trap, innermost first, named from the module's name section.
fn symbolize(trace: &wasmtime::WasmBacktrace) -> String {
    let mut out = String::from("\nwasm backtrace:");
    for (i, frame) in trace.frames().iter().enumerate() {
        let name = frame.func_name().map_or_else(
            || format!("<function {}>", frame.func_index()),
            |n| format!("{:#}", rustc_demangle::demangle(n)),
        );
        let offset = frame.module_offset().map_or_else(String::new, |o| format!(" @ {o:#x}"));
        out.push_str(&format!("\n  {i:>2}: {name}{offset}"));
    }
    out
}
