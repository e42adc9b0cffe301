//! The running process's state, shared by the admin API, the xDS client and signal handlers:
//! the current generation, and the ways to replace it — a reload of `weir.yaml`, an ECDS plugin
//! config, an RTDS runtime layer. Every change is validated and tried on a throwaway VM set
//! first; on any failure the running configuration stays and the error says why.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot, watch};
use weir_runtime::Layer;

use crate::config::{
    ClusterConfig, Config, ListenerConfig, PluginConfig, PluginOverride, VirtualHostConfig, apply_overrides,
};
use crate::process::Generation;
use crate::process::ProcessControl;
use crate::process::StartError;
use crate::process::services::{ProcessServices, WorkerServices};
use crate::process::worker::WorkerCommand;
use crate::upstream::Upstreams;
use weir_proxy_wasm::plugin::WorkerPlugins;

/// Process-wide state shared with the admin server and the xDS client.
pub struct ServerState {
    /// The running generation.
    pub generation: ArcSwap<Generation>,
    /// Bound listener addresses by name.
    listeners: Mutex<Vec<(String, SocketAddr)>>,
    /// The control thread's runtime (background tasks).
    pub control: tokio::runtime::Handle,
    pub(crate) workers: Mutex<Vec<mpsc::UnboundedSender<WorkerCommand>>>,
    pub(crate) serving: watch::Sender<bool>,
    pub(crate) xds: Mutex<Option<weir_xds::client::XdsClient>>,
    /// The config as loaded (before ECDS overrides).
    base: Mutex<Config>,
    /// ECDS plugin configs by resource name.
    overrides: Mutex<BTreeMap<String, PluginOverride>>,
    /// Clusters and routes from xDS, added to the config's.
    dynamic: Mutex<Dynamic>,
    reload_lock: Mutex<()>,
}

impl std::fmt::Debug for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerState").field("listeners", &self.listeners).finish_non_exhaustive()
    }
}

impl ServerState {
    pub(crate) fn new(
        generation: Arc<Generation>,
        listeners: Vec<(String, SocketAddr)>,
        control: tokio::runtime::Handle,
        workers: Vec<mpsc::UnboundedSender<WorkerCommand>>,
        serving: watch::Sender<bool>,
    ) -> ServerState {
        ServerState {
            base: Mutex::new(generation.config.clone()),
            generation: ArcSwap::new(generation),
            listeners: Mutex::new(listeners),
            control,
            workers: Mutex::new(workers),
            serving,
            xds: Mutex::new(None),
            overrides: Mutex::new(BTreeMap::new()),
            dynamic: Mutex::new(Dynamic::default()),
            reload_lock: Mutex::new(()),
        }
    }

    fn apply(
        &self,
        base: &Config,
        overrides: &BTreeMap<String, PluginOverride>,
        dynamic: &Dynamic,
        always: bool,
    ) -> Result<(), StartError> {
        let config = self.assemble(base, overrides, dynamic)?;
        let current = self.generation.load_full();
        if !always && same(&config, &current.config) {
            // Nothing else changed: the certificate files may have.
            return current.reload_tls();
        }
        let generation = Arc::new(Generation::prepare(
            config,
            current.engines.clone(),
            current.process.clone(),
            Some(&current),
        )?);
        // Plugins may read the node while they are configured: the canary sees the new one.
        generation.apply_node();
        if let Err(e) = canary(&generation) {
            current.apply_node();
            return Err(e);
        }
        generation.apply_vm_limits();
        configure_runtime_values(&generation);
        let workers = self.workers.lock().clone();
        // Sockets for the listeners this generation adds (or moves to another address).
        let bound = self.listeners.lock().clone();
        // (A listener on port 0 keeps the port it got, as long as its IP stays.)
        let same_address = |bound: &SocketAddr, wanted: SocketAddr| {
            bound.ip() == wanted.ip() && (wanted.port() == 0 || bound.port() == wanted.port())
        };
        let added =
            generation.config.listeners.iter().filter(|l| {
                !bound.iter().any(|(name, addr)| *name == l.name && same_address(addr, l.address))
            });
        let (per_worker, addresses) = crate::process::sockets::bind_listeners(added, workers.len())?;
        let mut failures = Vec::new();
        for (worker, sockets) in workers.iter().zip(per_worker) {
            let (tx, rx) = oneshot::channel();
            if worker.send(WorkerCommand::Reload(generation.clone(), sockets, tx)).is_err() {
                failures.push("a worker has stopped".to_string());
                continue;
            }
            match rx.blocking_recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failures.push(e),
                Err(_) => failures.push("a worker stopped during reload".into()),
            }
        }
        if failures.is_empty() {
            let mut listeners = self.listeners.lock();
            listeners.retain(|(name, _)| {
                generation.config.listeners.iter().any(|l| &l.name == name)
                    && !addresses.iter().any(|(added, _)| added == name)
            });
            listeners.extend(addresses);
            drop(listeners);
            crate::upstream::spawn_background(&generation.clusters, &self.control);
            generation.watch_tls();
            self.generation.store(generation);
            tracing::info!("configuration applied");
            Ok(())
        } else {
            // Workers that applied it keep running it until the next good change; report.
            Err(StartError::Other(format!("reload failed: {}", failures.join("; "))))
        }
    }
}

impl ServerState {
    /// Copies of the ECDS overrides and of what xDS brought, each lock released at once (a
    /// guard kept over a fetch would hold up every other change).
    fn parts(&self) -> (BTreeMap<String, PluginOverride>, Dynamic) {
        let overrides = self.overrides.lock().clone();
        let dynamic = self.dynamic.lock().clone();
        (overrides, dynamic)
    }

    /// The configuration made of these parts, checked: the file's (or the admin's) config,
    /// its ECDS overrides, and what xDS brought.
    fn assemble(
        &self,
        base: &Config,
        overrides: &BTreeMap<String, PluginOverride>,
        dynamic: &Dynamic,
    ) -> Result<Config, StartError> {
        let mut config = base.clone();
        apply_overrides(&mut config, overrides);
        // What weir.yaml names must have been subscribed at start; xDS resources ask for theirs.
        crate::process::xds::check_subscribed(&config, self.xds_status().as_ref())?;
        dynamic.merge_into(&mut config)?;
        crate::config::validate(&config)?;
        // After validation: clusters from CDS/EDS were checked when they arrived, and may
        // have no endpoints (an emptied EDS assignment answers 503, as in Envoy).
        dynamic.add_clusters(&mut config)?;
        Ok(config)
    }

    /// Fetches the remote modules the configuration made of these parts would add, before
    /// the reload lock ([`crate::process::prefetch`]).
    fn prefetch(
        &self,
        base: &Config,
        overrides: &BTreeMap<String, PluginOverride>,
        dynamic: &Dynamic,
    ) -> Result<(), StartError> {
        // An invalid change fetches nothing: under the lock it is refused for what it is.
        let Ok(config) = self.assemble(base, overrides, dynamic) else { return Ok(()) };
        crate::process::prefetch::prefetch(&config, &self.generation.load_full())
    }

    /// Applies a change of what xDS brought; kept only if the new generation starts.
    fn set_dynamic(&self, change: impl FnOnce(&mut Dynamic)) -> Result<(), StartError> {
        let _guard = self.reload_lock.lock();
        let base = self.base.lock().clone();
        let overrides = self.overrides.lock().clone();
        let mut dynamic = self.dynamic.lock().clone();
        change(&mut dynamic);
        self.apply(&base, &overrides, &dynamic, false)?;
        *self.dynamic.lock() = dynamic;
        Ok(())
    }
}

/// Checks the modules ECDS `updates` name (URLs under the configured prefixes, files under
/// the module directories, made absolute).
fn admit_updates(base: &Config, updates: &mut [(String, PluginOverride)]) -> Result<(), StartError> {
    let dirs = base.module_directories();
    for (name, update) in updates {
        if let Some(remote) = &update.remote {
            base.module_sources.admit_url(&remote.url, &base.plugins).map_err(|e| {
                let field = format!("extension config `{name}`: vm_config.code.remote.http_uri.uri");
                crate::config::ConfigError::invalid(field, e)
            })?;
        }
        if let Some(wasm) = &mut update.wasm {
            *wasm = dirs.admit(wasm).map_err(|e| {
                let field = format!("extension config `{name}`: vm_config.code.local.filename");
                crate::config::ConfigError::invalid(field, e.to_string())
            })?;
        }
    }
    Ok(())
}

/// What xDS adds to the config: clusters (CDS/EDS), listeners and their plugins (LDS), and
/// the virtual hosts of `rds` listeners (RDS), by listener name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dynamic {
    clusters: Vec<ClusterConfig>,
    listeners: Vec<ListenerConfig>,
    plugins: Vec<PluginConfig>,
    routes: BTreeMap<String, Vec<VirtualHostConfig>>,
}

impl Dynamic {
    /// Adds the listeners (with their plugins) and routes.
    fn merge_into(&self, config: &mut Config) -> Result<(), crate::config::ConfigError> {
        if let Some(l) = self.listeners.iter().find(|l| config.listeners.iter().any(|c| c.name == l.name)) {
            let reason = format!("listener `{}` is in `listeners` and comes from LDS too", l.name);
            return Err(crate::config::ConfigError::invalid("listeners", reason));
        }
        if let Some(p) = self.plugins.iter().find(|p| config.plugin(&p.name).is_some()) {
            let reason =
                format!("plugin `{}` is in `plugins` and comes from an LDS listener's filters too", p.name);
            return Err(crate::config::ConfigError::invalid("plugins", reason));
        }
        config.listeners.extend(self.listeners.iter().cloned());
        config.plugins.extend(self.plugins.iter().cloned());
        for listener in config.listeners.iter_mut().filter(|l| l.rds.is_some()) {
            listener.virtual_hosts = self.routes.get(&listener.name).cloned().unwrap_or_default();
        }
        Ok(())
    }

    /// Adds the clusters.
    fn add_clusters(&self, config: &mut Config) -> Result<(), crate::config::ConfigError> {
        if let Some(c) = self.clusters.iter().find(|c| config.cluster(&c.name).is_some()) {
            let reason = format!("cluster `{}` is in `clusters` and comes from CDS too", c.name);
            return Err(crate::config::ConfigError::invalid("clusters", reason));
        }
        config.clusters.extend(self.clusters.iter().cloned());
        Ok(())
    }
}

impl ProcessControl for ServerState {
    fn generation(&self) -> Arc<Generation> {
        self.generation.load_full()
    }

    fn listeners(&self) -> Vec<(String, SocketAddr)> {
        self.listeners.lock().clone()
    }

    fn is_serving(&self) -> bool {
        *self.serving.borrow()
    }

    fn xds_status(&self) -> Option<weir_xds::client::ClientStatus> {
        self.xds.lock().as_ref().map(|c| c.status())
    }

    fn reload(&self, config: Config) -> Result<(), StartError> {
        let (overrides, dynamic) = self.parts();
        self.prefetch(&config, &overrides, &dynamic)?;
        let _guard = self.reload_lock.lock();
        let overrides = self.overrides.lock().clone();
        let dynamic = self.dynamic.lock().clone();
        self.apply(&config, &overrides, &dynamic, true)?;
        *self.base.lock() = config;
        Ok(())
    }

    fn update_config(
        &self,
        edit: &mut dyn FnMut(&mut Config) -> Result<(), crate::config::ConfigError>,
    ) -> Result<(), StartError> {
        // The edit on a copy, for its modules; made again under the lock on the config then.
        let mut preview = self.base.lock().clone();
        edit(&mut preview)?;
        let (overrides, dynamic) = self.parts();
        self.prefetch(&preview, &overrides, &dynamic)?;
        let _guard = self.reload_lock.lock();
        let mut config = self.base.lock().clone();
        edit(&mut config)?;
        let overrides = self.overrides.lock().clone();
        let dynamic = self.dynamic.lock().clone();
        self.apply(&config, &overrides, &dynamic, true)?;
        *self.base.lock() = config;
        Ok(())
    }

    fn set_extension_configs(&self, mut updates: Vec<(String, PluginOverride)>) -> Result<(), StartError> {
        // Admitted and fetched on a copy first (see `prefetch`), then again under the lock.
        let base = self.base.lock().clone();
        let mut preview = updates.clone();
        admit_updates(&base, &mut preview)?;
        let (mut overrides, dynamic) = self.parts();
        overrides.extend(preview);
        self.prefetch(&base, &overrides, &dynamic)?;
        let _guard = self.reload_lock.lock();
        let base = self.base.lock().clone();
        admit_updates(&base, &mut updates)?;
        let mut overrides = self.overrides.lock().clone();
        overrides.extend(updates);
        let dynamic = self.dynamic.lock().clone();
        self.apply(&base, &overrides, &dynamic, false)?;
        *self.overrides.lock() = overrides;
        Ok(())
    }

    fn set_xds_clusters(&self, clusters: Vec<ClusterConfig>) -> Result<(), StartError> {
        self.set_dynamic(|d| d.clusters = clusters)
    }

    fn set_xds_routes(&self, routes: BTreeMap<String, Vec<VirtualHostConfig>>) -> Result<(), StartError> {
        self.set_dynamic(|d| d.routes = routes)
    }

    fn set_xds_listeners(
        &self,
        listeners: Vec<ListenerConfig>,
        plugins: Vec<PluginConfig>,
        routes: BTreeMap<String, Vec<VirtualHostConfig>>,
    ) -> Result<(), StartError> {
        // Modules a control plane names by URL must be under the configured prefixes, as for ECDS.
        {
            let base = self.base.lock();
            for plugin in &plugins {
                if let Some(remote) = &plugin.remote {
                    base.module_sources.admit_url(&remote.url, &base.plugins).map_err(|e| {
                        let field =
                            format!("LDS filter `{}`: vm_config.code.remote.http_uri.uri", plugin.name);
                        crate::config::ConfigError::invalid(field, e)
                    })?;
                }
            }
        }
        let base = self.base.lock().clone();
        let (overrides, mut preview) = self.parts();
        preview.listeners.clone_from(&listeners);
        preview.plugins.clone_from(&plugins);
        self.prefetch(&base, &overrides, &preview)?;
        self.set_dynamic(|d| {
            d.listeners = listeners;
            d.plugins = plugins;
            d.routes = routes;
        })
    }

    fn set_secrets(&self, secrets: Vec<(String, weir_tls::Secret)>) -> Result<(), StartError> {
        let _guard = self.reload_lock.lock();
        let generation = self.generation.load_full();
        let table = &generation.process.secrets;
        let mut next = (*table.current()).clone();
        next.extend(secrets.into_iter().map(|(name, secret)| (name, Arc::new(secret))));
        generation.check_secrets(&next)?;
        table.replace(next);
        generation.reload_tls()
    }

    fn modify_runtime(&self, changes: Vec<(String, String)>) -> Result<(), String> {
        let generation = self.generation.load_full();
        let Some(layer) = generation.config.runtime.layers.iter().find(|l| l.admin_layer.is_some()) else {
            return Err("No admin layer specified".into());
        };
        let changed = generation
            .process
            .runtime_values
            .edit_layer(&layer.name, |values| super::runtime_values::admin_modify(values, changes))?;
        if changed {
            publish_runtime_values(&generation);
        }
        Ok(())
    }

    fn set_rtds_layers(&self, layers: Vec<(String, Layer)>) {
        let generation = self.generation.load_full();
        let mut changed = false;
        for (resource, values) in layers {
            for layer in
                generation.config.runtime.layers.iter().filter(|l| l.rtds_resource() == Some(&resource))
            {
                changed |= generation.process.runtime_values.set_layer(&layer.name, values.clone());
            }
        }
        if changed {
            publish_runtime_values(&generation);
        }
    }
}

fn same(a: &Config, b: &Config) -> bool {
    matches!((serde_json::to_value(a), serde_json::to_value(b)), (Ok(x), Ok(y)) if x == y)
}

/// Sets the runtime layer order and static values from the generation's config and publishes
/// the runtime values to its `vm_id`s (new plugins find them before their first request).
pub(crate) fn configure_runtime_values(generation: &Generation) {
    let layers = generation
        .config
        .runtime
        .layers
        .iter()
        .map(|l| {
            (l.name.clone(), l.static_layer.as_ref().map(|v| weir_runtime::flatten(v).unwrap_or_default()))
        })
        .collect();
    generation.process.runtime_values.configure(layers);
    publish_runtime_values(generation);
}

fn publish_runtime_values(generation: &Generation) {
    let values = &generation.process.runtime_values;
    let vm_ids = generation.vm_ids();
    values.publish(&generation.process.guest.shared_data, vm_ids.iter().map(String::as_str));
    generation
        .process
        .stats
        .runtime_version
        .set(i64::try_from(values.snapshot().version).unwrap_or(i64::MAX));
}

/// Checks that a generation's plugins start and accept their configuration, on a throwaway VM
/// set (Envoy's "configuration canary"), without touching running workers. Runs on a thread of
/// its own with the stack guest code needs, whatever thread asks (the admin server's and
/// tokio's blocking threads have less).
pub fn canary(generation: &Arc<Generation>) -> Result<(), StartError> {
    let generation = generation.clone();
    let thread = std::thread::Builder::new()
        .name("weir-canary".into())
        .stack_size(weir_proxy_wasm::wasm::GUEST_THREAD_STACK)
        .spawn(move || canary_here(&generation))
        .map_err(|e| StartError::Other(format!("cannot start the configuration canary: {e}")))?;
    thread.join().map_err(|_| StartError::Other("the configuration canary stopped unexpectedly".into()))?
}

fn canary_here(generation: &Generation) -> Result<(), StartError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StartError::Other(format!("runtime: {e}")))?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let (tx, _rx) = mpsc::unbounded_channel();
        let services = Rc::new(WorkerServices::new(Rc::new(Upstreams::new(&generation.clusters)), tx));
        WorkerPlugins::build(&generation.engines, &generation.plugins, &generation.process.guest, &services)
            .map(|_| ())
            .map_err(StartError::from)
    })
}

/// Validates a config completely: schema, references, and every plugin loaded and configured.
pub fn validate(config: Config) -> Result<(), StartError> {
    let engines = weir_proxy_wasm::wasm::Engines::new()?;
    let generation =
        Arc::new(Generation::prepare(config, engines, Arc::new(ProcessServices::default()), None)?);
    canary(&generation)
}
