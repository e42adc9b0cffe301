//! Hostcalls that never panic: every call returns `Result<_, Status>` with the status the host
//! gave, so a filter decides what an unexpected answer means instead of trapping the VM.
//! Header values and bodies are bytes; [`Value::as_str`] gives a UTF-8 view when there is one.
//!
//! Callouts are started with the context methods ([`crate::traits::Context::dispatch_http_call`],
//! `dispatch_grpc_call`, `open_grpc_stream`), which register the token so the answer reaches
//! the context that asked; [`callout`] holds the calls they make.

#![allow(unsafe_code)]

pub mod callout;
mod queue;
mod raw;

pub use queue::{dequeue, enqueue, register_queue, resolve_queue};

use std::ptr::null_mut;

use weir_abi::{BufferType, LogLevel, MapType, MetricType, Status, StreamType};

/// Bytes returned by the host (a header value, a body, a property).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Value(pub Vec<u8>);

impl Value {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The value as UTF-8, if it is.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The value as (lossy) UTF-8.
    pub fn to_string_lossy(&self) -> String {
        text(&self.0)
    }

    /// An 8-byte little-endian integer (how Envoy encodes integer properties).
    pub fn as_i64(&self) -> Option<i64> {
        <[u8; 8]>::try_from(self.0.as_slice()).ok().map(i64::from_le_bytes)
    }
}

pub(crate) fn status(raw: u32) -> Result<(), Status> {
    match raw {
        0 => Ok(()),
        other => Err(Status::from_raw(other).unwrap_or(Status::InternalFailure)),
    }
}

/// Takes ownership of host-allocated bytes.
pub(crate) fn owned(raw_status: u32, ptr: *mut u8, size: usize) -> Result<Option<Value>, Status> {
    status(raw_status)?;
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: the host allocated `size` bytes at `ptr` with this module's allocator (the
    // `proxy_on_memory_allocate` export) and handed ownership over.
    Ok(Some(Value(unsafe { Vec::from_raw_parts(ptr, size, size) })))
}

/// One header (first value), or `None` when absent.
pub fn header(map: MapType, name: &str) -> Result<Option<Value>, Status> {
    let (mut ptr, mut size) = (null_mut(), 0usize);
    // SAFETY: valid pointers to locals and to `name`.
    let s =
        unsafe { raw::proxy_get_header_map_value(map.raw(), name.as_ptr(), name.len(), &mut ptr, &mut size) };
    match owned(s, ptr, size) {
        Err(Status::NotFound) => Ok(None),
        // 0.1.0 hosts answer Ok and empty for an absent header.
        other => other,
    }
}

/// Replaces every header of a map.
pub fn set_headers(map: MapType, headers: &[(&str, &[u8])]) -> Result<(), Status> {
    let mut encoded = Vec::new();
    weir_abi::encode_pairs(headers, &mut encoded);
    // SAFETY: valid slice.
    status(unsafe { raw::proxy_set_header_map_pairs(map.raw(), encoded.as_ptr(), encoded.len()) })
}

/// Every header of a map, in order.
pub fn headers(map: MapType) -> Result<Vec<(String, Value)>, Status> {
    let (mut ptr, mut size) = (null_mut(), 0usize);
    // SAFETY: valid pointers to locals.
    let s = unsafe { raw::proxy_get_header_map_pairs(map.raw(), &mut ptr, &mut size) };
    let bytes = owned(s, ptr, size)?.unwrap_or_default();
    let pairs = weir_abi::decode_pairs(&bytes.0).map_err(|_| Status::SerializationFailure)?;
    Ok(pairs.into_iter().map(|(k, v)| (text(k), Value(v.to_vec()))).collect())
}

/// Bytes as text, invalid UTF-8 replaced by U+FFFD. Header names and values are ASCII in
/// practice, so the fast validity check runs first (`String::from_utf8_lossy` walks the bytes
/// one by one even when they are all valid).
pub fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(valid) => valid.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Sets a header (replacing every value).
pub fn set_header(map: MapType, name: &str, value: &[u8]) -> Result<(), Status> {
    // SAFETY: valid slices.
    status(unsafe {
        raw::proxy_replace_header_map_value(map.raw(), name.as_ptr(), name.len(), value.as_ptr(), value.len())
    })
}

/// Adds a header value.
pub fn add_header(map: MapType, name: &str, value: &[u8]) -> Result<(), Status> {
    // SAFETY: valid slices.
    status(unsafe {
        raw::proxy_add_header_map_value(map.raw(), name.as_ptr(), name.len(), value.as_ptr(), value.len())
    })
}

/// Removes a header.
pub fn remove_header(map: MapType, name: &str) -> Result<(), Status> {
    // SAFETY: valid slice.
    status(unsafe { raw::proxy_remove_header_map_value(map.raw(), name.as_ptr(), name.len()) })
}

/// A property (`["request", "path"]`), or `None` when the host has none.
pub fn property(path: &[&str]) -> Result<Option<Value>, Status> {
    let joined = path.join("\0");
    let (mut ptr, mut size) = (null_mut(), 0usize);
    // SAFETY: valid pointers.
    let s = unsafe { raw::proxy_get_property(joined.as_ptr(), joined.len(), &mut ptr, &mut size) };
    match owned(s, ptr, size) {
        Err(Status::NotFound) => Ok(None),
        other => other,
    }
}

/// Sets a property (filter state readable by later filters).
pub fn set_property(path: &[&str], value: &[u8]) -> Result<(), Status> {
    let joined = path.join("\0");
    // SAFETY: valid slices.
    status(unsafe { raw::proxy_set_property(joined.as_ptr(), joined.len(), value.as_ptr(), value.len()) })
}

/// A range of a buffer (`None` when empty).
pub fn buffer(kind: BufferType, start: usize, max: usize) -> Result<Option<Value>, Status> {
    let (mut ptr, mut size) = (null_mut(), 0usize);
    // SAFETY: valid pointers to locals.
    let s = unsafe { raw::proxy_get_buffer_bytes(kind.raw(), start, max, &mut ptr, &mut size) };
    owned(s, ptr, size)
}

/// Replaces `len` bytes at `start` of a buffer (`(0, whole length)` replaces it all).
pub fn set_buffer(kind: BufferType, start: usize, len: usize, value: &[u8]) -> Result<(), Status> {
    // SAFETY: valid slice.
    status(unsafe { raw::proxy_set_buffer_bytes(kind.raw(), start, len, value.as_ptr(), value.len()) })
}

/// A shared-data value and its CAS version, or `None` when the key is absent.
pub fn shared_get(key: &str) -> Result<Option<(Value, u32)>, Status> {
    let (mut ptr, mut size, mut cas) = (null_mut(), 0usize, 0u32);
    // SAFETY: valid pointers to locals.
    let s = unsafe { raw::proxy_get_shared_data(key.as_ptr(), key.len(), &mut ptr, &mut size, &mut cas) };
    match owned(s, ptr, size) {
        Ok(value) => Ok(Some((value.unwrap_or_default(), cas))),
        Err(Status::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes shared data; `cas` 0 writes unconditionally, otherwise `CasMismatch` if it moved.
pub fn shared_set(key: &str, value: &[u8], cas: u32) -> Result<(), Status> {
    // SAFETY: valid slices.
    status(unsafe { raw::proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), cas) })
}

/// Defines (or finds) a metric.
pub fn define_metric(kind: MetricType, name: &str) -> Result<u32, Status> {
    let mut id = 0;
    // SAFETY: valid pointers.
    status(unsafe { raw::proxy_define_metric(kind.raw(), name.as_ptr(), name.len(), &mut id) })?;
    Ok(id)
}

/// Adds to a counter or gauge.
pub fn increment_metric(id: u32, delta: i64) -> Result<(), Status> {
    // SAFETY: plain call.
    status(unsafe { raw::proxy_increment_metric(id, delta) })
}

/// Records a histogram value, sets a gauge, or adds to a counter.
pub fn record_metric(id: u32, value: u64) -> Result<(), Status> {
    // SAFETY: plain call.
    status(unsafe { raw::proxy_record_metric(id, value) })
}

/// Reads a counter or gauge.
pub fn metric(id: u32) -> Result<u64, Status> {
    let mut value = 0;
    // SAFETY: valid pointer.
    status(unsafe { raw::proxy_get_metric(id, &mut value) })?;
    Ok(value)
}

/// Sends a local reply (taking effect when the callback returns).
pub fn send_local_response(
    status_code: u32,
    details: &str,
    body: &[u8],
    headers: &[(&str, &[u8])],
) -> Result<(), Status> {
    local_response(status_code, details, body, headers, -1)
}

/// Answers a gRPC request locally: HTTP 200, trailers-only with `grpc_status` and `message`
/// as `grpc-message`.
pub fn send_grpc_local_response(
    grpc_status: u32,
    message: &str,
    metadata: &[(&str, &[u8])],
) -> Result<(), Status> {
    local_response(200, "", message.as_bytes(), metadata, i32::try_from(grpc_status).unwrap_or(i32::MAX))
}

fn local_response(
    status_code: u32,
    details: &str,
    body: &[u8],
    headers: &[(&str, &[u8])],
    grpc_status: i32,
) -> Result<(), Status> {
    let mut encoded = Vec::new();
    weir_abi::encode_pairs(headers, &mut encoded);
    // SAFETY: valid slices.
    status(unsafe {
        raw::proxy_send_local_response(
            status_code,
            details.as_ptr(),
            details.len(),
            body.as_ptr(),
            body.len(),
            encoded.as_ptr(),
            encoded.len(),
            grpc_status,
        )
    })
}

/// Wall-clock time in nanoseconds since the Unix epoch.
pub fn now_nanos() -> Result<u64, Status> {
    let mut t = 0;
    // SAFETY: valid pointer.
    status(unsafe { raw::proxy_get_current_time_nanoseconds(&mut t) })?;
    Ok(t)
}

/// The plugin configuration (only readable in `on_configure`); `None` when there is none.
pub fn plugin_configuration() -> Result<Option<Value>, Status> {
    buffer(BufferType::PluginConfiguration, 0, usize::MAX)
}

/// Resumes a stream paused by a callback (`StreamType::Request` or `Response`).
pub fn continue_stream(stream: StreamType) -> Result<(), Status> {
    // SAFETY: plain call.
    status(unsafe { raw::proxy_continue_stream(stream.raw()) })
}

/// Resets a stream (`proxy_close_stream`).
pub fn close_stream(stream: StreamType) -> Result<(), Status> {
    // SAFETY: plain call.
    status(unsafe { raw::proxy_close_stream(stream.raw()) })
}

/// Tells the host that a root context which answered "not yet" to `on_done` has finished.
pub fn done() -> Result<(), Status> {
    // SAFETY: plain call.
    status(unsafe { raw::proxy_done() })
}

/// Writes a line to the host's log.
pub fn log(level: LogLevel, message: &str) -> Result<(), Status> {
    // SAFETY: valid slice.
    status(unsafe { raw::proxy_log(level.raw(), message.as_ptr(), message.len()) })
}

/// Makes later hostcalls act for another context (e.g. a root context resuming a request it
/// was waiting for).
pub fn set_effective_context(context_id: u32) -> Result<(), Status> {
    // SAFETY: plain call.
    status(unsafe { raw::proxy_set_effective_context(context_id) })
}

/// The host's log level for Wasm logs (`proxy_get_log_level`; Envoy: its `wasm` logger's
/// level, weir: the level `weir::wasm` events are enabled at).
pub fn log_level() -> Result<LogLevel, Status> {
    let mut raw_level = 0u32;
    // SAFETY: valid pointer.
    status(unsafe { raw::proxy_get_log_level(&mut raw_level) })?;
    LogLevel::from_raw(raw_level).ok_or(Status::InternalFailure)
}

/// [`log_level`] as a `log` filter.
pub fn host_log_filter() -> Result<log::LevelFilter, Status> {
    log_level().map(crate::types::level_filter)
}

/// Sets the guest's log filter to the host's level, so `log::debug!` lines the host would drop
/// are not formatted and sent at all (each costs a format and a hostcall). Call it when the
/// plugin is configured ([`crate::root::ConfigRoot`] does). It imports ABI 0.2.1's
/// `proxy_get_log_level` (Envoy and weir have it); if the call fails the filter is left as it
/// was. A later change of the host's level is seen at the next configuration.
pub fn follow_host_log_level() {
    if let Ok(filter) = host_log_filter() {
        log::set_max_level(filter);
    }
}

/// Sets the root context's tick period (zero stops the ticks).
pub fn set_tick_period(period: std::time::Duration) -> Result<(), Status> {
    let ms = u32::try_from(period.as_millis()).unwrap_or(u32::MAX);
    // SAFETY: plain call.
    status(unsafe { raw::proxy_set_tick_period_milliseconds(ms) })
}
