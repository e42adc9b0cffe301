//! The hostile-filter attacks on how the host treats the guest itself: WASI output, tick
//! timers, log lines, memory and stack. The comment on each says what weir did before issue
//! 19 was fixed, and so which assertion that behaviour fails.

use serde_json::json;

use super::filters::{BOUND, Bound, EnvoyRun, Extra, FilterAttack, OK, none};
use super::guest;
use crate::faults::request::Outcome::Status;

/// The attacks, in the table's order.
pub const ATTACKS: &[FilterAttack] = &[
    // Old: 2048 iovecs over the same 64 KiB allocated 268 MB in one hostcall and returned Ok
    // (check 3 and the peak bound fail).
    FilterAttack {
        key: "fd-write",
        title: "WASI `fd_write` with 1024 iovecs over the same 64 KiB, then 2048",
        module: guest::fd_write,
        limits: none,
        policy: "FAIL_CLOSED",
        requests: 1000,
        expected: OK,
        checks: &["1024 iovecs: success", "64 MiB reported written", "2048 iovecs: EINVAL"],
        refusals: &[],
        bound: BOUND,
        envoy: EnvoyRun::Requests(2),
        known_defect: None,
        extra: Extra::None,
    },
    // Old: a tick task per call, reachable from every request through the root context:
    // ~70 MB retained per request (the memory bound fails).
    FilterAttack {
        key: "tick",
        title: "tick period set in every request as the root context (`proxy_set_effective_context(root)`)",
        module: guest::tick_timers,
        limits: none,
        policy: "FAIL_CLOSED",
        requests: 1000,
        expected: OK,
        checks: &["set_effective_context(root): Ok", "set_tick_period: Ok", "back to the request: Ok"],
        refusals: &[],
        bound: BOUND,
        envoy: EnvoyRun::Requests(1000),
        known_defect: None,
        extra: Extra::None,
    },
    // Old: guest newlines and escapes reached the log raw (forged lines), lines uncut.
    FilterAttack {
        key: "logs",
        title: "log lines with forged newlines and terminal escapes (`proxy_log`, WASI stderr), and a 64 KiB line",
        module: guest::forged_logs,
        limits: none,
        policy: "FAIL_CLOSED",
        requests: 1000,
        expected: OK,
        checks: &["proxy_log: Ok", "64 KiB proxy_log: Ok", "fd_write: success"],
        refusals: &[],
        bound: BOUND,
        envoy: EnvoyRun::Requests(1000),
        known_defect: None,
        extra: Extra::Log,
    },
    // Old: a VM failed at its cap kept its linear memory until replaced (2 × 64 MiB held:
    // the after bound fails).
    FilterAttack {
        key: "leak",
        title: "1 MiB leaked per request up to the 64 MiB memory cap, FAIL_CLOSED",
        module: guest::leak,
        limits: none,
        policy: "FAIL_CLOSED",
        requests: 1000,
        expected: &[Status(200), Status(503)],
        checks: &[],
        refusals: &[],
        bound: Bound {
            after_mib: 64,
            peak_mib: 192,
            why: "peak: each worker's VM reaches its 64 MiB cap before it fails; afterwards the memory must be back",
        },
        envoy: EnvoyRun::Requests(1000),
        known_defect: None,
        extra: Extra::MemoryCap,
    },
    // Old: guest code ran on threads without room for the largest guest stack (the
    // configuration canary ran on a 2 MiB thread and could overflow: the process died).
    FilterAttack {
        key: "recursion-2m",
        title: "recursion without end, `max_stack_bytes` 2097152, FAIL_RELOAD",
        module: guest::recursion,
        limits: || json!({"max_stack_bytes": 2 << 20}),
        policy: "FAIL_RELOAD",
        requests: 1000,
        expected: &[Status(503)],
        checks: &[],
        refusals: &[],
        bound: BOUND,
        envoy: EnvoyRun::Requests(1000),
        known_defect: None,
        extra: Extra::StackLimit,
    },
    // The same at the documented maximum. Old: as above.
    FilterAttack {
        key: "recursion-8m",
        title: "recursion without end, `max_stack_bytes` 8388608, FAIL_RELOAD",
        module: guest::recursion,
        limits: || json!({"max_stack_bytes": 8 << 20}),
        policy: "FAIL_RELOAD",
        requests: 1000,
        expected: &[Status(503)],
        checks: &[],
        refusals: &[],
        bound: Bound {
            after_mib: 96,
            peak_mib: 96,
            why: "each worker's native stack grows to the 8 MiB the plugin may use (and stays resident), and an \
                  engine and module are compiled for that stack size",
        },
        envoy: EnvoyRun::Skip("the same module as the row above, which Envoy runs"),
        known_defect: None,
        extra: Extra::StackLimit,
    },
];
