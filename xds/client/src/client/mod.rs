//! weir's xDS client: one connection to the control plane carrying the ADS stream (state of
//! the world, or delta) and, for the types configured so, per-type streams; subscribing to the
//! resource types weir consumes (RTDS runtime layers, ECDS filter configs, SDS secrets,
//! listeners, routes, clusters and endpoints).
//!
//! Each response is handed to a [`Handler`] whole: the handler applies all of it or none, and
//! the client ACKs (the new version) or NACKs (`error_detail` with the handler's reason, and
//! the last good version). When the stream breaks, the last applied values stay and the client
//! reconnects with jittered backoff (500 ms → 30 s), sending the versions it holds.

mod backoff;
mod common;
mod delta;
mod session;
mod status;
mod streams;
mod subscriptions;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use envoy_types::pb::google::protobuf::Any;
use parking_lot::{Condvar, Mutex};

pub use backoff::Backoff;
pub use status::{ClientStatus, Nack, TypeStatus};
pub use subscriptions::MAX_WILDCARD_RESOURCES;

/// What to connect to and what to ask for.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Control plane endpoints (`host:port`), tried in turn.
    pub endpoints: Vec<String>,
    /// This node's id (`Node.id`).
    pub node_id: String,
    /// This node's cluster (`Node.cluster`).
    pub node_cluster: String,
    /// This node's metadata (`Node.metadata`).
    pub node_metadata: Option<envoy_types::pb::google::protobuf::Struct>,
    /// The subscriptions, one per type URL.
    pub subscriptions: Vec<Subscription>,
    /// How long start-up waits for the first answer to every subscription; zero waits forever
    /// (as Envoy's `initial_fetch_timeout`).
    pub initial_fetch_timeout: Duration,
    /// Connect timeout per attempt.
    pub connect_timeout: Duration,
    /// HTTP/2 keepalive PINGs on the connection: their interval and how long one may go
    /// unanswered before the connection is given up (and another opened).
    pub keepalive: (Duration, Duration),
    /// Reconnect backoff.
    pub backoff: Backoff,
    /// How to reach an endpoint: `None` for plaintext HTTP/2 (h2c); a [`Transport`] (e.g. TLS)
    /// otherwise.
    pub transport: Option<Arc<dyn Transport>>,
    /// Delta (incremental) xDS instead of state of the world (Envoy's `DELTA_GRPC`).
    pub delta: bool,
    /// The type URLs fetched each on a stream of its own, on the type's discovery service
    /// (Envoy's `api_config_source`); every other type shares the ADS stream.
    pub separate_streams: std::collections::BTreeSet<String>,
}

/// A byte stream to the control plane.
pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}

impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Io for T {}

/// A connection being opened.
pub type Connecting =
    std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<Box<dyn Io>>> + Send>>;

/// Opens connections to the control plane (the embedder's TLS, say); HTTP/2 runs on top.
pub trait Transport: Send + Sync + std::fmt::Debug + 'static {
    /// A connection to `endpoint` (`host:port`), handshakes done.
    fn connect(&self, endpoint: String) -> Connecting;
}

/// A subscription to named resources of one type (no names: every resource for LDS and CDS,
/// none for other types; [`crate::types::wildcard`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The type URL, e.g. [`crate::types::RUNTIME`].
    pub type_url: String,
    /// The resource names.
    pub resource_names: Vec<String>,
}

/// What an applied update asks of the client next.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Subscriptions to set, each replacing its type's names (a type not subscribed yet is
    /// added): the EDS resources the clusters of a CDS update need, say. Sent after the ACK.
    pub resubscribe: Vec<Subscription>,
}

/// Applies what the control plane sends.
pub trait Handler: Send + Sync + 'static {
    /// Applies every resource of one response, or none of them and says why (the reason is
    /// sent back as the NACK's `error_detail`). Runs on a blocking thread: it may take time.
    fn apply(&self, type_url: &str, version: &str, resources: Vec<Any>) -> Result<Applied, String>;

    /// The stream to the control plane went up (`true`) or down.
    fn connection(&self, _connected: bool) {}
}

/// A running client; stops when dropped.
#[derive(Debug)]
pub struct XdsClient {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
    timer: Option<tokio::task::JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Shared {
    status: Mutex<ClientStatus>,
    changed: Condvar,
}

impl Shared {
    fn update(&self, f: impl FnOnce(&mut ClientStatus)) {
        let mut status = self.status.lock();
        f(&mut status);
        if !status.initialized
            && !status.types.is_empty()
            && status.types.values().all(|t| t.accepted + t.rejected > 0)
        {
            status.initialized = true;
        }
        drop(status);
        self.changed.notify_all();
    }
}

impl XdsClient {
    /// Starts the client on `runtime`.
    pub fn start(
        runtime: &tokio::runtime::Handle,
        config: ClientConfig,
        handler: Arc<dyn Handler>,
    ) -> XdsClient {
        let shared = Arc::new(Shared::default());
        shared.update(|s| {
            for sub in &config.subscriptions {
                s.types.insert(
                    sub.type_url.clone(),
                    TypeStatus { resource_names: sub.resource_names.clone(), ..TypeStatus::default() },
                );
            }
            s.initialized = config.subscriptions.is_empty();
        });
        let timer = (!config.initial_fetch_timeout.is_zero()).then(|| {
            let (shared, timeout) = (shared.clone(), config.initial_fetch_timeout);
            runtime.spawn(async move {
                tokio::time::sleep(timeout).await;
                shared.update(|s| {
                    if !s.initialized {
                        tracing::warn!(?timeout, "xDS initial fetch timed out; starting without it");
                        s.initialized = true;
                    }
                });
            })
        });
        let task = runtime.spawn(session::run(config, handler, shared.clone()));
        XdsClient { shared, task, timer }
    }

    /// The current status.
    pub fn status(&self) -> ClientStatus {
        self.shared.status.lock().clone()
    }

    /// Blocks until every subscription had its first answer or the initial fetch timed out;
    /// gives up after `limit` and returns whether it got there. Call from a plain thread.
    pub fn wait_initialized(&self, limit: Duration) -> bool {
        let deadline = std::time::Instant::now().checked_add(limit);
        let mut status = self.shared.status.lock();
        while !status.initialized {
            match deadline {
                Some(deadline) => {
                    if self.shared.changed.wait_until(&mut status, deadline).timed_out() {
                        return status.initialized;
                    }
                }
                None => self.shared.changed.wait(&mut status),
            }
        }
        true
    }
}

impl Drop for XdsClient {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(timer) = &self.timer {
            timer.abort();
        }
    }
}

fn now() -> Option<SystemTime> {
    Some(SystemTime::now())
}
