//! `plugins[].limits`: what one plugin's VMs may use. The first group bounds the guest itself
//! (memory, time, stack); the second what it may make the host hold (callouts, header maps,
//! filter state, logs); the third is per `vm_id`, shared by the plugins of that `vm_id`
//! (shared data, queues, metrics: when they disagree, the largest value applies).
//! docs/reliability.md lists each with what happens past it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{SpecError, duration};

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// Per-VM resource limits.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginLimits {
    /// Largest linear memory, in bytes (rounded down to 64 KiB pages). Default 64 MiB.
    pub max_memory_bytes: u64,
    /// Longest a single callback may run before its VM is stopped (wall time, checked every
    /// 10 ms). Default 1s.
    #[serde(with = "duration")]
    pub max_callback_time: Duration,
    /// Largest native stack a callback may use, in bytes (64 KiB to 8 MiB); deeper recursion
    /// traps the VM. Default 1 MiB.
    pub max_stack_bytes: usize,
    /// Most HTTP and gRPC callouts one VM may have in flight; past it `proxy_http_call`,
    /// `proxy_grpc_call` and `proxy_grpc_stream` return `InternalFailure`. Default 1024.
    pub max_concurrent_callouts: usize,
    /// Largest callout request (headers, body and trailers; or one gRPC message sent) and
    /// largest response body (or gRPC message) a callout may receive, in bytes. A larger
    /// request is `BadArgument`; a larger response fails the callout. Default 4 MiB.
    pub max_callout_bytes: usize,
    /// Most bytes all callouts of one VM may hold at once: requests not yet sent, gRPC
    /// messages queued on streams, responses being received. Past it a new callout or send is
    /// refused (`InternalFailure` / `BadArgument`) and a response fails. Default 32 MiB.
    pub max_callout_bytes_in_flight: usize,
    /// Largest header map (names and values, in bytes) a plugin may make by adding or setting
    /// headers, trailers or local-reply headers; past it the call is `BadArgument`. Default
    /// 256 KiB.
    pub max_header_map_bytes: usize,
    /// Most entries a plugin may make a header map hold (`BadArgument` past it). Default 1024.
    pub max_header_map_entries: usize,
    /// Most bytes of filter state (`proxy_set_property`, `set_envoy_filter_state`) one
    /// request may hold; past it the call is `BadArgument`. Default 1 MiB.
    pub max_filter_state_bytes: usize,
    /// Most log lines (`proxy_log`, WASI stdout/stderr) one VM may write a second, with a
    /// burst of one second's worth; the rest are dropped and counted. `0`: no limit. Default
    /// 1000.
    pub max_log_lines_per_second: u32,
    /// Most bytes of shared data (keys, values, and 64 bytes per key) the plugin's `vm_id`
    /// may hold; a write that would grow past it is `InternalFailure`. Default 64 MiB.
    pub max_shared_data_bytes: usize,
    /// Most bytes the plugin's `vm_id` may hold in shared queues (items, 64 bytes per item,
    /// and 256 bytes per queue); past it `proxy_enqueue_shared_queue` and
    /// `proxy_register_shared_queue` are `InternalFailure`. Default 16 MiB.
    pub max_queue_bytes: usize,
    /// Most metrics the plugin's `vm_id` may define (`proxy_define_metric` past it is
    /// `InternalFailure`; names longer than 256 bytes are `BadArgument`). Default 1000.
    pub max_metrics: usize,
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginLimits {
            max_memory_bytes: 64 * MIB as u64,
            max_callback_time: Duration::from_secs(1),
            max_stack_bytes: DEFAULT_MAX_STACK,
            max_concurrent_callouts: 1024,
            max_callout_bytes: 4 * MIB,
            max_callout_bytes_in_flight: 32 * MIB,
            max_header_map_bytes: 256 * KIB,
            max_header_map_entries: 1024,
            max_filter_state_bytes: MIB,
            max_log_lines_per_second: 1000,
            max_shared_data_bytes: 64 * MIB,
            max_queue_bytes: 16 * MIB,
            max_metrics: 1000,
        }
    }
}

/// The guest stack limit when a plugin sets none.
pub const DEFAULT_MAX_STACK: usize = MIB;

/// The largest guest stack limit a plugin may set (`limits.max_stack_bytes`); every thread
/// that runs guest code has room for it.
pub const MAX_STACK: usize = 8 * MIB;

/// Smallest and largest `max_stack_bytes`: guests need some stack, and the worker threads
/// that run them have room for this much.
pub const STACK_RANGE: std::ops::RangeInclusive<usize> = 64 * KIB..=MAX_STACK;

impl PluginLimits {
    /// Checks each limit; errors name the field under `at` (e.g. `plugins[0].limits`).
    pub fn check(&self, at: &str) -> Result<(), SpecError> {
        let invalid = |field: &str, reason: String| SpecError { field: format!("{at}.{field}"), reason };
        if self.max_memory_bytes < 64 * KIB as u64 {
            return Err(invalid("max_memory_bytes", "must be at least one 64 KiB page".into()));
        }
        if !STACK_RANGE.contains(&self.max_stack_bytes) {
            return Err(invalid(
                "max_stack_bytes",
                format!("must be between {} and {} bytes", STACK_RANGE.start(), STACK_RANGE.end()),
            ));
        }
        if self.max_callback_time.is_zero() {
            return Err(invalid("max_callback_time", "must be more than 0s".into()));
        }
        for (field, value) in [
            ("max_callout_bytes", self.max_callout_bytes),
            ("max_callout_bytes_in_flight", self.max_callout_bytes_in_flight),
            ("max_header_map_bytes", self.max_header_map_bytes),
            ("max_header_map_entries", self.max_header_map_entries),
        ] {
            if value == 0 {
                return Err(invalid(field, "must be more than 0".into()));
            }
        }
        Ok(())
    }
}
