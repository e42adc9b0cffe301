//! A compiled, linked proxy-wasm module, ready to be instantiated on any worker.

use std::path::Path;

use wasmtime::{Engine, InstancePre, Module};
use weir_abi::AbiVersion;

use super::engine_set::EngineSet;
use super::{HostState, LoadError, cache};

/// A module compiled once per process; workers instantiate it from [`InstancePre`].
pub struct CompiledModule {
    name: String,
    sha256: String,
    abi: AbiVersion,
    module: Module,
    pre: InstancePre<HostState>,
    /// Keeps the engine (and linker) the module was compiled for alive while it is.
    _engine: std::sync::Arc<EngineSet>,
}

impl std::fmt::Debug for CompiledModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledModule")
            .field("name", &self.name)
            .field("sha256", &self.sha256)
            .field("abi", &self.abi)
            .finish_non_exhaustive()
    }
}

impl CompiledModule {
    pub(super) fn compile(
        set: &std::sync::Arc<EngineSet>,
        cache_dir: Option<&Path>,
        name: &str,
        bytes: &[u8],
        sha256: String,
    ) -> Result<CompiledModule, LoadError> {
        let (engine, linker, defined) = (&set.engine, &set.linker, &set.defined);
        let cached = cache_dir.map(|dir| cache::entry(dir, engine, &sha256));
        let module = match cached.as_deref().and_then(|path| cache::load(engine, path)) {
            Some(module) => module,
            None => {
                let module = Module::new(engine, bytes)
                    .map_err(|e| LoadError::Compile { module: name.to_string(), reason: format!("{e:#}") })?;
                if let Some(path) = &cached {
                    cache::store(path, &module);
                }
                module
            }
        };
        let abi = AbiVersion::detect(module.exports().map(|e| e.name()))
            .ok_or_else(|| LoadError::NotProxyWasm { module: name.to_string() })?;
        let missing: Vec<String> = module
            .imports()
            .filter(|i| !defined.contains(&(i.module().to_string(), i.name().to_string())))
            .map(|import| format!("{}::{}", import.module(), import.name()))
            .collect();
        if !missing.is_empty() {
            return Err(LoadError::Link {
                module: name.to_string(),
                reason: format!("unknown imports: {}", missing.join(", ")),
            });
        }
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| LoadError::Link { module: name.to_string(), reason: format!("{e:#}") })?;
        Ok(CompiledModule { name: name.to_string(), sha256, abi, module, pre, _engine: set.clone() })
    }

    /// The name given at compile time.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Hex SHA-256 of the module bytes.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The proxy-wasm ABI version the module was built for.
    pub fn abi(&self) -> AbiVersion {
        self.abi
    }

    /// The wasmtime module.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// The engine it was compiled for (VMs of it must use this engine).
    pub fn engine(&self) -> &Engine {
        self.module.engine()
    }

    pub(super) fn instance_pre(&self) -> &InstancePre<HostState> {
        &self.pre
    }
}
