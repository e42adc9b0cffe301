//! The `proxy-wasm` crate's `hostcalls` functions, with its names and signatures, over
//! [`crate::host`]: a filter written against proxy-wasm-rust-sdk builds against weir-sdk by
//! renaming the dependency (`proxy-wasm = { package = "weir-sdk", … }`). Differences: text
//! that is not UTF-8 is read lossily instead of failing; callouts (`dispatch_http_call`,
//! `dispatch_grpc_call`, `open_grpc_stream`, `send_grpc_stream_message`) are the context
//! methods, which route the answer to the context that asked.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::host::{self, Value, callout};
use crate::types::{Bytes, GrpcStatusCode};
use weir_abi::{BufferType, LogLevel, MapType, MetricType, Status, StreamType};

fn bytes(value: Option<Value>) -> Option<Bytes> {
    value.map(|v| v.0)
}

fn as_bytes<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a [u8])> {
    pairs.iter().map(|(k, v)| (*k, v.as_bytes())).collect()
}

/// `proxy_log`.
pub fn log(level: LogLevel, message: &str) -> Result<(), Status> {
    host::log(level, message)
}

/// `proxy_get_log_level`.
pub fn get_log_level() -> Result<LogLevel, Status> {
    host::log_level()
}

/// `proxy_get_current_time_nanoseconds`.
pub fn get_current_time() -> Result<SystemTime, Status> {
    Ok(UNIX_EPOCH + Duration::from_nanos(host::now_nanos()?))
}

/// `proxy_set_tick_period_milliseconds`.
pub fn set_tick_period(period: Duration) -> Result<(), Status> {
    host::set_tick_period(period)
}

/// `proxy_get_buffer_bytes`.
pub fn get_buffer(buffer_type: BufferType, start: usize, max_size: usize) -> Result<Option<Bytes>, Status> {
    host::buffer(buffer_type, start, max_size).map(bytes)
}

/// `proxy_set_buffer_bytes`.
pub fn set_buffer(buffer_type: BufferType, start: usize, size: usize, value: &[u8]) -> Result<(), Status> {
    host::set_buffer(buffer_type, start, size, value)
}

/// `proxy_get_header_map_pairs`, as text.
pub fn get_map(map_type: MapType) -> Result<Vec<(String, String)>, Status> {
    Ok(host::headers(map_type)?.into_iter().map(|(k, v)| (k, v.to_string_lossy())).collect())
}

/// `proxy_get_header_map_pairs`.
pub fn get_map_bytes(map_type: MapType) -> Result<Vec<(String, Bytes)>, Status> {
    Ok(host::headers(map_type)?.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// `proxy_set_header_map_pairs`.
pub fn set_map(map_type: MapType, map: Vec<(&str, &str)>) -> Result<(), Status> {
    host::set_headers(map_type, &as_bytes(&map))
}

/// `proxy_set_header_map_pairs`.
pub fn set_map_bytes(map_type: MapType, map: Vec<(&str, &[u8])>) -> Result<(), Status> {
    host::set_headers(map_type, &map)
}

/// `proxy_get_header_map_value`, as text.
pub fn get_map_value(map_type: MapType, key: &str) -> Result<Option<String>, Status> {
    Ok(host::header(map_type, key)?.map(|v| v.to_string_lossy()))
}

/// `proxy_get_header_map_value`.
pub fn get_map_value_bytes(map_type: MapType, key: &str) -> Result<Option<Bytes>, Status> {
    host::header(map_type, key).map(bytes)
}

/// `proxy_remove_header_map_value`.
pub fn remove_map_value(map_type: MapType, key: &str) -> Result<(), Status> {
    host::remove_header(map_type, key)
}

/// `proxy_replace_header_map_value`, or removes the header for `None`.
pub fn set_map_value(map_type: MapType, key: &str, value: Option<&str>) -> Result<(), Status> {
    set_map_value_bytes(map_type, key, value.map(str::as_bytes))
}

/// `proxy_replace_header_map_value`, or removes the header for `None`.
pub fn set_map_value_bytes(map_type: MapType, key: &str, value: Option<&[u8]>) -> Result<(), Status> {
    match value {
        Some(value) => host::set_header(map_type, key, value),
        None => host::remove_header(map_type, key),
    }
}

/// `proxy_add_header_map_value`.
pub fn add_map_value(map_type: MapType, key: &str, value: &str) -> Result<(), Status> {
    host::add_header(map_type, key, value.as_bytes())
}

/// `proxy_add_header_map_value`.
pub fn add_map_value_bytes(map_type: MapType, key: &str, value: &[u8]) -> Result<(), Status> {
    host::add_header(map_type, key, value)
}

/// `proxy_get_property`.
pub fn get_property(path: Vec<&str>) -> Result<Option<Bytes>, Status> {
    host::property(&path).map(bytes)
}

/// `proxy_set_property` (`None`: empty).
pub fn set_property(path: Vec<&str>, value: Option<&[u8]>) -> Result<(), Status> {
    host::set_property(&path, value.unwrap_or_default())
}

/// `proxy_get_shared_data`: the value and its CAS version, both `None` when the key is absent.
pub fn get_shared_data(key: &str) -> Result<(Option<Bytes>, Option<u32>), Status> {
    Ok(match host::shared_get(key)? {
        Some((value, cas)) => (Some(value.0), Some(cas)),
        None => (None, None),
    })
}

/// `proxy_set_shared_data` (`cas` `None`: unconditional).
pub fn set_shared_data(key: &str, value: Option<&[u8]>, cas: Option<u32>) -> Result<(), Status> {
    host::shared_set(key, value.unwrap_or_default(), cas.unwrap_or(0))
}

/// `proxy_register_shared_queue`.
pub fn register_shared_queue(name: &str) -> Result<u32, Status> {
    host::register_queue(name)
}

/// `proxy_resolve_shared_queue`.
pub fn resolve_shared_queue(vm_id: &str, name: &str) -> Result<Option<u32>, Status> {
    host::resolve_queue(vm_id, name)
}

/// `proxy_dequeue_shared_queue`.
pub fn dequeue_shared_queue(queue_id: u32) -> Result<Option<Bytes>, Status> {
    host::dequeue(queue_id).map(bytes)
}

/// `proxy_enqueue_shared_queue`.
pub fn enqueue_shared_queue(queue_id: u32, value: Option<&[u8]>) -> Result<(), Status> {
    host::enqueue(queue_id, value.unwrap_or_default())
}

/// `proxy_continue_stream(Downstream)`.
pub fn resume_downstream() -> Result<(), Status> {
    host::continue_stream(StreamType::Downstream)
}

/// `proxy_continue_stream(Upstream)`.
pub fn resume_upstream() -> Result<(), Status> {
    host::continue_stream(StreamType::Upstream)
}

/// `proxy_continue_stream(Request)`.
pub fn resume_http_request() -> Result<(), Status> {
    host::continue_stream(StreamType::Request)
}

/// `proxy_continue_stream(Response)`.
pub fn resume_http_response() -> Result<(), Status> {
    host::continue_stream(StreamType::Response)
}

/// `proxy_close_stream(Downstream)`.
pub fn close_downstream() -> Result<(), Status> {
    host::close_stream(StreamType::Downstream)
}

/// `proxy_close_stream(Upstream)`.
pub fn close_upstream() -> Result<(), Status> {
    host::close_stream(StreamType::Upstream)
}

/// `proxy_close_stream(Request)`.
pub fn reset_http_request() -> Result<(), Status> {
    host::close_stream(StreamType::Request)
}

/// `proxy_close_stream(Response)`.
pub fn reset_http_response() -> Result<(), Status> {
    host::close_stream(StreamType::Response)
}

/// `proxy_send_local_response`.
pub fn send_http_response(
    status_code: u32,
    headers: Vec<(&str, &str)>,
    body: Option<&[u8]>,
) -> Result<(), Status> {
    host::send_local_response(status_code, "", body.unwrap_or_default(), &as_bytes(&headers))
}

/// `proxy_send_local_response` for a gRPC request (trailers-only).
pub fn send_grpc_response(
    grpc_status: GrpcStatusCode,
    grpc_message: Option<&str>,
    custom_metadata: Vec<(&str, &[u8])>,
) -> Result<(), Status> {
    host::send_grpc_local_response(grpc_status as u32, grpc_message.unwrap_or_default(), &custom_metadata)
}

/// `proxy_grpc_cancel`.
pub fn cancel_grpc_call(token_id: u32) -> Result<(), Status> {
    callout::grpc_cancel(token_id)
}

/// `proxy_grpc_cancel`.
pub fn cancel_grpc_stream(token_id: u32) -> Result<(), Status> {
    callout::grpc_cancel(token_id)
}

/// `proxy_grpc_close`.
pub fn close_grpc_stream(token_id: u32) -> Result<(), Status> {
    callout::grpc_close(token_id)
}

/// The status of the gRPC call or stream being answered.
pub fn get_grpc_status() -> Result<(u32, Option<String>), Status> {
    callout::grpc_status()
}

/// `proxy_set_effective_context`.
pub fn set_effective_context(context_id: u32) -> Result<(), Status> {
    host::set_effective_context(context_id)
}

/// `proxy_call_foreign_function`.
pub fn call_foreign_function(function_name: &str, arguments: Option<&[u8]>) -> Result<Option<Bytes>, Status> {
    callout::call_foreign_function(function_name, arguments).map(bytes)
}

/// `proxy_done`.
pub fn done() -> Result<(), Status> {
    host::done()
}

/// `proxy_define_metric`.
pub fn define_metric(metric_type: MetricType, name: &str) -> Result<u32, Status> {
    host::define_metric(metric_type, name)
}

/// `proxy_get_metric`.
pub fn get_metric(metric_id: u32) -> Result<u64, Status> {
    host::metric(metric_id)
}

/// `proxy_record_metric`.
pub fn record_metric(metric_id: u32, value: u64) -> Result<(), Status> {
    host::record_metric(metric_id, value)
}

/// `proxy_increment_metric`.
pub fn increment_metric(metric_id: u32, offset: i64) -> Result<(), Status> {
    host::increment_metric(metric_id, offset)
}
