//! The process log: `tracing` events written by a thread of their own, so that workers never
//! wait on stderr.
//!
//! The queue between workers and that thread is bounded ([`QUEUE_LINES`] lines of at most a
//! plugin's 16 KiB each, or the host's own): when the writer falls behind (a slow stderr
//! reader, a flood), lines are dropped rather than making the data path wait, and counted in
//! `weir_log_lines_dropped_total`. Plugins' own lines are rate-limited per VM before they get
//! here (`limits.max_log_lines_per_second`).

use std::sync::OnceLock;

use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};

/// Lines the queue to the log thread holds.
pub const QUEUE_LINES: usize = 16 * 1024;

static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event (time, level, target, message, fields).
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields` (with `message`),
    /// and `span`/`spans` when the event happened inside one, for log collectors.
    Json,
}

/// Installs the process log at `filter` (tracing `EnvFilter` syntax; `info` if invalid) in
/// `format`. Keep the returned guard alive: dropping it flushes the log.
pub fn init(filter: &str, format: LogFormat) -> WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(QUEUE_LINES)
        .finish(std::io::BufWriter::with_capacity(64 * 1024, std::io::stderr()));
    let _ = DROPPED.set(writer.error_counter());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    guard
}

/// Log lines dropped so far because the log thread fell behind.
pub fn dropped_lines() -> u64 {
    DROPPED.get().map_or(0, |c| c.dropped_lines() as u64)
}
