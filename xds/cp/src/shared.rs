//! What every xDS stream and the admin API share.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::gateway::GatewayState;
use super::push_times::PushTimes;
use super::status::Registry;
use super::store::Store;

/// The store, the client registry and the nonce source.
#[derive(Debug)]
pub struct Shared {
    /// The served state.
    pub store: Arc<Store>,
    /// Clients' status and counters.
    pub status: Registry,
    /// How long changes take to be pushed and ACKed.
    pub push_times: PushTimes,
    /// The Gateway API status of the last `/gateway/apply`.
    pub gateway: GatewayState,
    /// The next nonce.
    next_nonce: AtomicU64,
    /// `control_plane.identifier` in responses.
    pub identifier: String,
    /// A per-process prefix, so nonces of a restarted weir-cp differ from the old ones.
    boot: String,
}

impl Shared {
    /// Shares `store`; the registry keeps at most `max_nodes` nodes, a disconnected one for
    /// `retention`.
    pub fn new(store: Arc<Store>, max_nodes: usize, retention: std::time::Duration) -> Shared {
        Shared {
            store,
            status: Registry::with_retention(max_nodes, retention),
            push_times: PushTimes::default(),
            gateway: GatewayState::default(),
            next_nonce: AtomicU64::new(1),
            identifier: format!("weir-cp/{}", env!("CARGO_PKG_VERSION")),
            boot: format!("{:08x}", fastrand::u32(..)),
        }
    }

    /// A fresh nonce, unique in this process and, with high probability, across restarts.
    pub fn nonce(&self) -> String {
        format!("{}-{}", self.boot, self.next_nonce.fetch_add(1, Ordering::Relaxed))
    }
}

/// Resolves once `shutdown` turns true (or its sender is gone).
pub async fn stopped(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}
