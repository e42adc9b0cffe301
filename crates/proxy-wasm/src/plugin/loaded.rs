//! A plugin as the process knows it: its config, compiled module and counters.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::source::{SourceError, read_module};
use crate::services::PluginStats;
use crate::wasm::{CompiledModule, Engines, LoadError, VmLimits};
use weir_plugin_spec::PluginConfig;

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
    /// Counters (shared by every generation of the plugin with this name).
    pub stats: Arc<PluginStats>,
}

impl LoadedPlugin {
    /// Reads (a regular file of at most `max_module_bytes`, see [`read_module`]) and compiles
    /// the plugin's module, reusing `cache` for modules already compiled in this load, keyed by
    /// path.
    pub fn load(
        runtime: &Engines,
        config: &PluginConfig,
        stats: Arc<PluginStats>,
        cache: &mut HashMap<(PathBuf, usize), Arc<CompiledModule>>,
        max_module_bytes: u64,
    ) -> Result<Arc<LoadedPlugin>, LoadError> {
        let stack = config.limits.max_stack_bytes;
        let module = match cache.get(&(config.wasm.clone(), stack)) {
            Some(module) => module.clone(),
            None => {
                let bytes = read_module(&config.wasm, max_module_bytes).map_err(|e| {
                    let path = config.wasm.display().to_string();
                    match e {
                        SourceError::Io { source, .. } => LoadError::Read { path, source },
                        SourceError::Refused { reason, .. } => LoadError::Read {
                            path,
                            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, reason),
                        },
                    }
                })?;
                if let Some(remote) = &config.remote {
                    let got = hex::encode(Sha256::digest(&bytes));
                    if !got.eq_ignore_ascii_case(&remote.sha256) {
                        let path = config.wasm.display().to_string();
                        return Err(LoadError::Digest { path, want: remote.digest(), got });
                    }
                }
                let module = runtime.compile_with_stack(&config.name, &bytes, stack)?;
                cache.insert((config.wasm.clone(), stack), module.clone());
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
            environment: Arc::new(config.environment_variables.resolve()),
            module,
            config: config.clone(),
            stats,
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
            max_concurrent_callouts: self.config.limits.max_concurrent_callouts,
            max_callout_bytes: self.config.limits.max_callout_bytes,
            max_callout_bytes_in_flight: self.config.limits.max_callout_bytes_in_flight,
            max_header_map_bytes: self.config.limits.max_header_map_bytes,
            max_header_map_entries: self.config.limits.max_header_map_entries,
            max_filter_state_bytes: self.config.limits.max_filter_state_bytes,
            max_log_lines_per_second: self.config.limits.max_log_lines_per_second,
        }
    }
}
