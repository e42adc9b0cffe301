//! Plugins instantiated on one worker.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use super::LoadedPlugin;
use crate::services::{GuestServices, VmCell, WorkerServices};
use crate::wasm::{Engines, LoadError, RootContextInfo, Vm, VmEnv, VmError};

/// One plugin on one worker: its (possibly shared) VM and its root context there.
pub struct PluginHandle {
    /// The plugin.
    pub plugin: Arc<LoadedPlugin>,
    /// Its VM on this worker.
    pub vm: Rc<VmCell>,
    /// Its root context id in that VM (changes when a failed VM is replaced).
    pub root_context: Cell<u32>,
    worker: std::rc::Weak<WorkerServices>,
}

impl Drop for PluginHandle {
    /// The plugin is gone from this worker (reload or shutdown) and no request uses it any
    /// more: its root context gets `proxy_on_done`, then `proxy_on_delete` now or, if it asked
    /// for time, once it calls `proxy_done`.
    fn drop(&mut self) {
        let Ok(mut vm) = self.vm.try_borrow_mut() else { return };
        if vm.failure().is_some() {
            return;
        }
        match vm.root_on_done(self.root_context.get()) {
            Ok(true) => {
                if let Err(e) = vm.delete_root_context(self.root_context.get()) {
                    tracing::warn!(plugin = %self.plugin.name(), "proxy_on_delete failed: {e}");
                }
            }
            Ok(false) => {
                drop(vm);
                if let Some(worker) = self.worker.upgrade() {
                    worker.retire(self.vm.clone(), self.root_context.get());
                }
            }
            Err(e) => tracing::warn!(plugin = %self.plugin.name(), "proxy_on_done failed: {e}"),
        }
    }
}

impl std::fmt::Debug for PluginHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHandle")
            .field("plugin", &self.plugin.name())
            .field("root_context", &self.root_context)
            .finish()
    }
}

impl PluginHandle {
    /// The plugin's name.
    pub fn name(&self) -> &str {
        self.plugin.name()
    }

    /// Counts a VM failure and tells the worker, which replaces the VM under `FAIL_RELOAD`.
    pub fn record_failure(&self, error: &VmError) {
        self.plugin.stats.record(error);
        if error.is_new_failure()
            && let Some(worker) = self.worker.upgrade()
        {
            worker.vm_failed(&self.plugin.vm_key);
        }
    }
}

/// The plugins of one worker, by name.
#[derive(Default)]
pub struct WorkerPlugins {
    pub(super) handles: HashMap<String, Rc<PluginHandle>>,
    pub(super) vms: HashMap<String, Rc<VmCell>>,
    /// Plugin names in the order their root contexts were created.
    pub(super) order: Vec<String>,
}

impl std::fmt::Debug for WorkerPlugins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerPlugins").field("plugins", &self.handles.len()).finish()
    }
}

impl WorkerPlugins {
    /// Instantiates `plugins` on this worker: creates VMs (shared by module and `vm_id`), root
    /// contexts, and runs `proxy_on_vm_start` and `proxy_on_configure`. Any failure is a load
    /// error naming the plugin.
    pub fn build(
        _runtime: &Engines,
        plugins: &[Arc<LoadedPlugin>],
        process: &Arc<GuestServices>,
        worker: &Rc<WorkerServices>,
    ) -> Result<WorkerPlugins, LoadError> {
        let mut out = WorkerPlugins::default();
        for plugin in plugins {
            let handle = out.instantiate(plugin, process, worker)?;
            out.handles.insert(plugin.name().to_string(), Rc::new(handle));
        }
        Ok(out)
    }

    fn instantiate(
        &mut self,
        plugin: &Arc<LoadedPlugin>,
        process: &Arc<GuestServices>,
        worker: &Rc<WorkerServices>,
    ) -> Result<PluginHandle, LoadError> {
        let vm = match self.vms.get(&plugin.vm_key) {
            Some(vm) => vm.clone(),
            None => {
                let vm = Rc::new(VmCell::new(new_vm(plugin, process, worker)?));
                worker.register_vm(vm.borrow().instance(), &vm);
                self.vms.insert(plugin.vm_key.clone(), vm.clone());
                vm
            }
        };
        let root = {
            let mut guard = vm.try_borrow_mut().map_err(|_| LoadError::Start {
                plugin: plugin.name().to_string(),
                reason: "VM busy".into(),
            })?;
            start_root(&mut guard, plugin)?
        };
        self.order.push(plugin.name().to_string());
        Ok(PluginHandle {
            plugin: plugin.clone(),
            vm,
            root_context: Cell::new(root),
            worker: Rc::downgrade(worker),
        })
    }

    /// A plugin by name.
    pub fn get(&self, name: &str) -> Option<Rc<PluginHandle>> {
        self.handles.get(name).cloned()
    }

    /// Every VM of this worker.
    pub fn vms(&self) -> impl Iterator<Item = &Rc<VmCell>> {
        self.vms.values()
    }
}

/// A fresh VM for `plugin`'s module on this worker (initializer run, no root context yet).
pub(super) fn new_vm(
    plugin: &LoadedPlugin,
    process: &Arc<GuestServices>,
    worker: &Rc<WorkerServices>,
) -> Result<Vm, LoadError> {
    let env = VmEnv {
        vm_id: Arc::from(plugin.config.vm_id.as_str()),
        instance: process.next_vm_instance(),
        abi: plugin.module.abi(),
        vm_configuration: plugin.vm_configuration.clone(),
        environment: plugin.environment.clone(),
        process: process.clone(),
        worker: Some(worker.clone()),
    };
    Vm::new(plugin.module.engine(), &plugin.module, env, plugin.limits())
}

/// Creates `plugin`'s root context in `vm` and runs `proxy_on_vm_start` and
/// `proxy_on_configure`; any refusal or failure names the plugin and says why.
pub(super) fn start_root(vm: &mut Vm, plugin: &LoadedPlugin) -> Result<u32, LoadError> {
    let fail = |reason: String| LoadError::Start { plugin: plugin.name().to_string(), reason };
    let info = RootContextInfo::new(plugin.name(), &plugin.config.root_id, plugin.configuration.clone());
    let root =
        vm.create_root_context(info).map_err(|e| fail(format!("proxy_on_context_create failed: {e}")))?;
    match vm.on_vm_start(root) {
        Ok(true) => {}
        Ok(false) => return Err(fail(refused("proxy_on_vm_start returned false", vm.configure_errors()))),
        Err(e) => return Err(fail(format!("proxy_on_vm_start failed: {e}"))),
    }
    match vm.on_configure(root) {
        Ok(true) => Ok(root),
        Ok(false) => Err(fail(refused(
            "proxy_on_configure returned false: the plugin rejected its configuration",
            vm.configure_errors(),
        ))),
        Err(e) => Err(fail(format!("proxy_on_configure failed: {e}"))),
    }
}

/// A refusal, with what the plugin logged about it.
fn refused(what: &str, logged: &[String]) -> String {
    if logged.is_empty() { what.to_string() } else { format!("{what} ({})", logged.join("; ")) }
}
