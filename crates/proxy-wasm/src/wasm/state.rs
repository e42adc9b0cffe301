//! Per-VM host state (`Store` data): the guest's memory and allocator, its contexts, and the
//! services hostcalls reach.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use wasmtime::{Memory, TypedFunc};
use weir_abi::IntHasher;

use crate::callout::{CalloutState, PendingCallouts};
use crate::services::{GuestServices, WorkerServices};
use weir_http::StreamShared;

/// What a VM is given when it is created.
#[derive(Clone)]
pub struct VmEnv {
    /// The VM id (Envoy's `vm_config.vm_id`): scopes shared data and queues.
    pub vm_id: Arc<str>,
    /// Process-unique id of this VM instance (routes callout results and queue notifications).
    pub instance: u64,
    /// The module's ABI version (a few answers differ for 0.1.0).
    pub abi: weir_abi::AbiVersion,
    /// Bytes returned for `BufferType::VmConfiguration`.
    pub vm_configuration: Bytes,
    /// WASI environment variables.
    pub environment: Arc<Vec<(String, String)>>,
    /// Process-wide services: shared data, queues, metrics.
    pub process: Arc<GuestServices>,
    /// The worker's services (clusters for callouts, timers). `None` for VMs that only validate
    /// a plugin off the data path.
    pub worker: Option<Rc<WorkerServices>>,
}

impl VmEnv {
    /// An environment with no worker and fresh process services, for validation and tests.
    pub fn detached() -> VmEnv {
        VmEnv {
            vm_id: Arc::from(""),
            instance: 0,
            abi: weir_abi::AbiVersion::V0_2_1,
            vm_configuration: Bytes::new(),
            environment: Arc::new(Vec::new()),
            process: Arc::new(GuestServices::default()),
            worker: None,
        }
    }
}

/// What the host knows about a plugin's root context.
#[derive(Debug)]
pub struct RootContextInfo {
    /// Plugin name (`plugin_name` property).
    pub plugin_name: Arc<str>,
    /// Root id (`plugin_root_id` property).
    pub root_id: Arc<str>,
    /// Bytes returned for `BufferType::PluginConfiguration`.
    pub configuration: Bytes,
    /// Tick period set by `proxy_set_tick_period_milliseconds` (`None`: no ticks).
    pub tick_period: Option<Duration>,
    /// The task delivering its ticks: one per root context, stopped when the period changes
    /// or the context (or its VM) goes away.
    pub ticker: Option<Ticker>,
    /// The host asked the root context to finish and it answered "not yet"
    /// (`proxy_on_done` returned false): `proxy_done` is now expected.
    pub done_pending: bool,
    /// The guest called `proxy_done`.
    pub done_called: bool,
    /// The status of the last gRPC callout closed in this root context or its HTTP contexts:
    /// `proxy_get_status`'s code, as Envoy keeps it on the root context.
    pub grpc_status: u32,
}

impl RootContextInfo {
    /// A root context for a plugin.
    pub fn new(plugin_name: &str, root_id: &str, configuration: Bytes) -> RootContextInfo {
        RootContextInfo {
            plugin_name: Arc::from(plugin_name),
            root_id: Arc::from(root_id),
            configuration,
            tick_period: None,
            ticker: None,
            done_pending: false,
            done_called: false,
            grpc_status: 0,
        }
    }
}

/// A root context's tick task; dropping it stops the task.
#[derive(Debug)]
pub struct Ticker(pub tokio::task::AbortHandle);

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Which parts of its stream an HTTP context may touch right now. Envoy gives a filter context
/// a map or body only while the matching callback runs (or while the context keeps that part
/// paused), and read-only maps during `proxy_on_log`; weir follows the same windows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Access {
    /// Request headers (during `on_request_headers`, and while paused there).
    pub request_headers: bool,
    /// The request body (during `on_request_body`, and while buffering).
    pub request_body: bool,
    /// Request trailers.
    pub request_trailers: bool,
    /// Response headers.
    pub response_headers: bool,
    /// The response body.
    pub response_body: bool,
    /// Response trailers.
    pub response_trailers: bool,
    /// `end_of_stream` of the current body callback (trailers may be added then).
    pub end_of_stream: bool,
    /// `proxy_on_log` is running: request/response headers and response trailers are readable.
    pub log: bool,
}

/// One context inside the VM.
pub enum ContextEntry {
    /// A plugin's root context.
    Root(RootContextInfo),
    /// A stream context, child of root context `root`: an HTTP exchange's, or a TCP
    /// connection's (`network`), whose downstream data is the stream's request body and whose
    /// upstream data its response body.
    Stream {
        /// Its root context.
        root: u32,
        /// The stream it sees.
        stream: Rc<StreamShared>,
        /// What it may touch now.
        access: Access,
        /// A TCP connection's context (a network filter's), not an HTTP exchange's.
        network: bool,
    },
}

/// Contexts by id. Looked up on every callback and hostcall; ids are small sequential
/// integers, so a multiplicative hash replaces SipHash.
pub type ContextMap = HashMap<u32, ContextEntry, BuildHasherDefault<IntHasher>>;

/// The `Store` data of one VM.
pub struct HostState {
    pub(crate) memory: Option<Memory>,
    pub(crate) malloc: Option<TypedFunc<i32, i32>>,
    /// wasmtime's view of the VM's limits (linear memory, tables).
    pub(crate) limiter: super::VmLimiter,
    /// What the VM may make the host hold.
    pub(crate) limits: super::VmLimits,
    /// Bytes its callouts hold now.
    pub(crate) in_flight: super::InFlight,
    /// Its log rate.
    pub(crate) log_budget: crate::abi::LogBudget,
    pub(crate) env: VmEnv,
    /// The context hostcalls act on (set before each callback, changed by
    /// `proxy_set_effective_context`).
    pub(crate) effective_context: u32,
    pub(crate) contexts: ContextMap,
    /// HTTP and gRPC callouts in flight, by token.
    pub(crate) callouts: PendingCallouts,
    /// The callout whose response is being delivered (readable through the call-response
    /// header maps and buffers during the callback).
    pub(crate) callout_response: Option<CalloutState>,
    /// Arguments of the foreign function being delivered (`BufferType::CallData`).
    pub(crate) call_data: Option<Bytes>,
    /// `proxy_on_vm_start` / `proxy_on_configure` is running: the plugin configuration is
    /// readable (Envoy's `temp_plugin_`).
    pub(crate) configuring: bool,
    /// Warn-and-above log lines of the current configure window (a few, for error messages).
    pub(crate) configure_errors: Vec<String>,
    /// Header names this VM's plugins set, parsed once.
    pub(crate) names: weir_http::NameCache,
    /// This VM's shared data scope (its `vm_id`'s), resolved on first use.
    shared: std::cell::OnceCell<Arc<crate::services::shared_data::Scope>>,
}

impl HostState {
    /// Fresh state for a new VM.
    pub fn new(env: VmEnv) -> HostState {
        HostState {
            memory: None,
            malloc: None,
            limiter: super::VmLimiter::default(),
            limits: super::VmLimits::default(),
            in_flight: super::InFlight::new(super::VmLimits::default().max_callout_bytes_in_flight),
            log_budget: crate::abi::LogBudget::new(0),
            env,
            effective_context: 0,
            contexts: ContextMap::default(),
            callouts: PendingCallouts::default(),
            callout_response: None,
            call_data: None,
            configuring: false,
            configure_errors: Vec::new(),
            names: weir_http::NameCache::default(),
            shared: std::cell::OnceCell::new(),
        }
    }

    /// The shared data of this VM's `vm_id`.
    pub(crate) fn shared_scope(&self) -> &crate::services::shared_data::Scope {
        self.shared.get_or_init(|| self.env.process.shared_data.scope(&self.env.vm_id))
    }

    /// The VM id.
    pub fn vm_id(&self) -> &str {
        &self.env.vm_id
    }

    /// The root context info for `context_id` (itself a root, or an HTTP context's root).
    pub(crate) fn root_of(&self, context_id: u32) -> Option<&RootContextInfo> {
        match self.contexts.get(&context_id)? {
            ContextEntry::Root(info) => Some(info),
            ContextEntry::Stream { root, .. } => match self.contexts.get(root)? {
                ContextEntry::Root(info) => Some(info),
                ContextEntry::Stream { .. } => None,
            },
        }
    }

    /// Mutable [`HostState::root_of`].
    pub(crate) fn root_of_mut(&mut self, context_id: u32) -> Option<&mut RootContextInfo> {
        let root = match self.contexts.get(&context_id)? {
            ContextEntry::Root(_) => context_id,
            ContextEntry::Stream { root, .. } => *root,
        };
        match self.contexts.get_mut(&root)? {
            ContextEntry::Root(info) => Some(info),
            ContextEntry::Stream { .. } => None,
        }
    }

    /// The access window and stream of the effective context, when it is an HTTP context.
    pub(crate) fn effective_http(&self) -> Option<(Access, &StreamShared)> {
        match self.contexts.get(&self.effective_context)? {
            ContextEntry::Stream { access, stream, network: false, .. } => Some((*access, stream)),
            ContextEntry::Stream { .. } | ContextEntry::Root(_) => None,
        }
    }

    /// Whether the effective context is a TCP connection's (a network filter's).
    pub(crate) fn effective_is_network(&self) -> bool {
        matches!(self.contexts.get(&self.effective_context), Some(ContextEntry::Stream { network: true, .. }))
    }

    /// The stream of the effective context, when it is a stream context.
    pub(crate) fn effective_stream(&self) -> Option<&Rc<StreamShared>> {
        match self.contexts.get(&self.effective_context)? {
            ContextEntry::Stream { stream, .. } => Some(stream),
            ContextEntry::Root(_) => None,
        }
    }

    /// The access window of the effective context (`None` for root contexts).
    pub(crate) fn effective_access(&self) -> Option<Access> {
        match self.contexts.get(&self.effective_context)? {
            ContextEntry::Stream { access, .. } => Some(*access),
            ContextEntry::Root(_) => None,
        }
    }

    /// Mutable access window of the effective context.
    pub(crate) fn effective_access_mut(&mut self) -> Option<&mut Access> {
        match self.contexts.get_mut(&self.effective_context)? {
            ContextEntry::Stream { access, .. } => Some(access),
            ContextEntry::Root(_) => None,
        }
    }

    /// A token for a new callout, unless the VM has `limits.max_concurrent_callouts` in
    /// flight (`InternalFailure`).
    pub(crate) fn next_callout_token(&mut self) -> Result<u32, weir_abi::Status> {
        if self.callouts.len() >= self.limits.max_concurrent_callouts {
            return Err(self.limit_exceeded("max_concurrent_callouts"));
        }
        Ok(self.callouts.next_token())
    }

    /// The status for a service's refusal, counting it when it is a limit.
    pub(crate) fn refused(&self, refusal: crate::services::Refusal) -> weir_abi::Status {
        match refusal {
            crate::services::Refusal::Status(status) => status,
            crate::services::Refusal::Limit(limit) => self.limit_exceeded(limit),
        }
    }

    /// Counts a refusal because of the limit named `limit` (its config field name) for the
    /// effective context's plugin; returns the status the hostcall answers
    /// (`InternalFailure`, for callers that have no better one). Logged at debug level only:
    /// a guest retrying past a cap must not flood the log (the counter says it happened).
    pub(crate) fn limit_exceeded(&self, limit: &'static str) -> weir_abi::Status {
        let plugin = self.plugin_name();
        tracing::debug!(plugin, limit, "hostcall refused: over the plugin's limit");
        self.env.process.events.limit_exceeded(plugin, limit);
        self.env.process.plugin_stats.get(plugin).refused(limit);
        weir_abi::Status::InternalFailure
    }

    /// The plugin of the effective context (empty if none).
    pub(crate) fn plugin_name(&self) -> &str {
        self.root_of(self.effective_context).map(|r| &*r.plugin_name).unwrap_or("")
    }
}
