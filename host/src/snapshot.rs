//! A configuration ready to run: the validated config plus its compiled plugins. Immutable;
//! a reload builds a new one and swaps it in.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::Config;
use crate::plugin::LoadedPlugin;
use crate::services::ProcessServices;
use crate::wasm::{LoadError, WasmRuntime};

/// An immutable, ready-to-run configuration.
#[derive(Debug)]
pub struct Snapshot {
    /// The config it came from.
    pub config: Config,
    /// Its plugins, compiled.
    pub plugins: Vec<Arc<LoadedPlugin>>,
    /// The process's Wasm runtime.
    pub runtime: Arc<WasmRuntime>,
    /// The process's shared services.
    pub process: Arc<ProcessServices>,
}

impl Snapshot {
    /// Compiles every plugin of `config`.
    pub fn prepare(
        config: Config,
        runtime: Arc<WasmRuntime>,
        process: Arc<ProcessServices>,
    ) -> Result<Snapshot, LoadError> {
        let mut cache = HashMap::new();
        let plugins = config
            .plugins
            .iter()
            .map(|p| LoadedPlugin::load(&runtime, p, &mut cache))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Snapshot { config, plugins, runtime, process })
    }
}
