//! The types the context traits use, with the names the `proxy-wasm` crate gives them.

pub use weir_abi::{
    Action, BufferType, ContextType, HttpCallbacks, LogLevel, MapType, MetricType, PeerType, Status,
    StreamType,
};

/// Bytes from the host (header values, bodies, properties).
pub type Bytes = Vec<u8>;

/// The `log` filter that keeps lines at `level` and above (Critical: none, as `log` has no
/// critical level).
pub(crate) fn level_filter(level: LogLevel) -> log::LevelFilter {
    match level {
        LogLevel::Trace => log::LevelFilter::Trace,
        LogLevel::Debug => log::LevelFilter::Debug,
        LogLevel::Info => log::LevelFilter::Info,
        LogLevel::Warn => log::LevelFilter::Warn,
        LogLevel::Error => log::LevelFilter::Error,
        LogLevel::Critical => log::LevelFilter::Off,
    }
}
