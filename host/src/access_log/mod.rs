//! Access logs: one line per request (or TCP connection) in the listener's format (weir's
//! JSON fields by default, or Envoy's command operators as text or JSON: [`format`]), written
//! by a dedicated thread so workers never block on the file. If the writer falls behind, lines
//! are dropped and counted (`weir_access_log_lines_dropped_total{path}`) rather than slowing
//! requests or holding memory: at most [`QUEUE`] lines and [`QUEUE_BYTES`] bytes wait per
//! destination. SIGUSR1 reopens the files (after logrotate moved them), as logrotate's
//! `postrotate` expects.

mod format;
mod operator;

pub use format::{ENVOY_DEFAULT, Format};
pub use operator::{FormatError, Record, response_flags};

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};

use parking_lot::Mutex;

use crate::config::AccessLogConfig;

/// Lines waiting for the writer before new ones are dropped.
pub const QUEUE: usize = 16_384;
/// Bytes of lines waiting for the writer before new ones are dropped: a client's 60 KiB
/// headers logged by a `%REQ(..)%` must not make the queue hold 16,384 × 60 KiB.
pub const QUEUE_BYTES: usize = 8 << 20;

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
    /// Bytes of the lines queued and not yet taken by the writer.
    queued: Arc<AtomicUsize>,
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
    pub fn write(&self, line: String) {
        let len = line.len();
        if self.queued.fetch_add(len, Ordering::AcqRel) + len > QUEUE_BYTES {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.tx.try_send(Message::Line(line))
        {
            self.queued.fetch_sub(len, Ordering::AcqRel);
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
        let queued = Arc::new(AtomicUsize::new(0));
        let taken = queued.clone();
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
                    }
                }
                if !batch.is_empty() && out.write_all(batch.as_bytes()).and_then(|()| out.flush()).is_err() {
                    tracing::warn!("access log write failed");
                }
                // Counted until written: a writer blocked on a full disk or pipe holds them.
                taken.fetch_sub(batch.len(), Ordering::AcqRel);
            }
        })?;
        let sink = Arc::new(Sink { tx, dropped: AtomicU64::new(0), queued, reopen });
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

/// A listener's access log: its destination and its compiled format.
#[derive(Debug)]
pub struct AccessLog {
    sink: Arc<Sink>,
    format: Format,
}

impl AccessLog {
    /// Opens the destination of `config` (shared with other listeners writing there) and
    /// compiles its format.
    pub fn open(logs: &AccessLogs, config: &AccessLogConfig) -> Result<AccessLog, String> {
        let format = Format::compile(config).map_err(|e| e.to_string())?;
        let sink = logs.sink(&config.path).map_err(|e| format!("access log {}: {e}", config.path))?;
        Ok(AccessLog { sink, format })
    }

    /// Writes the line of `record`.
    pub fn write(&self, record: &Record<'_>) {
        self.sink.write(self.format.render(record));
    }
}
