//! The `log` crate's lines go to the host's log (`proxy_log`), and a panic is logged as
//! critical before the VM traps.

use std::sync::Once;

use crate::host;
use crate::types::{LogLevel, level_filter};

struct HostLogger;

static LOGGER: HostLogger = HostLogger;
static INSTALL: Once = Once::new();

/// Installs the logger (once) and keeps lines at `level` and above (Critical: none). The
/// host's own level can then lower it: [`crate::host::follow_host_log_level`].
pub fn set_log_level(level: LogLevel) {
    INSTALL.call_once(|| {
        if log::set_logger(&LOGGER).is_ok() {
            std::panic::set_hook(Box::new(|info| {
                let _ = host::log(LogLevel::Critical, &info.to_string());
            }));
        }
    });
    log::set_max_level(level_filter(level));
}

impl log::Log for HostLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            log::Level::Trace => LogLevel::Trace,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Info => LogLevel::Info,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Error => LogLevel::Error,
        };
        let _ = host::log(level, &record.args().to_string());
    }

    fn flush(&self) {}
}
