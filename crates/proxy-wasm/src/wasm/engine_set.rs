//! One wasmtime engine, configured for one guest stack size, and its linker with every
//! hostcall.

use std::collections::HashSet;

use wasmtime::{Config, Engine, Linker, OptLevel, Store};

use super::{HostState, LoadError, VmEnv};

/// Set to `perfmap` to have the engines write `/tmp/perf-<pid>.map`, so `perf report` names
/// the guest's (JIT-compiled) functions; for profiling only.
pub const PROFILER_ENV: &str = "WEIR_WASM_PROFILER";

/// An engine and the linker built for it.
pub(super) struct EngineSet {
    pub(super) engine: Engine,
    pub(super) linker: Linker<HostState>,
    pub(super) defined: HashSet<(String, String)>,
}

/// wasmtime's default `async_stack_size`.
const DEFAULT_ASYNC_STACK: usize = 2 * 1024 * 1024;

pub(super) fn build_engine(max_stack: usize) -> Result<EngineSet, LoadError> {
    let mut config = Config::new();
    config
        .epoch_interruption(true)
        .wasm_backtrace_max_frames(std::num::NonZeroUsize::new(64))
        .cranelift_opt_level(OptLevel::Speed)
        // Guests get a bounded native stack; overflowing it traps the VM, not the proxy.
        // wasmtime refuses a `max_wasm_stack` above `async_stack_size` (2 MiB by default)
        // even without async support, so that one follows.
        .max_wasm_stack(max_stack)
        .async_stack_size(max_stack.max(DEFAULT_ASYNC_STACK));
    if std::env::var(PROFILER_ENV).is_ok_and(|v| v == "perfmap") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    let engine = Engine::new(&config).map_err(|e| LoadError::Engine(e.to_string()))?;
    let mut linker = Linker::new(&engine);
    crate::abi::add_to_linker(&mut linker).map_err(|e| LoadError::Engine(e.to_string()))?;
    let defined = {
        let mut store = Store::new(&engine, HostState::new(VmEnv::detached()));
        linker.iter(&mut store).map(|(module, name, _)| (module.to_string(), name.to_string())).collect()
    };
    Ok(EngineSet { engine, linker, defined })
}
