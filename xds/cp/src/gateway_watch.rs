//! `weir-cp serve --gateway-dir DIR`: the Gateway API manifests of a directory, applied at start
//! and again whenever a file of it changes (polled: names, sizes and modification times). A
//! refused set of manifests is logged and shown by `GET /gateway/status` (`lastRefused`); the
//! last good one keeps being served.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tracing::{info, warn};

use crate::gateway::{self, GatewayError};
use crate::shared::{Shared, stopped};

/// Which directory, how often it is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayWatch {
    /// The directory (its `.yaml`, `.yml`, `.json` files; not subdirectories).
    pub dir: PathBuf,
    /// How often its files are compared with what was applied.
    pub interval: Duration,
}

/// What a directory holds, as far as a change is concerned.
type Fingerprint = Result<Vec<(PathBuf, u64, Option<SystemTime>)>, String>;

fn fingerprint(dir: &Path) -> Fingerprint {
    let entries = std::fs::read_dir(dir).map_err(|e| e.to_string())?;
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some((e.path(), meta.len(), meta.modified().ok()))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Applies `config.dir` now and on every change, until `stop`.
pub async fn run(shared: Arc<Shared>, config: GatewayWatch, mut stop: watch::Receiver<bool>) {
    let mut applied: Option<Fingerprint> = None;
    loop {
        let now = fingerprint(&config.dir);
        if applied.as_ref() != Some(&now) {
            applied = Some(now);
            let (shared, dir) = (shared.clone(), config.dir.clone());
            let outcome = tokio::task::spawn_blocking(move || {
                let text = gateway::read_manifests(&dir)
                    .map_err(|(path, reason)| format!("cannot read {}: {reason}", path.display()))?;
                gateway::apply(&shared.store, &shared.gateway, &text).map_err(|e| refused(&shared, e))
            })
            .await;
            match outcome {
                Ok(Ok(done)) => {
                    let changed = done.gateways.values().filter(|g| g.changed).count();
                    info!(dir = %config.dir.display(), gateways = done.gateways.len(), changed, removed = done.removed.len(),
                          "applied the Gateway API manifests");
                }
                Ok(Err(reason)) => {
                    warn!(dir = %config.dir.display(), %reason, "Gateway API manifests refused; the last good ones are served")
                }
                Err(e) => warn!(error = %e, "applying the Gateway API manifests aborted"),
            }
        }
        tokio::select! {
            () = tokio::time::sleep(config.interval) => {}
            () = stopped(&mut stop) => return,
        }
    }
}

/// Records why an apply was refused; returns it.
fn refused(shared: &Shared, e: GatewayError) -> String {
    let reason = e.to_string();
    shared.gateway.refused(reason.clone());
    reason
}
