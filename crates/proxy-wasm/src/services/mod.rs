//! Services hostcalls reach beyond their own VM: process-wide ones ([`GuestServices`]: shared
//! data, queues, plugin metrics, execution counters, the node identity) and per-worker ones
//! ([`WorkerServices`]: the proxy's clusters for callouts, queue notifications, the worker's
//! VMs).

mod histogram;
mod metrics;
mod plugin_stats;
pub mod shared_data;
mod shared_queue;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc::UnboundedSender;

pub use metrics::{PluginMetrics, sanitize as sanitize_metric_name};
pub use plugin_stats::{PluginStats, PluginStatsRegistry};
pub use shared_data::{Scope as SharedDataScope, SharedData};
pub use shared_queue::{QueueReady, SharedQueues};

use crate::embedder::{CalloutClusters, Events, NoClusters, NoEvents};
use crate::wasm::Vm;

/// Why a service refused a guest's call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The status the ABI gives for this case.
    Status(weir_abi::Status),
    /// Over one of the plugin's limits (named by its config field).
    Limit(&'static str),
}

/// What guests share across every worker of the process.
#[derive(Debug)]
pub struct GuestServices {
    /// Shared data, per `vm_id`.
    pub shared_data: SharedData,
    /// Shared queues, per `vm_id`.
    pub queues: SharedQueues,
    /// Plugin-defined metrics.
    pub metrics: PluginMetrics,
    /// Execution metrics of every plugin, by name.
    pub plugin_stats: PluginStatsRegistry,
    /// This proxy's identity (the `xds.node` properties), set with each configuration.
    pub node: parking_lot::RwLock<Arc<NodeIdentity>>,
    /// Where the proxy hears of events it counts.
    pub events: Arc<dyn Events>,
    next_vm_instance: AtomicU64,
}

impl Default for GuestServices {
    fn default() -> Self {
        GuestServices::new(Arc::new(NoEvents))
    }
}

impl GuestServices {
    /// Services reporting to `events`.
    pub fn new(events: Arc<dyn Events>) -> GuestServices {
        GuestServices {
            shared_data: SharedData::default(),
            queues: SharedQueues::default(),
            metrics: PluginMetrics::default(),
            plugin_stats: PluginStatsRegistry::default(),
            node: parking_lot::RwLock::default(),
            events,
            next_vm_instance: AtomicU64::new(0),
        }
    }

    /// A process-unique id for a new VM instance.
    pub fn next_vm_instance(&self) -> u64 {
        self.next_vm_instance.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// Who this proxy is, as plugins read it (`xds.node.*`).
#[derive(Debug, Clone, Default)]
pub struct NodeIdentity {
    /// Node id.
    pub id: String,
    /// Node cluster.
    pub cluster: String,
    /// Metadata (a JSON object).
    pub metadata: serde_json::Value,
}

/// A VM shared by the plugins of one worker that have the same module and `vm_id`.
pub type VmCell = RefCell<Vm>;

/// Services of one worker thread.
pub struct WorkerServices {
    /// The proxy's clusters, for callouts (swapped with each configuration).
    clusters: RefCell<Rc<dyn CalloutClusters>>,
    /// Where `proxy_on_queue_ready` notifications for this worker's VMs are sent.
    pub queue_ready: UnboundedSender<QueueReady>,
    vms: RefCell<HashMap<u64, Weak<VmCell>>>,
    retired: RefCell<Vec<Retired>>,
    /// Where failed VMs are reported (their plugin `vm_key`), set by the worker.
    failures: RefCell<Option<UnboundedSender<String>>>,
}

/// A root context whose plugin was removed and that asked for time to finish (its
/// `proxy_on_done` returned false): deleted once it calls `proxy_done`, or at its deadline.
struct Retired {
    vm: Rc<VmCell>,
    root: u32,
    deadline: std::time::Instant,
}

/// How long a retired root context may take before it is deleted anyway.
pub const RETIRE_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

impl Drop for WorkerServices {
    fn drop(&mut self) {
        self.sweep_retired(true);
    }
}

impl std::fmt::Debug for WorkerServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerServices").finish_non_exhaustive()
    }
}

impl WorkerServices {
    /// Services around a cluster set and a queue-notification channel.
    pub fn new(
        clusters: Rc<dyn CalloutClusters>,
        queue_ready: UnboundedSender<QueueReady>,
    ) -> WorkerServices {
        WorkerServices {
            clusters: RefCell::new(clusters),
            queue_ready,
            vms: RefCell::new(HashMap::new()),
            retired: RefCell::new(Vec::new()),
            failures: RefCell::new(None),
        }
    }

    /// Services with no clusters (callouts answer "no such cluster").
    pub fn without_clusters(queue_ready: UnboundedSender<QueueReady>) -> WorkerServices {
        WorkerServices::new(Rc::new(NoClusters), queue_ready)
    }

    /// The current clusters.
    pub fn clusters(&self) -> Rc<dyn CalloutClusters> {
        self.clusters.borrow().clone()
    }

    /// Callouts started from now on use `clusters`.
    pub fn set_clusters(&self, clusters: Rc<dyn CalloutClusters>) {
        *self.clusters.borrow_mut() = clusters;
    }

    /// Remembers a VM of this worker so callouts and queue notifications can reach it.
    pub fn register_vm(&self, instance: u64, vm: &Rc<VmCell>) {
        let mut vms = self.vms.borrow_mut();
        vms.retain(|_, weak| weak.strong_count() > 0);
        vms.insert(instance, Rc::downgrade(vm));
    }

    /// Sends VM failures (by `vm_key`) to `tx` (the worker's VM recovery).
    pub fn report_failures_to(&self, tx: UnboundedSender<String>) {
        *self.failures.borrow_mut() = Some(tx);
    }

    /// A VM with this `vm_key` failed.
    pub fn vm_failed(&self, vm_key: &str) {
        if let Some(tx) = self.failures.borrow().as_ref() {
            let _ = tx.send(vm_key.to_string());
        }
    }

    /// `vm` now holds a new instance: callouts, timers and retired contexts of the old one
    /// are dropped with it.
    pub fn vm_replaced(&self, old_instance: u64, vm: &Rc<VmCell>, new_instance: u64) {
        self.vms.borrow_mut().remove(&old_instance);
        self.register_vm(new_instance, vm);
        self.retired.borrow_mut().retain(|r| !Rc::ptr_eq(&r.vm, vm));
    }

    /// Keeps a root context alive until it calls `proxy_done` (or [`RETIRE_GRACE`] passes).
    pub fn retire(&self, vm: Rc<VmCell>, root: u32) {
        let deadline = std::time::Instant::now() + RETIRE_GRACE;
        self.retired.borrow_mut().push(Retired { vm, root, deadline });
    }

    /// Deletes retired root contexts that are done (all of them with `force`). Call outside any
    /// VM callback.
    pub fn sweep_retired(&self, force: bool) {
        let now = std::time::Instant::now();
        let due: Vec<Retired> = {
            let mut retired = self.retired.borrow_mut();
            let (due, keep): (Vec<_>, Vec<_>) = retired.drain(..).partition(|r| {
                force || now >= r.deadline || r.vm.try_borrow().is_ok_and(|vm| vm.root_done_called(r.root))
            });
            *retired = keep;
            due
        };
        for r in due {
            if let Ok(mut vm) = r.vm.try_borrow_mut()
                && let Err(e) = vm.delete_root_context(r.root)
            {
                tracing::warn!(vm_id = %vm.state().vm_id(), "proxy_on_delete failed: {e}");
            }
        }
    }

    /// A VM of this worker by instance id, if it is still alive.
    pub fn vm(&self, instance: u64) -> Option<Rc<VmCell>> {
        self.vms.borrow().get(&instance).and_then(Weak::upgrade)
    }
}
