//! Access logs: one JSON line per request with Envoy-like fields, written by a dedicated thread
//! so workers never block on the file. If the writer falls behind, lines are dropped and
//! counted rather than slowing requests.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};

use parking_lot::Mutex;
use serde::Serialize;

/// Lines waiting for the writer before new ones are dropped.
const QUEUE: usize = 16_384;

/// One access log line.
#[derive(Debug, Serialize)]
pub struct Entry<'a> {
    /// Request start, RFC 3339.
    pub start_time: String,
    /// `:method`.
    pub method: &'a str,
    /// `:path` as received.
    pub path: &'a str,
    /// `:authority`.
    pub authority: &'a str,
    /// `HTTP/1.1`, `HTTP/2`.
    pub protocol: &'a str,
    /// Final status (0 when the stream was reset).
    pub response_code: u16,
    /// Why the response was made (`via_upstream`, `route_not_found`, ...).
    pub response_code_details: &'a str,
    /// Request body bytes received.
    pub bytes_received: u64,
    /// Response body bytes sent.
    pub bytes_sent: u64,
    /// Total duration in milliseconds.
    pub duration_ms: u64,
    /// Upstream endpoint.
    pub upstream_host: Option<String>,
    /// Upstream cluster.
    pub upstream_cluster: Option<&'a str>,
    /// Route name.
    pub route_name: &'a str,
    /// Downstream peer.
    pub downstream_remote_address: String,
    /// `x-request-id`.
    pub request_id: &'a str,
    /// `user-agent`.
    pub user_agent: &'a str,
}

/// Where a listener's access log lines go.
#[derive(Debug)]
pub struct Sink {
    tx: SyncSender<String>,
    dropped: AtomicU64,
}

impl Sink {
    /// Queues a line (dropping it if the writer is behind).
    pub fn write(&self, entry: &Entry<'_>) {
        let Ok(line) = serde_json::to_string(entry) else { return };
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = self.tx.try_send(line) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Lines dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Access log sinks of the process, one writer thread per destination.
#[derive(Debug, Default)]
pub struct AccessLogs {
    sinks: Mutex<HashMap<String, Arc<Sink>>>,
}

impl AccessLogs {
    /// The sink for `path` (`-` is standard output), opened on first use.
    pub fn sink(&self, path: &str) -> std::io::Result<Arc<Sink>> {
        let mut sinks = self.sinks.lock();
        if let Some(sink) = sinks.get(path) {
            return Ok(sink.clone());
        }
        let mut out: Box<dyn Write + Send> = if path == "-" {
            Box::new(std::io::stdout())
        } else {
            Box::new(std::fs::OpenOptions::new().create(true).append(true).open(PathBuf::from(path))?)
        };
        let (tx, rx) = std::sync::mpsc::sync_channel::<String>(QUEUE);
        std::thread::Builder::new().name("weir-access-log".into()).spawn(move || {
            while let Ok(line) = rx.recv() {
                let mut batch = line;
                batch.push('\n');
                while let Ok(more) = rx.try_recv() {
                    batch.push_str(&more);
                    batch.push('\n');
                }
                if out.write_all(batch.as_bytes()).and_then(|()| out.flush()).is_err() {
                    tracing::warn!("access log write failed");
                }
            }
        })?;
        let sink = Arc::new(Sink { tx, dropped: AtomicU64::new(0) });
        sinks.insert(path.to_string(), sink.clone());
        Ok(sink)
    }
}
