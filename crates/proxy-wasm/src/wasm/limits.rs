//! What one VM may make the host hold on its behalf, beyond its own linear memory: the limits
//! a plugin's `limits` section sets, and the budget of bytes its callouts hold in flight.
//!
//! Every cap here answers the guest with a status (never an allocation failure or a hang) and
//! is counted per plugin (`weir_plugin_limit_exceeded_total{plugin,limit}`, `/plugins`).
//! The per-`vm_id` caps (shared data, queues, metrics) live with those services.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

/// Limits applied to one VM.
#[derive(Debug, Clone, Copy)]
pub struct VmLimits {
    /// Largest linear memory, in bytes.
    pub max_memory_bytes: u64,
    /// Longest a single callback may run.
    pub max_callback_time: Duration,
    /// Most callouts in flight.
    pub max_concurrent_callouts: usize,
    /// Largest callout request (headers, body and trailers, or one gRPC message) and largest
    /// callout response body (or received gRPC message), in bytes.
    pub max_callout_bytes: usize,
    /// Most bytes all of the VM's callouts may hold at once (requests not yet sent, gRPC
    /// messages queued, responses being received).
    pub max_callout_bytes_in_flight: usize,
    /// Largest header map (names and values) a plugin may make, in bytes.
    pub max_header_map_bytes: usize,
    /// Most entries of a header map a plugin may make.
    pub max_header_map_entries: usize,
    /// Most bytes of filter state (`proxy_set_property`) one stream may hold.
    pub max_filter_state_bytes: usize,
    /// Most log lines a second (0: no limit).
    pub max_log_lines_per_second: u32,
}

impl Default for VmLimits {
    fn default() -> Self {
        VmLimits {
            max_memory_bytes: 64 * 1024 * 1024,
            max_callback_time: Duration::from_secs(1),
            max_concurrent_callouts: 1024,
            max_callout_bytes: 4 * 1024 * 1024,
            max_callout_bytes_in_flight: 32 * 1024 * 1024,
            max_header_map_bytes: 256 * 1024,
            max_header_map_entries: 1024,
            max_filter_state_bytes: 1024 * 1024,
            max_log_lines_per_second: 1000,
        }
    }
}

/// The bytes a VM's callouts hold in flight, against `limits.max_callout_bytes_in_flight`.
/// Shared (on the VM's worker) by the VM and the tasks running its callouts.
#[derive(Debug, Clone)]
pub struct InFlight {
    used: Rc<Cell<usize>>,
    limit: usize,
}

impl InFlight {
    /// An empty budget of `limit` bytes.
    pub fn new(limit: usize) -> InFlight {
        InFlight { used: Rc::new(Cell::new(0)), limit }
    }

    /// Reserves `bytes`, released when the returned charge is dropped; `None` when that would
    /// pass the limit.
    pub fn charge(&self, bytes: usize) -> Option<Charge> {
        let mut charge = Charge { budget: self.clone(), bytes: 0 };
        charge.grow(bytes).then_some(charge)
    }

    /// Bytes held now.
    pub fn used(&self) -> usize {
        self.used.get()
    }
}

/// Bytes reserved from an [`InFlight`] budget until dropped.
#[derive(Debug)]
pub struct Charge {
    budget: InFlight,
    bytes: usize,
}

impl Charge {
    /// Grows the reservation by `bytes`; `false` (nothing changed) when that would pass the
    /// limit.
    pub fn grow(&mut self, bytes: usize) -> bool {
        let budget = &self.budget;
        let Some(used) = budget.used.get().checked_add(bytes).filter(|u| *u <= budget.limit) else {
            return false;
        };
        budget.used.set(used);
        self.bytes += bytes;
        true
    }
}

impl Charge {
    /// Gives `bytes` of the reservation back.
    pub fn shrink(&mut self, bytes: usize) {
        let bytes = bytes.min(self.bytes);
        self.bytes -= bytes;
        self.budget.used.set(self.budget.used.get().saturating_sub(bytes));
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.budget.used.set(self.budget.used.get().saturating_sub(self.bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_are_released_when_dropped() {
        let budget = InFlight::new(100);
        let a = budget.charge(60);
        assert!(a.is_some());
        assert!(budget.charge(50).is_none());
        let mut b = budget.charge(40).unwrap();
        assert!(!b.grow(1));
        drop(a);
        assert!(b.grow(50));
        assert_eq!(budget.used(), 90);
        drop(b);
        assert_eq!(budget.used(), 0);
        assert!(budget.charge(usize::MAX).is_none());
    }
}
