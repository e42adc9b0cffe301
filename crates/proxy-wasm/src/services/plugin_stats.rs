//! Execution metrics of one plugin, process-wide and kept across reloads (by plugin name):
//! callbacks run and their time, failures by kind, VM replacements.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use parking_lot::Mutex;
use serde_json::{Value, json};

use crate::wasm::VmError;

/// Counters of one plugin across workers.
#[derive(Debug, Default)]
pub struct PluginStats {
    /// HTTP callbacks run.
    pub calls: AtomicU64,
    /// Their total time, in nanoseconds.
    pub time_ns: AtomicU64,
    /// The longest one, in nanoseconds.
    pub max_time_ns: AtomicU64,
    /// Callbacks that failed (trap, limit, timeout, exit).
    pub failures: AtomicU64,
    /// Of which: traps (and `proc_exit`).
    pub traps: AtomicU64,
    /// Of which: time limit exceeded.
    pub timeouts: AtomicU64,
    /// Of which: memory or stack limit exceeded.
    pub limits: AtomicU64,
    /// VMs replaced after a failure (`FAIL_RELOAD`).
    pub reloads: AtomicU64,
    /// VMs failed and not (yet) replaced, across workers.
    pub failed_vms: AtomicI64,
    /// Set when reloading stopped because the VM kept failing (crash loop).
    pub crash_looping: AtomicBool,
    /// The last failure: when (seconds since the epoch) and what (with the wasm backtrace).
    pub last_failure: Mutex<Option<(f64, String)>>,
    /// Hostcalls refused because of a limit, by the limit's name.
    pub refusals: Mutex<std::collections::BTreeMap<&'static str, u64>>,
}

impl PluginStats {
    /// Counts `calls` callbacks that took `ns` nanoseconds in all, the longest `max_ns`.
    pub fn record_calls(&self, calls: u64, ns: u64, max_ns: u64) {
        self.calls.fetch_add(calls, Ordering::Relaxed);
        self.time_ns.fetch_add(ns, Ordering::Relaxed);
        self.max_time_ns.fetch_max(max_ns, Ordering::Relaxed);
    }

    /// Counts a failure. `Failed`/`Busy` (a VM that failed earlier) are not new failures.
    pub fn record(&self, error: &VmError) {
        let kind = match error {
            VmError::Trap(_) | VmError::Exit(_) => &self.traps,
            VmError::Timeout(_) => &self.timeouts,
            VmError::Limit { .. } => &self.limits,
            VmError::Failed(_) | VmError::Busy => return,
        };
        kind.fetch_add(1, Ordering::Relaxed);
        self.failures.fetch_add(1, Ordering::Relaxed);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        *self.last_failure.lock() = Some((now, error.to_string()));
    }

    /// Counts a hostcall refused because of `limit`.
    pub fn refused(&self, limit: &'static str) {
        *self.refusals.lock().entry(limit).or_default() += 1;
    }

    /// The status shown by `/plugins`.
    pub fn status(&self) -> &'static str {
        if self.crash_looping.load(Ordering::Relaxed) {
            "crash-looping"
        } else if self.failed_vms.load(Ordering::Relaxed) > 0 {
            "failed"
        } else {
            "ok"
        }
    }

    /// The counters as JSON.
    pub fn to_json(&self) -> Value {
        let calls = self.calls.load(Ordering::Relaxed);
        let total = self.time_ns.load(Ordering::Relaxed);
        let micros = |ns: u64| ns as f64 / 1000.0;
        json!({
            "calls": calls,
            "failed": self.failures.load(Ordering::Relaxed),
            "trapped": self.traps.load(Ordering::Relaxed),
            "timed_out": self.timeouts.load(Ordering::Relaxed),
            "limits_exceeded": self.limits.load(Ordering::Relaxed),
            "vm_reloads": self.reloads.load(Ordering::Relaxed),
            "failed_vms": self.failed_vms.load(Ordering::Relaxed),
            "time_total_us": micros(total),
            "time_max_us": micros(self.max_time_ns.load(Ordering::Relaxed)),
            "time_avg_us": if calls == 0 { 0.0 } else { micros(total) / calls as f64 },
            "limits_refused": self.refusals.lock().clone(),
            "last_failure": self.last_failure.lock().as_ref().map(|(at, error)| json!({"at": at, "error": error})),
        })
    }
}

/// Stats of every plugin the process ran, by name.
#[derive(Debug, Default)]
pub struct PluginStatsRegistry {
    by_name: Mutex<HashMap<String, Arc<PluginStats>>>,
}

impl PluginStatsRegistry {
    /// The stats of `name` (created on first use, kept across reloads).
    pub fn get(&self, name: &str) -> Arc<PluginStats> {
        self.by_name.lock().entry(name.to_string()).or_default().clone()
    }
}
