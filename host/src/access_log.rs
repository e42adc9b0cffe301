//! Access logs: one JSON line per request with Envoy-like fields, written by a dedicated thread
//! so workers never block on the file. If the writer falls behind, lines are dropped and
//! counted (`weir_access_log_lines_dropped_total{path}`) rather than slowing requests. SIGUSR1
//! reopens the files (after logrotate moved them), as logrotate's `postrotate` expects.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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

/// What the writer thread is sent.
enum Message {
    /// A line to write.
    Line(String),
    /// Look at `reopen` (sent best effort; the flag is what counts).
    Wake,
}

/// Where a listener's access log lines go.
#[derive(Debug)]
pub struct Sink {
    tx: SyncSender<Message>,
    dropped: AtomicU64,
    /// Set by [`AccessLogs::reopen`]; the writer reopens the file before its next write.
    reopen: Arc<AtomicBool>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Message::Line(_) => "Line",
            Message::Wake => "Wake",
        })
    }
}

impl Sink {
    /// Queues a line (dropping it if the writer is behind).
    pub fn write(&self, entry: &Entry<'_>) {
        let Ok(line) = serde_json::to_string(entry) else { return };
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.tx.try_send(Message::Line(line))
        {
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
        let file = (path != "-").then(|| PathBuf::from(path));
        let mut out = open(file.as_deref())?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Message>(QUEUE);
        let reopen = Arc::new(AtomicBool::new(false));
        let flag = reopen.clone();
        std::thread::Builder::new().name("weir-access-log".into()).spawn(move || {
            while let Ok(first) = rx.recv() {
                if flag.swap(false, Ordering::AcqRel) {
                    match open(file.as_deref()) {
                        Ok(new) => out = new,
                        Err(e) => {
                            // Tried again before the next write.
                            flag.store(true, Ordering::Release);
                            tracing::warn!(path = ?file, "access log not reopened, still writing the old file: {e}");
                        }
                    }
                }
                let mut batch = String::new();
                for message in std::iter::once(first).chain(std::iter::from_fn(|| rx.try_recv().ok())) {
                    if let Message::Line(line) = message {
                        batch.push_str(&line);
                        batch.push('\n');
                    }
                }
                if !batch.is_empty() && out.write_all(batch.as_bytes()).and_then(|()| out.flush()).is_err() {
                    tracing::warn!("access log write failed");
                }
            }
        })?;
        let sink = Arc::new(Sink { tx, dropped: AtomicU64::new(0), reopen });
        sinks.insert(path.to_string(), sink.clone());
        Ok(sink)
    }

    /// Reopens every file (SIGUSR1): lines written from now on go to a file at the configured
    /// path, created if logrotate moved the old one away.
    pub fn reopen(&self) {
        for sink in self.sinks.lock().values() {
            sink.reopen.store(true, Ordering::Release);
            let _ = sink.tx.try_send(Message::Wake);
        }
    }

    /// Lines dropped so far, per path.
    pub fn dropped(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> =
            self.sinks.lock().iter().map(|(p, s)| (p.clone(), s.dropped())).collect();
        out.sort();
        out
    }
}

/// The destination: standard output, or `path` opened for appending.
fn open(path: Option<&std::path::Path>) -> std::io::Result<Box<dyn Write + Send>> {
    Ok(match path {
        None => Box::new(std::io::stdout()),
        Some(path) => Box::new(std::fs::OpenOptions::new().create(true).append(true).open(path)?),
    })
}
