//! Plugins instantiated on one worker.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use super::LoadedPlugin;
use crate::services::{ProcessServices, VmCell, WorkerServices};
use crate::wasm::{LoadError, RootContextInfo, Vm, VmEnv, VmError, WasmRuntime};

/// One plugin on one worker: its (possibly shared) VM and its root context there.
pub struct PluginHandle {
    /// The plugin.
    pub plugin: Arc<LoadedPlugin>,
    /// Its VM on this worker.
    pub vm: Rc<VmCell>,
    /// Its root context id in that VM.
    pub root_context: u32,
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
        match vm.root_on_done(self.root_context) {
            Ok(true) => {
                if let Err(e) = vm.delete_root_context(self.root_context) {
                    tracing::warn!(plugin = %self.plugin.name(), "proxy_on_delete failed: {e}");
                }
            }
            Ok(false) => {
                drop(vm);
                if let Some(worker) = self.worker.upgrade() {
                    worker.retire(self.vm.clone(), self.root_context);
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

    /// Counts and logs a VM failure.
    pub fn record_failure(&self, error: &VmError) {
        self.plugin.stats.record(error);
    }
}

/// The plugins of one worker, by name.
#[derive(Default)]
pub struct WorkerPlugins {
    handles: HashMap<String, Rc<PluginHandle>>,
    vms: HashMap<String, Rc<VmCell>>,
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
        runtime: &WasmRuntime,
        plugins: &[Arc<LoadedPlugin>],
        process: &Arc<ProcessServices>,
        worker: &Rc<WorkerServices>,
    ) -> Result<WorkerPlugins, LoadError> {
        let mut out = WorkerPlugins::default();
        for plugin in plugins {
            let handle = out.instantiate(runtime, plugin, process, worker)?;
            out.handles.insert(plugin.name().to_string(), Rc::new(handle));
        }
        Ok(out)
    }

    fn instantiate(
        &mut self,
        runtime: &WasmRuntime,
        plugin: &Arc<LoadedPlugin>,
        process: &Arc<ProcessServices>,
        worker: &Rc<WorkerServices>,
    ) -> Result<PluginHandle, LoadError> {
        let fail = |reason: String| LoadError::Start { plugin: plugin.name().to_string(), reason };
        let vm = match self.vms.get(&plugin.vm_key) {
            Some(vm) => vm.clone(),
            None => {
                let instance = process.next_vm_instance();
                let env = VmEnv {
                    vm_id: Arc::from(plugin.config.vm_id.as_str()),
                    instance,
                    abi: plugin.module.abi(),
                    vm_configuration: plugin.vm_configuration.clone(),
                    environment: plugin.environment.clone(),
                    process: process.clone(),
                    worker: Some(worker.clone()),
                };
                let vm = Vm::new(runtime.engine(), &plugin.module, env, plugin.limits())?;
                let vm = Rc::new(VmCell::new(vm));
                worker.register_vm(instance, &vm);
                self.vms.insert(plugin.vm_key.clone(), vm.clone());
                vm
            }
        };
        let root_context = {
            let mut guard = vm.try_borrow_mut().map_err(|_| fail("VM busy".into()))?;
            let info =
                RootContextInfo::new(plugin.name(), &plugin.config.root_id, plugin.configuration.clone());
            let root = guard
                .create_root_context(info)
                .map_err(|e| fail(format!("proxy_on_context_create failed: {e}")))?;
            match guard.on_vm_start(root) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(fail(refused("proxy_on_vm_start returned false", guard.configure_errors())));
                }
                Err(e) => return Err(fail(format!("proxy_on_vm_start failed: {e}"))),
            }
            match guard.on_configure(root) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(fail(refused(
                        "proxy_on_configure returned false: the plugin rejected its configuration",
                        guard.configure_errors(),
                    )));
                }
                Err(e) => return Err(fail(format!("proxy_on_configure failed: {e}"))),
            }
            root
        };
        Ok(PluginHandle { plugin: plugin.clone(), vm, root_context, worker: Rc::downgrade(worker) })
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

/// A refusal, with what the plugin logged about it.
fn refused(what: &str, logged: &[String]) -> String {
    if logged.is_empty() { what.to_string() } else { format!("{what} ({})", logged.join("; ")) }
}
