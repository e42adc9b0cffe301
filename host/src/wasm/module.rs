//! A compiled, linked proxy-wasm module, ready to be instantiated on any worker.

use std::collections::HashSet;

use sha2::{Digest, Sha256};
use wasmtime::{Engine, InstancePre, Linker, Module};
use weir_abi::AbiVersion;

use super::{HostState, LoadError};

/// A module compiled once per process; workers instantiate it from [`InstancePre`].
pub struct CompiledModule {
    name: String,
    sha256: String,
    abi: AbiVersion,
    module: Module,
    pre: InstancePre<HostState>,
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
        engine: &Engine,
        linker: &Linker<HostState>,
        defined: &HashSet<(String, String)>,
        name: &str,
        bytes: &[u8],
    ) -> Result<CompiledModule, LoadError> {
        let module = Module::new(engine, bytes)
            .map_err(|e| LoadError::Compile { module: name.to_string(), reason: format!("{e:#}") })?;
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
        Ok(CompiledModule {
            name: name.to_string(),
            sha256: hex::encode(Sha256::digest(bytes)),
            abi,
            module,
            pre,
        })
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

    pub(super) fn instance_pre(&self) -> &InstancePre<HostState> {
        &self.pre
    }
}
