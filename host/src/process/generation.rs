//! A configuration ready to run: the validated config plus its compiled plugins. Immutable;
//! a reload builds a new one and swaps it in.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::Config;
use crate::process::services::ProcessServices;
use crate::upstream::ClusterManager;
use weir_proxy_wasm::plugin::LoadedPlugin;
use weir_proxy_wasm::wasm::{Engines, LoadError};

/// An immutable, ready-to-run configuration.
#[derive(Debug)]
pub struct Generation {
    /// The config it came from.
    pub config: Config,
    /// Its plugins, compiled.
    pub plugins: Vec<Arc<LoadedPlugin>>,
    /// The process's Wasm engines.
    pub engines: Arc<Engines>,
    /// The process's shared services.
    pub process: Arc<ProcessServices>,
    /// Its clusters (process-wide state).
    pub clusters: Arc<ClusterManager>,
}

impl Generation {
    /// Compiles every plugin of `config` and builds its clusters (reusing unchanged clusters
    /// of `previous`).
    pub fn prepare(
        config: Config,
        engines: Arc<Engines>,
        process: Arc<ProcessServices>,
        previous: Option<&Generation>,
    ) -> Result<Generation, LoadError> {
        let mut cache = HashMap::new();
        let plugins = config
            .plugins
            .iter()
            .map(|p| {
                let max = config.module_sources.max_module_bytes;
                LoadedPlugin::load(&engines, p, process.guest.plugin_stats.get(&p.name), &mut cache, max)
            })
            .collect::<Result<Vec<_>, _>>()?;
        // The control plane's cluster is never a `cluster_header` target.
        let mut cluster_configs = config.clusters.clone();
        if let Some(xds) = &config.xds {
            cluster_configs.iter_mut().filter(|c| c.name == xds.cluster).for_each(|c| c.internal = true);
        }
        let clusters =
            Arc::new(ClusterManager::build(&cluster_configs, previous.map(|p| &*p.clusters), &process.stats));
        Ok(Generation { config, plugins, engines, process, clusters })
    }

    /// Publishes this configuration's node identity to plugins (`xds.node.*`).
    pub fn apply_node(&self) {
        let node = self.config.node();
        *self.process.guest.node.write() = Arc::new(crate::process::services::NodeIdentity {
            id: node.id,
            cluster: node.cluster,
            metadata: serde_json::Value::Object(node.metadata),
        });
    }

    /// Gives each `vm_id` its per-`vm_id` limits (shared data, queues, metrics): the largest
    /// value among the plugins of that `vm_id`.
    pub fn apply_vm_limits(&self) {
        let mut by_vm: HashMap<&str, (usize, usize, usize)> = HashMap::new();
        for plugin in &self.plugins {
            let l = &plugin.config.limits;
            let entry = by_vm.entry(plugin.config.vm_id.as_str()).or_default();
            *entry = (
                entry.0.max(l.max_shared_data_bytes),
                entry.1.max(l.max_queue_bytes),
                entry.2.max(l.max_metrics),
            );
        }
        for (vm_id, (shared, queues, metrics)) in by_vm {
            self.process.guest.shared_data.set_limit(vm_id, shared);
            self.process.guest.queues.set_limit(vm_id, queues);
            self.process.guest.metrics.set_limit(vm_id, metrics);
        }
    }

    /// Every `vm_id` its plugins use (where runtime values are published).
    pub fn vm_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.plugins.iter().map(|p| p.config.vm_id.clone()).collect();
        ids.sort();
        ids.dedup();
        ids
    }
}
