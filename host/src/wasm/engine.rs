//! The process-wide wasmtime engine, the linker with every hostcall, and the epoch ticker that
//! enforces per-callback time budgets.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Engine, Linker, OptLevel, Store};

use super::module::CompiledModule;
use super::{HostState, LoadError, VmEnv};

/// How often the engine's epoch advances; callback deadlines are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// One per process: the engine, the linker (built once) and the epoch ticker.
pub struct WasmRuntime {
    engine: Engine,
    linker: Linker<HostState>,
    defined: HashSet<(String, String)>,
    ticker: EpochTicker,
}

impl std::fmt::Debug for WasmRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmRuntime").finish_non_exhaustive()
    }
}

impl WasmRuntime {
    /// Builds the engine and the linker and starts the epoch ticker.
    pub fn new() -> Result<Arc<WasmRuntime>, LoadError> {
        let mut config = Config::new();
        config
            .epoch_interruption(true)
            .wasm_backtrace_max_frames(std::num::NonZeroUsize::new(64))
            .cranelift_opt_level(OptLevel::Speed)
            // Guests get a bounded native stack; overflowing it traps the VM, not the proxy.
            .max_wasm_stack(1024 * 1024);
        let engine = Engine::new(&config).map_err(|e| LoadError::Engine(e.to_string()))?;
        let mut linker = Linker::new(&engine);
        crate::abi::add_to_linker(&mut linker).map_err(|e| LoadError::Engine(e.to_string()))?;
        let defined = {
            let mut store = Store::new(&engine, HostState::new(VmEnv::detached()));
            linker.iter(&mut store).map(|(module, name, _)| (module.to_string(), name.to_string())).collect()
        };
        let ticker = EpochTicker::start(engine.clone());
        Ok(Arc::new(WasmRuntime { engine, linker, defined, ticker }))
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles and links a module. `name` labels errors (usually the plugin name or path).
    pub fn compile(&self, name: &str, bytes: &[u8]) -> Result<Arc<CompiledModule>, LoadError> {
        CompiledModule::compile(&self.engine, &self.linker, &self.defined, name, bytes).map(Arc::new)
    }

    /// Whether the ticker thread is alive (for readiness checks).
    pub fn ticking(&self) -> bool {
        self.ticker.handle.as_ref().is_some_and(|h| !h.is_finished())
    }
}

struct EpochTicker {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("weir-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
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
