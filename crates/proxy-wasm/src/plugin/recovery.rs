//! Recovery of failed VMs on one worker. Every VM failure is counted (`failed_vms` in
//! `/plugins`); under `FAIL_RELOAD` the VM is replaced in the background after a jittered
//! backoff (100 ms, doubling to 10 s), its plugins' root contexts started and configured again.
//! A VM that keeps failing soon after each replacement is a crash loop: after
//! [`MAX_QUICK_FAILURES`] of them, recovery stops and the plugin stays failed (503s, as
//! `FAIL_CLOSED`) until the next configuration change.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::worker::{new_vm, start_root};
use super::{LoadedPlugin, WorkerPlugins};
use crate::services::{GuestServices, WorkerServices};
use crate::wasm::LoadError;
use weir_plugin_spec::FailurePolicy;

/// Failures within this long after a replacement count as one more quick failure in a row.
pub const QUICK_FAILURE_WINDOW: Duration = Duration::from_secs(30);
/// Quick failures in a row after which a VM is not replaced any more.
pub const MAX_QUICK_FAILURES: u32 = 5;
const BASE_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(10);

/// Per-worker recovery state, by `vm_key`.
#[derive(Debug, Default)]
pub struct Recovery {
    vms: HashMap<String, VmRecovery>,
}

#[derive(Debug, Default)]
struct VmRecovery {
    failed: bool,
    quick_failures: u32,
    replaced_at: Option<Instant>,
}

impl Recovery {
    /// A VM with `key` failed. Returns how long to wait before replacing it, or `None` when it
    /// is not to be replaced (policy, crash loop, already counted).
    pub fn failed(&mut self, key: &str, plugins: &WorkerPlugins) -> Option<Duration> {
        let members = plugins.members(key);
        // A report about a VM that is not failed (any more) is stale: a reload replaced it.
        let failed =
            plugins.vms.get(key).is_some_and(|c| c.try_borrow().is_ok_and(|vm| vm.failure().is_some()));
        let state = self.vms.entry(key.to_string()).or_default();
        if state.failed || !failed || members.is_empty() {
            return None;
        }
        state.failed = true;
        for plugin in &members {
            plugin.stats.failed_vms.fetch_add(1, Ordering::Relaxed);
        }
        if !members.iter().all(|p| p.config.failure_policy == FailurePolicy::FailReload) {
            return None;
        }
        let quick = state.replaced_at.is_some_and(|t| t.elapsed() < QUICK_FAILURE_WINDOW);
        state.quick_failures = if quick { state.quick_failures + 1 } else { 1 };
        if state.quick_failures > MAX_QUICK_FAILURES {
            for plugin in &members {
                plugin.stats.crash_looping.store(true, Ordering::Relaxed);
                tracing::error!(
                    plugin = %plugin.name(),
                    failures = state.quick_failures,
                    "VM keeps failing right after being replaced: not replacing it again (crash loop)"
                );
            }
            return None;
        }
        Some(backoff(state.quick_failures))
    }

    /// Replaces the failed VM `key` now. On failure, reports it so the next attempt backs off
    /// further.
    pub fn replace(
        &mut self,
        key: &str,
        plugins: &WorkerPlugins,
        process: &Arc<GuestServices>,
        worker: &Rc<WorkerServices>,
    ) -> Option<Duration> {
        let state = self.vms.entry(key.to_string()).or_default();
        if !state.failed {
            return None;
        }
        match plugins.replace_vm(key, process, worker) {
            Ok(members) => {
                state.failed = false;
                state.replaced_at = Some(Instant::now());
                for plugin in &members {
                    plugin.stats.failed_vms.fetch_sub(1, Ordering::Relaxed);
                    plugin.stats.reloads.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(plugin = %plugin.name(), "failed VM replaced");
                }
                None
            }
            Err(e) => {
                tracing::error!("replacing a failed VM: {e}");
                for plugin in plugins.members(key) {
                    plugin.stats.failed_vms.fetch_sub(1, Ordering::Relaxed);
                }
                state.failed = false;
                state.replaced_at = Some(Instant::now());
                self.failed(key, plugins)
            }
        }
    }

    /// The worker's plugins were rebuilt (a configuration change): every VM is new.
    pub fn reset(&mut self, old: &WorkerPlugins) {
        for (key, state) in self.vms.drain() {
            if state.failed {
                for plugin in old.members(&key) {
                    plugin.stats.failed_vms.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
        for handle in old.handles.values() {
            handle.plugin.stats.crash_looping.store(false, Ordering::Relaxed);
        }
    }
}

/// The wait before the `n`-th replacement in a row: 100 ms doubling to 10 s, ±50 % jitter.
fn backoff(n: u32) -> Duration {
    let base = BASE_DELAY.saturating_mul(1 << n.saturating_sub(1).min(10)).min(MAX_DELAY);
    base.mul_f64(0.5 + fastrand::f64())
}

impl WorkerPlugins {
    /// The plugins sharing the VM `key`, in the order their root contexts were created.
    pub(super) fn members(&self, key: &str) -> Vec<Arc<LoadedPlugin>> {
        self.order
            .iter()
            .filter_map(|name| self.handles.get(name))
            .filter(|h| h.plugin.vm_key == key)
            .map(|h| h.plugin.clone())
            .collect()
    }

    /// Builds a new VM for `key`, starts and configures its plugins' root contexts, then swaps
    /// it in. Contexts of the old VM (requests that were in it) fail as the VM had.
    fn replace_vm(
        &self,
        key: &str,
        process: &Arc<GuestServices>,
        worker: &Rc<WorkerServices>,
    ) -> Result<Vec<Arc<LoadedPlugin>>, LoadError> {
        let members = self.members(key);
        let (Some(first), Some(cell)) = (members.first(), self.vms.get(key)) else {
            return Ok(Vec::new());
        };
        let mut vm = new_vm(first, process, worker)?;
        let roots = members.iter().map(|p| start_root(&mut vm, p)).collect::<Result<Vec<_>, _>>()?;
        let new_instance = vm.instance();
        let Ok(mut slot) = cell.try_borrow_mut() else {
            return Err(LoadError::Start { plugin: first.name().to_string(), reason: "VM busy".into() });
        };
        let old = std::mem::replace(&mut *slot, vm);
        drop(slot);
        for (plugin, root) in members.iter().zip(roots) {
            if let Some(handle) = self.handles.get(plugin.name()) {
                handle.root_context.set(root);
            }
        }
        worker.vm_replaced(old.instance(), cell, new_instance);
        drop(old);
        Ok(members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_with_jitter() {
        for _ in 0..50 {
            let first = backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(150), "{first:?}");
            let late = backoff(20);
            assert!(late >= Duration::from_secs(5) && late <= Duration::from_secs(15), "{late:?}");
        }
    }
}
