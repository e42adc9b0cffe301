//! `proxy_log`, `proxy_get_log_level`: guest logs become `tracing` events labelled with the
//! plugin name.
//!
//! A guest cannot flood the log or forge lines: each line is cut at [`MAX_LOG_LINE`] bytes,
//! control characters are escaped (a guest newline cannot start a fake log line), and each
//! VM may write at most `limits.max_log_lines_per_second` lines (burst: one second's worth);
//! lines past that are dropped, counted (`weir_plugin_limit_exceeded_total{limit=
//! "max_log_lines_per_second"}`) and reported in one line per second at most.

use std::time::Instant;

use wasmtime::{Caller, Linker};
use weir_abi::{LogLevel, Status};

use super::ENV;
use crate::wasm::HostState;
use crate::wasm::memory::{self, HostResult, status};

/// Longest guest log line kept, in bytes; the rest is replaced by a note of its length.
pub const MAX_LOG_LINE: usize = 16 * 1024;

pub(super) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(ENV, "proxy_log", proxy_log)?;
    linker.func_wrap(ENV, "proxy_get_log_level", proxy_get_log_level)?;
    Ok(())
}

fn proxy_log(mut caller: Caller<'_, HostState>, level: i32, ptr: i32, len: i32) -> HostResult {
    let Some(level) = LogLevel::from_raw(level as u32) else {
        return Ok(Status::BadArgument.raw() as i32);
    };
    let result = memory::with_bytes(&mut caller, ptr, len, |message, state| {
        let text = emit(state, level, message, message.len());
        if let Some(text) = text
            && state.configuring
            && level.raw() >= LogLevel::Warn.raw()
            && state.configure_errors.len() < 4
        {
            state.configure_errors.push(text);
        }
    });
    Ok(status(result))
}

/// Per-VM log rate: a token bucket of `rate` lines a second, holding at most one second's
/// worth.
#[derive(Debug)]
pub(crate) struct LogBudget {
    rate: u32,
    tokens: f64,
    refilled: Instant,
    dropped: u64,
    reported: Option<Instant>,
}

impl LogBudget {
    /// A bucket of `rate` lines a second (0: unlimited).
    pub(crate) fn new(rate: u32) -> LogBudget {
        LogBudget { rate, tokens: f64::from(rate), refilled: Instant::now(), dropped: 0, reported: None }
    }

    /// Takes a line; `false` when the VM is over its rate.
    fn take(&mut self) -> bool {
        if self.rate == 0 {
            return true;
        }
        let now = Instant::now();
        let rate = f64::from(self.rate);
        self.tokens = (self.tokens + now.duration_since(self.refilled).as_secs_f64() * rate).min(rate);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            self.dropped += 1;
            false
        }
    }

    /// Lines dropped since the last report, when a report is due (at most once a second).
    fn due_report(&mut self) -> Option<u64> {
        let now = Instant::now();
        let due = self.dropped > 0 && self.reported.is_none_or(|t| now.duration_since(t).as_secs() >= 1);
        if !due {
            return None;
        }
        self.reported = Some(now);
        Some(std::mem::take(&mut self.dropped))
    }
}

/// Writes one guest log line (also used by WASI stdout/stderr): `message` holds the first
/// bytes of a line of `total` bytes. Returns the text written, or `None` when the line was
/// dropped (over the VM's rate).
pub(crate) fn emit(state: &mut HostState, level: LogLevel, message: &[u8], total: usize) -> Option<String> {
    let plugin = state.plugin_name().to_string();
    if !state.log_budget.take() {
        state.limit_exceeded("max_log_lines_per_second");
        return None;
    }
    if let Some(dropped) = state.log_budget.due_report() {
        tracing::warn!(target: "weir::wasm", plugin, vm_id = state.vm_id(),
            "{dropped} log lines of this plugin dropped (over limits.max_log_lines_per_second)");
    }
    let text = line(message, total);
    let vm_id = state.vm_id();
    match level {
        LogLevel::Trace => tracing::trace!(target: "weir::wasm", plugin, vm_id, "{text}"),
        LogLevel::Debug => tracing::debug!(target: "weir::wasm", plugin, vm_id, "{text}"),
        LogLevel::Info => tracing::info!(target: "weir::wasm", plugin, vm_id, "{text}"),
        LogLevel::Warn => tracing::warn!(target: "weir::wasm", plugin, vm_id, "{text}"),
        LogLevel::Error | LogLevel::Critical => {
            tracing::error!(target: "weir::wasm", plugin, vm_id, "{text}")
        }
    }
    Some(text)
}

/// The printable form of a guest line: cut at [`MAX_LOG_LINE`] bytes, control characters
/// (but tab) escaped, invalid UTF-8 replaced.
pub(crate) fn line(message: &[u8], total: usize) -> String {
    let kept = &message[..message.len().min(MAX_LOG_LINE)];
    let mut out = String::with_capacity(kept.len() + 16);
    for c in String::from_utf8_lossy(kept).chars() {
        if c.is_control() && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if total > kept.len() {
        out.push_str(&format!("… [{} more bytes]", total - kept.len()));
    }
    out
}

/// The guest-visible log level: the lowest level at which `weir::wasm` events are enabled
/// (as Envoy answers its `wasm` logger's level), so a guest that follows it skips formatting
/// lines the host would drop; never above warn, since a plugin's warnings and errors while it
/// is configured explain a refusal (see `configure_errors`).
fn current_level() -> LogLevel {
    use tracing::Level;
    if tracing::enabled!(target: "weir::wasm", Level::TRACE) {
        LogLevel::Trace
    } else if tracing::enabled!(target: "weir::wasm", Level::DEBUG) {
        LogLevel::Debug
    } else if tracing::enabled!(target: "weir::wasm", Level::INFO) {
        LogLevel::Info
    } else {
        LogLevel::Warn
    }
}

fn proxy_get_log_level(mut caller: Caller<'_, HostState>, ret: i32) -> HostResult {
    Ok(status(memory::write_u32(&mut caller, ret, current_level().raw())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_cut_and_cannot_forge_others() {
        let forged = b"a\nweir: fake\r\x1b[31m\tok";
        assert_eq!(line(forged, forged.len()), "a\\nweir: fake\\r\\u{1b}[31m\tok");
        let long = vec![b'x'; MAX_LOG_LINE + 10];
        let text = line(&long, long.len());
        assert!(
            text.starts_with("xxx") && text.ends_with("… [10 more bytes]"),
            "{}",
            &text[text.len() - 30..]
        );
        assert_eq!(line(b"short", 1000), "short… [995 more bytes]");
    }

    #[test]
    fn the_rate_is_a_bucket_of_one_second() {
        let mut budget = LogBudget::new(100);
        let taken = (0..1000).filter(|_| budget.take()).count();
        assert!((100..=101).contains(&taken), "{taken}");
        assert_eq!(budget.due_report(), Some(1000 - taken as u64));
        assert_eq!(budget.due_report(), None);
        let mut unlimited = LogBudget::new(0);
        assert!((0..10_000).all(|_| unlimited.take()));
    }
}
