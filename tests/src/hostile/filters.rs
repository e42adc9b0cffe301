//! The hostile-filter attacks: one module each, run in every request on the `faulty`
//! listener. Each says what weir must answer, which refusals it must count, how much its
//! memory may grow, and whether (and how much of it) Envoy runs. The comment on each says
//! what weir did before issue 19 was fixed, and so which assertion that behaviour fails.

use serde_json::{Value, json};

use super::wat::Module;
use crate::faults::request::Outcome::{self, Status};

/// What Envoy runs of an attack.
#[derive(Debug, Clone, Copy)]
pub enum EnvoyRun {
    /// This many requests per side.
    Requests(usize),
    /// Not run, for this reason.
    Skip(&'static str),
}

/// Checks beyond statuses, refusals and memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extra {
    /// None.
    None,
    /// `/stats` and `/stats/prometheus` hold no forged line.
    Exposition,
    /// The log holds no forged line and no line much over 16 KiB.
    Log,
    /// Every response was replaced by a 502 and counted.
    ResponseTooLarge,
    /// The VMs failed at the memory cap (and their memory came back).
    MemoryCap,
    /// The VMs failed at the stack limit.
    StackLimit,
}

/// How much weir's resident memory may grow: after the load, and at its peak.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    /// MiB over the memory before the load, after it.
    pub after_mib: u64,
    /// MiB over the memory before the load, at any time during it.
    pub peak_mib: u64,
    /// Why more than 64 MiB, if it is.
    pub why: &'static str,
}

pub(super) const BOUND: Bound = Bound { after_mib: 64, peak_mib: 64, why: "" };
/// Two workers' VMs, each allowed to hold its 32 MiB callout budget.
pub(super) const CALLOUT_BOUND: Bound = Bound {
    after_mib: 128,
    peak_mib: 128,
    why: "each worker's VM may hold its 32 MiB `max_callout_bytes_in_flight` while its callouts wait",
};

/// A limit whose refusals weir must count, and the least count for the requests sent.
pub type Refusals = (&'static str, fn(u64) -> u64);

/// One attack.
#[derive(Debug, Clone, Copy)]
pub struct FilterAttack {
    /// Short key (`WEIR_HOSTILE=key` selects it).
    pub key: &'static str,
    /// What the module does, for the table.
    pub title: &'static str,
    /// The module.
    pub module: fn() -> Module,
    /// The plugin's `limits`.
    pub limits: fn() -> Value,
    /// Its failure policy.
    pub policy: &'static str,
    /// Requests per side.
    pub requests: usize,
    /// The only statuses the faulty side may get from weir.
    pub expected: &'static [Outcome],
    /// What each `$expect` check of the module requires, by number.
    pub checks: &'static [&'static str],
    /// Refusals weir must count: the limit, and the least count for the requests sent.
    pub refusals: &'static [Refusals],
    /// Memory bound.
    pub bound: Bound,
    /// Envoy's run.
    pub envoy: EnvoyRun,
    /// A host defect this attack reproduces (the row says so, and fails the suite while it
    /// does).
    pub known_defect: Option<&'static str>,
    /// More checks.
    pub extra: Extra,
}

pub(super) fn none() -> Value {
    json!({})
}

pub(super) const OK: &[Outcome] = &[Status(200)];

/// Every attack, in the table's order.
pub fn all() -> Vec<FilterAttack> {
    super::filters_guest::ATTACKS.iter().chain(super::filters_host::ATTACKS).copied().collect()
}
