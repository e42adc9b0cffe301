//! [`Context`]: what every context (root, HTTP, stream) can do, and the small hostcall
//! helpers the context traits share. Like the `proxy-wasm` crate's trait, and like it no
//! method panics: a hostcall the host refuses reads as absent or is ignored.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::dispatch::callouts;
use crate::host::{self, callout};
use crate::types::{BufferType, Bytes, MapType, Status};

pub(crate) fn pairs(map: MapType) -> Vec<(String, String)> {
    host::headers(map).unwrap_or_default().into_iter().map(|(k, v)| (k, v.to_string_lossy())).collect()
}

pub(crate) fn pairs_bytes(map: MapType) -> Vec<(String, Bytes)> {
    host::headers(map).unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect()
}

pub(crate) fn value(map: MapType, name: &str) -> Option<String> {
    host::header(map, name).ok().flatten().map(|v| v.to_string_lossy())
}

pub(crate) fn value_bytes(map: MapType, name: &str) -> Option<Bytes> {
    host::header(map, name).ok().flatten().map(|v| v.0)
}

pub(crate) fn set_value(map: MapType, name: &str, value: Option<&[u8]>) {
    let _ = match value {
        Some(value) => host::set_header(map, name, value),
        None => host::remove_header(map, name),
    };
}

pub(crate) fn set_all(map: MapType, headers: &[(&str, &[u8])]) {
    let _ = host::set_headers(map, headers);
}

pub(crate) fn as_bytes<'a>(headers: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a [u8])> {
    headers.iter().map(|(k, v)| (*k, v.as_bytes())).collect()
}

pub(crate) fn buffer(kind: BufferType, start: usize, max: usize) -> Option<Bytes> {
    host::buffer(kind, start, max).ok().flatten().map(|v| v.0)
}

/// What every context can do: read properties and shared data, make callouts, and hear their
/// answers.
pub trait Context {
    /// The host's clock.
    fn get_current_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(host::now_nanos().unwrap_or(0))
    }

    /// A property (`vec!["request", "path"]`).
    fn get_property(&self, path: Vec<&str>) -> Option<Bytes> {
        host::property(&path).ok().flatten().map(|v| v.0)
    }

    /// Sets a property (filter state).
    fn set_property(&self, path: Vec<&str>, value: Option<&[u8]>) {
        let _ = host::set_property(&path, value.unwrap_or_default());
    }

    /// A shared-data value and its CAS version.
    fn get_shared_data(&self, key: &str) -> (Option<Bytes>, Option<u32>) {
        match host::shared_get(key) {
            Ok(Some((value, cas))) => (Some(value.0), Some(cas)),
            _ => (None, None),
        }
    }

    /// Stores a shared-data value (`cas`: the version it must still have; `None`: any).
    fn set_shared_data(&self, key: &str, value: Option<&[u8]>, cas: Option<u32>) -> Result<(), Status> {
        host::shared_set(key, value.unwrap_or_default(), cas.unwrap_or(0))
    }

    /// Empties a shared-data value.
    fn remove_shared_data(&self, key: &str, cas: Option<u32>) -> Result<(), Status> {
        self.set_shared_data(key, None, cas)
    }

    /// Registers (or finds) this VM's queue `name` (0 when the host refuses).
    fn register_shared_queue(&self, name: &str) -> u32 {
        host::register_queue(name).unwrap_or(0)
    }

    /// The id of another VM's queue.
    fn resolve_shared_queue(&self, vm_id: &str, name: &str) -> Option<u32> {
        host::resolve_queue(vm_id, name).ok().flatten()
    }

    /// Takes the oldest item of a queue.
    fn dequeue_shared_queue(&self, queue_id: u32) -> Result<Option<Bytes>, Status> {
        host::dequeue(queue_id).map(|v| v.map(|v| v.0))
    }

    /// Appends an item to a queue.
    fn enqueue_shared_queue(&self, queue_id: u32, value: Option<&[u8]>) -> Result<(), Status> {
        host::enqueue(queue_id, value.unwrap_or_default())
    }

    /// Sends an HTTP request to cluster `upstream`; [`Context::on_http_call_response`] gets the
    /// answer.
    fn dispatch_http_call(
        &self,
        upstream: &str,
        headers: Vec<(&str, &str)>,
        body: Option<&[u8]>,
        trailers: Vec<(&str, &str)>,
        timeout: Duration,
    ) -> Result<u32, Status> {
        let token = callout::http_call(upstream, &as_bytes(&headers), body, &as_bytes(&trailers), timeout)?;
        callouts::register_http_callout(token);
        Ok(token)
    }

    /// The answer to an HTTP callout arrived (or the callout failed: no headers).
    fn on_http_call_response(
        &mut self,
        _token_id: u32,
        _num_headers: usize,
        _body_size: usize,
        _num_trailers: usize,
    ) {
    }

    /// The callout response's headers.
    fn get_http_call_response_headers(&self) -> Vec<(String, String)> {
        pairs(MapType::HttpCallResponseHeaders)
    }

    /// The callout response's headers, values as bytes.
    fn get_http_call_response_headers_bytes(&self) -> Vec<(String, Bytes)> {
        pairs_bytes(MapType::HttpCallResponseHeaders)
    }

    /// One callout response header.
    fn get_http_call_response_header(&self, name: &str) -> Option<String> {
        value(MapType::HttpCallResponseHeaders, name)
    }

    /// One callout response header, as bytes.
    fn get_http_call_response_header_bytes(&self, name: &str) -> Option<Bytes> {
        value_bytes(MapType::HttpCallResponseHeaders, name)
    }

    /// The callout response's body.
    fn get_http_call_response_body(&self, start: usize, max_size: usize) -> Option<Bytes> {
        buffer(BufferType::HttpCallResponseBody, start, max_size)
    }

    /// The callout response's trailers.
    fn get_http_call_response_trailers(&self) -> Vec<(String, String)> {
        pairs(MapType::HttpCallResponseTrailers)
    }

    /// The callout response's trailers, values as bytes.
    fn get_http_call_response_trailers_bytes(&self) -> Vec<(String, Bytes)> {
        pairs_bytes(MapType::HttpCallResponseTrailers)
    }

    /// One callout response trailer.
    fn get_http_call_response_trailer(&self, name: &str) -> Option<String> {
        value(MapType::HttpCallResponseTrailers, name)
    }

    /// One callout response trailer, as bytes.
    fn get_http_call_response_trailer_bytes(&self, name: &str) -> Option<Bytes> {
        value_bytes(MapType::HttpCallResponseTrailers, name)
    }

    /// Makes a unary gRPC call; [`Context::on_grpc_call_response`] gets the answer.
    fn dispatch_grpc_call(
        &self,
        upstream: &str,
        service: &str,
        method: &str,
        initial_metadata: Vec<(&str, &[u8])>,
        message: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<u32, Status> {
        let token = callout::grpc_call(upstream, service, method, &initial_metadata, message, timeout)?;
        callouts::register_grpc_call(token);
        Ok(token)
    }

    /// A unary gRPC call ended: `status_code` 0 with the response, or its failure.
    fn on_grpc_call_response(&mut self, _token_id: u32, _status_code: u32, _response_size: usize) {}

    /// The gRPC response (or stream message) being delivered.
    fn get_grpc_call_response_body(&self, start: usize, max_size: usize) -> Option<Bytes> {
        buffer(BufferType::GrpcReceiveBuffer, start, max_size)
    }

    /// Cancels a gRPC call.
    fn cancel_grpc_call(&self, token_id: u32) {
        let _ = callout::grpc_cancel(token_id);
    }

    /// Opens a gRPC stream; its events arrive in the `on_grpc_stream_*` callbacks.
    fn open_grpc_stream(
        &self,
        cluster_name: &str,
        service_name: &str,
        method_name: &str,
        initial_metadata: Vec<(&str, &[u8])>,
    ) -> Result<u32, Status> {
        let token = callout::grpc_stream(cluster_name, service_name, method_name, &initial_metadata)?;
        callouts::register_grpc_stream(token);
        Ok(token)
    }

    /// A gRPC stream's initial metadata arrived.
    fn on_grpc_stream_initial_metadata(&mut self, _token_id: u32, _num_elements: u32) {}

    /// That initial metadata.
    fn get_grpc_stream_initial_metadata(&self) -> Vec<(String, Bytes)> {
        pairs_bytes(MapType::GrpcReceiveInitialMetadata)
    }

    /// One initial metadata value.
    fn get_grpc_stream_initial_metadata_value(&self, name: &str) -> Option<Bytes> {
        value_bytes(MapType::GrpcReceiveInitialMetadata, name)
    }

    /// Sends a message on a gRPC stream.
    fn send_grpc_stream_message(&self, token_id: u32, message: Option<&[u8]>, end_stream: bool) {
        let _ = callout::grpc_send(token_id, message, end_stream);
    }

    /// A gRPC stream message arrived.
    fn on_grpc_stream_message(&mut self, _token_id: u32, _message_size: usize) {}

    /// That message.
    fn get_grpc_stream_message(&mut self, start: usize, max_size: usize) -> Option<Bytes> {
        buffer(BufferType::GrpcReceiveBuffer, start, max_size)
    }

    /// A gRPC stream's trailing metadata arrived.
    fn on_grpc_stream_trailing_metadata(&mut self, _token_id: u32, _num_elements: u32) {}

    /// That trailing metadata.
    fn get_grpc_stream_trailing_metadata(&self) -> Vec<(String, Bytes)> {
        pairs_bytes(MapType::GrpcReceiveTrailingMetadata)
    }

    /// One trailing metadata value.
    fn get_grpc_stream_trailing_metadata_value(&self, name: &str) -> Option<Bytes> {
        value_bytes(MapType::GrpcReceiveTrailingMetadata, name)
    }

    /// Cancels a gRPC stream.
    fn cancel_grpc_stream(&self, token_id: u32) {
        let _ = callout::grpc_cancel(token_id);
    }

    /// Closes a gRPC stream.
    fn close_grpc_stream(&self, token_id: u32) {
        let _ = callout::grpc_close(token_id);
    }

    /// A gRPC stream ended with `status_code`.
    fn on_grpc_stream_close(&mut self, _token_id: u32, _status_code: u32) {}

    /// The gRPC status of the callout being delivered.
    fn get_grpc_status(&self) -> (u32, Option<String>) {
        callout::grpc_status().unwrap_or((0, None))
    }

    /// The host called one of this plugin's foreign functions.
    fn on_foreign_function(&mut self, _function_id: u32, _arguments_size: usize) {}

    /// Calls a host function by name.
    fn call_foreign_function(
        &self,
        function_name: &str,
        arguments: Option<&[u8]>,
    ) -> Result<Option<Bytes>, Status> {
        callout::call_foreign_function(function_name, arguments).map(|v| v.map(|v| v.0))
    }

    /// The host is done with the context: `true` if it may be deleted now; a root context may
    /// answer `false` and call [`Context::done`] when its work ends.
    fn on_done(&mut self) -> bool {
        true
    }

    /// A root context that answered `false` to `on_done` has finished.
    fn done(&self) {
        let _ = host::done();
    }
}
