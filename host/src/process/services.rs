//! What the whole process shares: the proxy-wasm core's guest services, and the proxy's own
//! statistics, access logs and runtime values.

use std::sync::Arc;

use weir_proxy_wasm::embedder::Events;
use weir_proxy_wasm::services::GuestServices;

use crate::access_log::AccessLogs;
use crate::process::modules::RemoteModules;
use crate::process::runtime_values::RuntimeValues;
use crate::stats::Stats;

pub use weir_proxy_wasm::services::{NodeIdentity, QueueReady, WorkerServices};

/// State shared by every worker of the process, across configurations.
#[derive(Debug)]
pub struct ProcessServices {
    /// What guests share (shared data, queues, plugin metrics and counters, the node).
    pub guest: Arc<GuestServices>,
    /// Proxy statistics (also told of the core's events).
    pub stats: Arc<Stats>,
    /// Access log writers.
    pub access_logs: AccessLogs,
    /// Runtime values (static and RTDS layers) published to filters.
    pub runtime_values: RuntimeValues,
    /// TLS secrets received over SDS, by name; listeners of every generation build from them.
    pub secrets: Arc<weir_tls::Secrets>,
    /// Modules fetched over HTTP(S): the cache and the last fetch per plugin.
    pub remote_modules: RemoteModules,
    /// The request tracer (`tracing`), kept while its config stays the same.
    pub tracers: crate::trace::Tracers,
}

impl Default for ProcessServices {
    fn default() -> Self {
        let stats = Arc::new(Stats::default());
        let events: Arc<dyn Events> = stats.clone();
        ProcessServices {
            guest: Arc::new(GuestServices::new(events)),
            stats,
            access_logs: AccessLogs::default(),
            runtime_values: RuntimeValues::default(),
            secrets: Arc::new(weir_tls::Secrets::new()),
            remote_modules: RemoteModules::default(),
            tracers: crate::trace::Tracers::default(),
        }
    }
}
