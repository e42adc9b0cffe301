//! The types the context traits use, with the names the `proxy-wasm` crate gives them.

pub use weir_abi::{
    Action, BufferType, ContextType, HttpCallbacks, LogLevel, MapType, MetricType, PeerType, Status,
    StreamType,
};

pub use crate::traits::{NewHttpContext, NewRootContext};

/// Bytes from the host (header values, bodies, properties).
pub type Bytes = Vec<u8>;

/// gRPC status codes (the `proxy-wasm` crate's `GrpcStatusCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
#[allow(missing_docs)]
pub enum GrpcStatusCode {
    Ok = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
}

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
