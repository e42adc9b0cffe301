//! A configuration ready to run: the validated config plus its compiled plugins. Immutable;
//! a reload builds a new one and swaps it in.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::Config;
use crate::process::services::ProcessServices;
use crate::upstream::ClusterManager;
use weir_proxy_wasm::plugin::LoadedPlugin;
use weir_proxy_wasm::wasm::Engines;
use weir_tls::ServerTls;

use super::error::StartError;

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
    /// Each listener's TLS (by index; `None`: plaintext), shared by the workers. Built from
    /// the files and the process's SDS secrets when the generation is prepared, so a reload
    /// re-reads them; rebuilt in place when a secret changes.
    pub listener_tls: Vec<Option<Arc<ServerTls>>>,
}

impl Generation {
    /// Compiles every plugin of `config` and builds its clusters (reusing unchanged clusters
    /// of `previous`).
    pub fn prepare(
        config: Config,
        engines: Arc<Engines>,
        process: Arc<ProcessServices>,
        previous: Option<&Generation>,
    ) -> Result<Generation, StartError> {
        let mut cache = HashMap::new();
        let sources = &config.module_sources;
        let prefixes = sources.prefixes(&config.plugins);
        let plugins = config
            .plugins
            .iter()
            .map(|p| {
                let stats = process.guest.plugin_stats.get(&p.name);
                let Some(remote) = &p.remote else {
                    return Ok(LoadedPlugin::load(&engines, p, stats, &mut cache, sources.max_module_bytes)?);
                };
                // Loaded from the cached file; the digest is checked again on what is read.
                let mut local = p.clone();
                local.wasm = process
                    .remote_modules
                    .obtain(&p.name, remote, sources, &prefixes, &process.stats)
                    .map_err(|source| StartError::Module { plugin: p.name.clone(), source })?;
                Ok(LoadedPlugin::load(&engines, &local, stats, &mut cache, sources.max_module_bytes)?)
            })
            .collect::<Result<Vec<_>, StartError>>()?;
        // The control plane's cluster is never a `cluster_header` target.
        let mut cluster_configs = config.clusters.clone();
        if let Some(xds) = &config.xds {
            cluster_configs.iter_mut().filter(|c| c.name == xds.cluster).for_each(|c| c.internal = true);
        }
        let clusters =
            Arc::new(ClusterManager::build(&cluster_configs, previous.map(|p| &*p.clusters), &process.stats));
        let listener_tls = config
            .listeners
            .iter()
            .enumerate()
            .map(|(i, l)| {
                l.tls
                    .as_ref()
                    .map(|t| {
                        ServerTls::with_secrets(t, &format!("listeners[{i}].tls"), &process.secrets)
                            .map(Arc::new)
                    })
                    .transpose()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Generation { config, plugins, engines, process, clusters, listener_tls })
    }

    /// Starts watching each listener's certificate files (every `watch_interval`, for as long
    /// as this generation lives).
    pub fn watch_tls(&self) {
        for (tls, listener) in self.listener_tls.iter().zip(&self.config.listeners) {
            if let (Some(tls), Some(settings)) = (tls, &listener.tls) {
                ServerTls::spawn_watcher(tls, settings.watch_interval);
            }
        }
    }

    /// Re-reads every listener's certificate files now (`SIGHUP`, `POST /reload` with an
    /// unchanged configuration): the first refused set is the error, the running ones keep
    /// serving. Clusters' TLS files are re-read too (a refused set is logged, the running one
    /// kept).
    pub fn reload_tls(&self) -> Result<(), StartError> {
        for cluster in self.clusters.iter() {
            if cluster.refresh_tls() {
                tracing::info!(cluster = %cluster.name(), "TLS files changed: new connections use them");
            }
        }
        let mut first = None;
        for tls in self.listener_tls.iter().flatten() {
            match tls.reload() {
                Ok(true) => tracing::info!("{tls:?}: certificates changed: new handshakes use them"),
                Ok(false) => {}
                Err(e) => first = first.or(Some(e)),
            }
        }
        first.map_or(Ok(()), |e| Err(e.into()))
    }

    /// Whether every listener would accept `secrets` as the SDS table (the first refusal).
    pub fn check_secrets(&self, secrets: &weir_tls::SecretMap) -> Result<(), weir_tls::TlsError> {
        self.listener_tls.iter().flatten().try_for_each(|tls| tls.check_with(secrets))
    }

    /// The listeners still waiting for SDS secrets: `(listener name, secret names)`.
    pub fn unready_tls(&self) -> Vec<(String, Vec<String>)> {
        self.listener_tls
            .iter()
            .zip(&self.config.listeners)
            .filter_map(|(tls, l)| {
                tls.as_ref().filter(|t| !t.is_ready()).map(|t| (l.name.clone(), t.sds_names()))
            })
            .collect()
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
