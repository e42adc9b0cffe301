//! A plugin as the process knows it: its config, compiled module and counters.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::config::PluginConfig;
use crate::wasm::{CompiledModule, LoadError, VmError, VmLimits, WasmRuntime};

/// Counters of one plugin across workers.
#[derive(Debug, Default)]
pub struct PluginStats {
    /// Callbacks that failed (trap, timeout, exit).
    pub failures: AtomicU64,
    /// Of which: traps.
    pub traps: AtomicU64,
    /// Of which: time limit exceeded.
    pub timeouts: AtomicU64,
}

impl PluginStats {
    /// Counts a failure.
    pub fn record(&self, error: &VmError) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        match error {
            VmError::Trap(_) | VmError::Exit(_) => {
                self.traps.fetch_add(1, Ordering::Relaxed);
            }
            VmError::Timeout(_) => {
                self.timeouts.fetch_add(1, Ordering::Relaxed);
            }
            VmError::Failed(_) | VmError::Busy => {}
        }
    }
}

/// A plugin ready to be instantiated on workers.
#[derive(Debug)]
pub struct LoadedPlugin {
    /// Its config.
    pub config: PluginConfig,
    /// The compiled module.
    pub module: Arc<CompiledModule>,
    /// Bytes for `proxy_on_configure`.
    pub configuration: Bytes,
    /// Bytes for `proxy_on_vm_start`.
    pub vm_configuration: Bytes,
    /// Plugins with the same key share a VM per worker: module hash, `vm_id`, VM config.
    pub vm_key: String,
    /// Environment variables for WASI.
    pub environment: Arc<Vec<(String, String)>>,
    /// Counters.
    pub stats: PluginStats,
}

impl LoadedPlugin {
    /// Reads and compiles the plugin's module (reusing `cache` for modules already compiled in
    /// this load, keyed by path).
    pub fn load(
        runtime: &WasmRuntime,
        config: &PluginConfig,
        cache: &mut HashMap<PathBuf, Arc<CompiledModule>>,
    ) -> Result<Arc<LoadedPlugin>, LoadError> {
        let module = match cache.get(&config.wasm) {
            Some(module) => module.clone(),
            None => {
                let bytes = std::fs::read(&config.wasm)
                    .map_err(|source| LoadError::Read { path: config.wasm.display().to_string(), source })?;
                let module = runtime.compile(&config.name, &bytes)?;
                cache.insert(config.wasm.clone(), module.clone());
                module
            }
        };
        let vm_configuration = Bytes::from(config.vm_configuration_bytes());
        let vm_key = format!(
            "{}/{}/{}",
            module.sha256(),
            config.vm_id,
            hex::encode(Sha256::digest(&vm_configuration))
        );
        Ok(Arc::new(LoadedPlugin {
            configuration: Bytes::from(config.configuration_bytes()),
            vm_configuration,
            vm_key,
            environment: Arc::new(
                config.environment_variables.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            ),
            module,
            config: config.clone(),
            stats: PluginStats::default(),
        }))
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Limits for its VMs.
    pub fn limits(&self) -> VmLimits {
        VmLimits {
            max_memory_bytes: self.config.limits.max_memory_bytes,
            max_callback_time: self.config.limits.max_callback_time,
        }
    }
}
