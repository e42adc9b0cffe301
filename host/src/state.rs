//! The running process's state, shared by the admin API, the xDS client and signal handlers:
//! the current snapshot, and the ways to replace it — a reload of `weir.yaml`, an ECDS plugin
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

use crate::config::Config;
use crate::server::StartError;
use crate::services::{ProcessServices, WorkerServices};
use crate::snapshot::Snapshot;
use crate::upstream::Upstreams;
use crate::worker::WorkerCommand;
use crate::xds::ecds::{self, PluginOverride};
use weir_proxy_wasm::plugin::WorkerPlugins;

/// Process-wide state shared with the admin server and the xDS client.
pub struct ServerState {
    /// The running snapshot.
    pub snapshot: ArcSwap<Snapshot>,
    /// Bound listener addresses by name.
    pub listeners: Vec<(String, SocketAddr)>,
    /// The control thread's runtime (background tasks).
    pub control: tokio::runtime::Handle,
    pub(crate) workers: Mutex<Vec<mpsc::UnboundedSender<WorkerCommand>>>,
    pub(crate) serving: watch::Sender<bool>,
    pub(crate) xds: Mutex<Option<weir_xds::client::XdsClient>>,
    /// The config as loaded (before ECDS overrides).
    base: Mutex<Config>,
    /// ECDS plugin configs by resource name.
    overrides: Mutex<BTreeMap<String, PluginOverride>>,
    reload_lock: Mutex<()>,
}

impl std::fmt::Debug for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerState").field("listeners", &self.listeners).finish_non_exhaustive()
    }
}

impl ServerState {
    pub(crate) fn new(
        snapshot: Arc<Snapshot>,
        listeners: Vec<(String, SocketAddr)>,
        control: tokio::runtime::Handle,
        workers: Vec<mpsc::UnboundedSender<WorkerCommand>>,
        serving: watch::Sender<bool>,
    ) -> ServerState {
        ServerState {
            base: Mutex::new(snapshot.config.clone()),
            snapshot: ArcSwap::new(snapshot),
            listeners,
            control,
            workers: Mutex::new(workers),
            serving,
            xds: Mutex::new(None),
            overrides: Mutex::new(BTreeMap::new()),
            reload_lock: Mutex::new(()),
        }
    }

    /// Whether listeners accept connections (start-up, including the xDS initial fetch, done).
    pub fn is_serving(&self) -> bool {
        *self.serving.borrow()
    }

    /// The xDS client's status, if it runs.
    pub fn xds_status(&self) -> Option<weir_xds::client::ClientStatus> {
        self.xds.lock().as_ref().map(|c| c.status())
    }

    /// Validates and applies a new `weir.yaml` (ECDS configs received stay applied on top).
    pub fn reload(&self, config: Config) -> Result<(), StartError> {
        let _guard = self.reload_lock.lock();
        let overrides = self.overrides.lock().clone();
        self.apply(&config, &overrides, true)?;
        *self.base.lock() = config;
        Ok(())
    }

    /// Changes the running `weir.yaml` config with `edit` (the plugin management API): the
    /// result is validated and applied like a reload; nothing changes if `edit` or the apply
    /// fails. Returns the edit's error as `Config`.
    pub fn update_config(
        &self,
        edit: impl FnOnce(&mut Config) -> Result<(), crate::config::ConfigError>,
    ) -> Result<(), StartError> {
        let _guard = self.reload_lock.lock();
        let mut config = self.base.lock().clone();
        edit(&mut config)?;
        let overrides = self.overrides.lock().clone();
        self.apply(&config, &overrides, true)?;
        *self.base.lock() = config;
        Ok(())
    }

    /// Applies ECDS plugin configs (added to those received before). Refused as a whole if a
    /// module path is not under the module directories, or the resulting config is invalid, or
    /// a plugin does not start or configure.
    pub fn set_extension_configs(
        &self,
        mut updates: Vec<(String, PluginOverride)>,
    ) -> Result<(), StartError> {
        let _guard = self.reload_lock.lock();
        let base = self.base.lock().clone();
        let dirs = base.module_directories();
        for (name, update) in &mut updates {
            if let Some(wasm) = &mut update.wasm {
                *wasm = dirs.admit(wasm).map_err(|e| {
                    let field = format!("extension config `{name}`: vm_config.code.local.filename");
                    crate::config::ConfigError::invalid(field, e.to_string())
                })?;
            }
        }
        let mut overrides = self.overrides.lock().clone();
        overrides.extend(updates);
        self.apply(&base, &overrides, false)?;
        *self.overrides.lock() = overrides;
        Ok(())
    }

    /// Replaces RTDS layers (by resource name) and publishes the runtime values if they moved.
    pub fn set_rtds_layers(&self, layers: Vec<(String, Layer)>) {
        let snapshot = self.snapshot.load_full();
        let mut changed = false;
        for (resource, values) in layers {
            for layer in
                snapshot.config.runtime.layers.iter().filter(|l| l.rtds_resource() == Some(&resource))
            {
                changed |= snapshot.process.runtime.set_layer(&layer.name, values.clone());
            }
        }
        if changed {
            publish_runtime(&snapshot);
        }
    }

    fn apply(
        &self,
        base: &Config,
        overrides: &BTreeMap<String, PluginOverride>,
        always: bool,
    ) -> Result<(), StartError> {
        let mut config = base.clone();
        ecds::apply(&mut config, overrides);
        crate::config::validate(&config)?;
        let current = self.snapshot.load_full();
        if !always && same(&config, &current.config) {
            return Ok(());
        }
        let snapshot = Arc::new(Snapshot::prepare(
            config,
            current.runtime.clone(),
            current.process.clone(),
            Some(&current),
        )?);
        // Plugins may read the node while they are configured: the canary sees the new one.
        snapshot.apply_node();
        if let Err(e) = canary(&snapshot) {
            current.apply_node();
            return Err(e);
        }
        snapshot.apply_vm_limits();
        configure_runtime(&snapshot);
        let workers = self.workers.lock().clone();
        let mut failures = Vec::new();
        for worker in &workers {
            let (tx, rx) = oneshot::channel();
            if worker.send(WorkerCommand::Reload(snapshot.clone(), tx)).is_err() {
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
            crate::upstream::spawn_background(&snapshot.clusters, &self.control);
            self.snapshot.store(snapshot);
            tracing::info!("configuration applied");
            Ok(())
        } else {
            // Workers that applied it keep running it until the next good change; report.
            Err(StartError::Other(format!("reload failed: {}", failures.join("; "))))
        }
    }
}

fn same(a: &Config, b: &Config) -> bool {
    matches!((serde_json::to_value(a), serde_json::to_value(b)), (Ok(x), Ok(y)) if x == y)
}

/// Sets the runtime layer order and static values from the snapshot's config and publishes
/// the runtime values to its `vm_id`s (new plugins find them before their first request).
pub(crate) fn configure_runtime(snapshot: &Snapshot) {
    let layers = snapshot
        .config
        .runtime
        .layers
        .iter()
        .map(|l| {
            (l.name.clone(), l.static_layer.as_ref().map(|v| weir_runtime::flatten(v).unwrap_or_default()))
        })
        .collect();
    snapshot.process.runtime.configure(layers);
    publish_runtime(snapshot);
}

fn publish_runtime(snapshot: &Snapshot) {
    let runtime = &snapshot.process.runtime;
    let vm_ids = snapshot.vm_ids();
    runtime.publish(&snapshot.process, vm_ids.iter().map(String::as_str));
    snapshot.process.stats.runtime_version.set(i64::try_from(runtime.snapshot().version).unwrap_or(i64::MAX));
}

/// Checks that a snapshot's plugins start and accept their configuration, on a throwaway VM
/// set (Envoy's "configuration canary"), without touching running workers. Runs on a thread of
/// its own with the stack guest code needs, whatever thread asks (the admin server's and
/// tokio's blocking threads have less).
pub fn canary(snapshot: &Arc<Snapshot>) -> Result<(), StartError> {
    let snapshot = snapshot.clone();
    let thread = std::thread::Builder::new()
        .name("weir-canary".into())
        .stack_size(weir_proxy_wasm::wasm::GUEST_THREAD_STACK)
        .spawn(move || canary_here(&snapshot))
        .map_err(|e| StartError::Other(format!("cannot start the configuration canary: {e}")))?;
    thread.join().map_err(|_| StartError::Other("the configuration canary stopped unexpectedly".into()))?
}

fn canary_here(snapshot: &Snapshot) -> Result<(), StartError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StartError::Other(format!("runtime: {e}")))?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let (tx, _rx) = mpsc::unbounded_channel();
        let services = Rc::new(WorkerServices::new(Rc::new(Upstreams::new(&snapshot.clusters)), tx));
        WorkerPlugins::build(&snapshot.runtime, &snapshot.plugins, &snapshot.process.guest, &services)
            .map(|_| ())
            .map_err(StartError::from)
    })
}

/// Validates a config completely: schema, references, and every plugin loaded and configured.
pub fn validate(config: Config) -> Result<(), StartError> {
    let runtime = weir_proxy_wasm::wasm::WasmRuntime::new()?;
    let snapshot = Arc::new(Snapshot::prepare(config, runtime, Arc::new(ProcessServices::default()), None)?);
    canary(&snapshot)
}
