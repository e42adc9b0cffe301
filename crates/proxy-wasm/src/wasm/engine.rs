//! The process's wasmtime engines (one per guest stack size, since wasmtime fixes the stack
//! limit per engine), their linkers with every hostcall (built once each), the compiled-module
//! cache, and the epoch ticker that enforces per-callback time budgets.
//!
//! An engine for another stack size lives as long as a module compiled for it: a config
//! cycling through `max_stack_bytes` values does not pile up engines. Guest stacks are at most
//! [`MAX_STACK`], and every thread that runs guest code has [`GUEST_THREAD_STACK`] of native
//! stack, so a guest at its limit traps instead of overflowing the thread.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use wasmtime::Engine;

use super::LoadError;
use super::engine_set::{EngineSet, build_engine};
use super::module::CompiledModule;

/// How often the engines' epoch advances; callback deadlines are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

pub use weir_plugin_spec::{DEFAULT_MAX_STACK, MAX_STACK};

/// Native stack of every thread that runs guest code (workers, the configuration canary):
/// room for the largest guest stack plus the host's own frames (hostcalls run on it too).
pub const GUEST_THREAD_STACK: usize = MAX_STACK + 4 * 1024 * 1024;

/// One per process: engines by stack size, the module cache and the epoch ticker.
pub struct Engines {
    default: Arc<EngineSet>,
    /// Engines for other stack sizes, while a module compiled for them is alive.
    engines: Arc<Mutex<HashMap<usize, std::sync::Weak<EngineSet>>>>,
    /// Modules in use, by SHA-256 and stack size: a reload of an unchanged module reuses it.
    compiled: Mutex<HashMap<(String, usize), std::sync::Weak<CompiledModule>>>,
    cache_dir: Option<PathBuf>,
    /// Advances the epochs; stopped when the engines go.
    _ticker: EpochTicker,
}

impl std::fmt::Debug for Engines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engines").field("cache_dir", &self.cache_dir).finish_non_exhaustive()
    }
}

impl Engines {
    /// A runtime without a module cache on disk.
    pub fn new() -> Result<Arc<Engines>, LoadError> {
        Engines::with_cache(None)
    }

    /// A runtime that keeps compiled modules in `cache_dir` (created if missing), keyed by
    /// the module's SHA-256 and the engine's configuration, so a restart skips compilation.
    pub fn with_cache(cache_dir: Option<PathBuf>) -> Result<Arc<Engines>, LoadError> {
        let default = Arc::new(build_engine(DEFAULT_MAX_STACK)?);
        let engines: Arc<Mutex<HashMap<usize, std::sync::Weak<EngineSet>>>> = Arc::default();
        let ticker = EpochTicker::start(default.engine.clone(), engines.clone());
        Ok(Arc::new(Engines { default, engines, compiled: Mutex::default(), cache_dir, _ticker: ticker }))
    }

    /// The engine for guests with `max_stack` bytes of stack (built on first use).
    pub(super) fn engine_set(&self, max_stack: usize) -> Result<Arc<EngineSet>, LoadError> {
        if max_stack == DEFAULT_MAX_STACK {
            return Ok(self.default.clone());
        }
        if max_stack > MAX_STACK {
            return Err(LoadError::Engine(format!("a guest stack of {max_stack} bytes is over {MAX_STACK}")));
        }
        let mut engines = self.engines.lock();
        engines.retain(|_, set| set.strong_count() > 0);
        if let Some(set) = engines.get(&max_stack).and_then(std::sync::Weak::upgrade) {
            return Ok(set);
        }
        let set = Arc::new(build_engine(max_stack)?);
        engines.insert(max_stack, Arc::downgrade(&set));
        Ok(set)
    }

    /// Engines alive now (the default one and those modules still use).
    pub fn engines(&self) -> usize {
        1 + self.engines.lock().values().filter(|set| set.strong_count() > 0).count()
    }

    /// The engine with the default stack limit.
    pub fn engine(&self) -> &Engine {
        &self.default.engine
    }

    /// Compiles (or loads from the cache) and links a module for guests with the default
    /// stack. `name` labels errors (usually the plugin name or path).
    pub fn compile(&self, name: &str, bytes: &[u8]) -> Result<Arc<CompiledModule>, LoadError> {
        self.compile_with_stack(name, bytes, DEFAULT_MAX_STACK)
    }

    /// Compiles and links a module for guests with `max_stack` bytes of stack.
    pub fn compile_with_stack(
        &self,
        name: &str,
        bytes: &[u8],
        max_stack: usize,
    ) -> Result<Arc<CompiledModule>, LoadError> {
        let key = (hex::encode(Sha256::digest(bytes)), max_stack);
        if let Some(module) = self.compiled.lock().get(&key).and_then(std::sync::Weak::upgrade) {
            return Ok(module);
        }
        let set = self.engine_set(max_stack)?;
        let module =
            Arc::new(CompiledModule::compile(&set, self.cache_dir.as_deref(), name, bytes, key.0.clone())?);
        let mut compiled = self.compiled.lock();
        compiled.retain(|_, m| m.strong_count() > 0);
        compiled.insert(key, Arc::downgrade(&module));
        Ok(module)
    }
}

struct EpochTicker {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(default: Engine, others: Arc<Mutex<HashMap<usize, std::sync::Weak<EngineSet>>>>) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("weir-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    default.increment_epoch();
                    for set in others.lock().values().filter_map(std::sync::Weak::upgrade) {
                        set.engine.increment_epoch();
                    }
                }
            })
            .map_err(|e| tracing::error!("cannot start the epoch ticker, callbacks have no time limit: {e}"))
            .ok();
        EpochTicker { stop, handle }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
