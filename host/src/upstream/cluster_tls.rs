//! A cluster's TLS over time: built from its files for each configuration generation, and
//! again whenever the files' content changes (checked every second, for rotating client
//! certificates and CA bundles): a valid new set is used by new connections, an invalid one
//! is logged once and the previous one kept. Connections already open keep their session.

use std::sync::{Arc, Weak};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use parking_lot::Mutex;
use weir_tls::{ClientTls, UpstreamTls};

/// A SHA-256 of the files' content.
type Digest = [u8; 32];

/// How often the files are checked.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// The TLS a cluster's new connections use.
#[derive(Debug, Default)]
pub struct ClusterTls {
    /// `None` with TLS configured: its files could not be loaded, and connections fail rather
    /// than go out in cleartext.
    current: ArcSwapOption<ClientTls>,
    /// Digests of the files in use and of the last refused ones (refused once, logged once).
    seen: Mutex<(Option<Digest>, Option<Digest>)>,
}

impl ClusterTls {
    /// The TLS in use.
    pub fn get(&self) -> Option<Arc<ClientTls>> {
        self.current.load_full()
    }

    /// Builds the TLS from `settings` now (a new configuration generation). A failure keeps
    /// the TLS in use, if any, and is logged.
    pub fn load(&self, cluster: &str, settings: &UpstreamTls, http2: bool) {
        self.refresh(cluster, settings, http2, true);
    }

    /// Builds the TLS again if the files changed since it was built (or refused); whether it
    /// changed.
    pub fn refresh(&self, cluster: &str, settings: &UpstreamTls, http2: bool, force: bool) -> bool {
        let field = format!("clusters[{cluster}].tls");
        let digest = match weir_tls::files_digest(settings) {
            Ok(digest) => Some(digest),
            Err(e) if force => return self.refused(cluster, &e.to_string()),
            Err(_) => None,
        };
        let mut seen = self.seen.lock();
        if !force && (digest.is_none() || seen.0 == digest || seen.1 == digest) {
            return false;
        }
        match ClientTls::new(settings, http2, &field) {
            Ok(tls) => {
                self.current.store(Some(Arc::new(tls)));
                *seen = (digest, None);
                true
            }
            Err(e) => {
                seen.1 = digest;
                drop(seen);
                self.refused(cluster, &e.to_string())
            }
        }
    }

    fn refused(&self, cluster: &str, reason: &str) -> bool {
        let outcome = match self.current.load().is_some() {
            true => "the previous ones stay in use",
            false => "connections to the cluster fail",
        };
        tracing::error!(%cluster, "TLS settings refused, {outcome}: {reason}");
        false
    }
}

/// Checks `state`'s TLS files every second on a thread of its own, for as long as the
/// cluster lives.
pub fn spawn_watcher(state: &Arc<super::ClusterState>) {
    if state.config.tls.is_none() {
        return;
    }
    let weak: Weak<super::ClusterState> = Arc::downgrade(state);
    let spawned = std::thread::Builder::new().name("weir-cluster-tls".into()).spawn(move || {
        loop {
            std::thread::sleep(WATCH_INTERVAL);
            let Some(state) = weak.upgrade() else { return };
            if state.refresh_tls() {
                tracing::info!(cluster = %state.name(), "TLS files changed: new connections use them");
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(cluster = %state.name(), "TLS files not watched: {e}");
    }
}
