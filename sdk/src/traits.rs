//! The context traits a filter implements: [`RootContext`] (one per plugin: configuration,
//! ticks, queues) and [`HttpContext`] (one per request), both [`Context`]s. Their methods and
//! signatures are those of the `proxy-wasm` crate's traits, so a filter written for it moves
//! over by changing its `use` lines; unlike it, no method panics: a hostcall the host refuses
//! reads as absent (`None`, empty) or is ignored, and the `Result`-returning functions of
//! [`crate::host`] say why when a filter needs to know.
//!
//! The callbacks (`on_*`) default to doing nothing and continuing. When they run and what their
//! answers mean: `docs/lifecycle.md`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::dispatch::callouts;
use crate::host::{self, callout};
use crate::types::{Action, BufferType, Bytes, ContextType, MapType, Status, StreamType};

fn pairs(map: MapType) -> Vec<(String, String)> {
    host::headers(map).unwrap_or_default().into_iter().map(|(k, v)| (k, v.to_string_lossy())).collect()
}

fn pairs_bytes(map: MapType) -> Vec<(String, Bytes)> {
    host::headers(map).unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect()
}

fn value(map: MapType, name: &str) -> Option<String> {
    host::header(map, name).ok().flatten().map(|v| v.to_string_lossy())
}

fn value_bytes(map: MapType, name: &str) -> Option<Bytes> {
    host::header(map, name).ok().flatten().map(|v| v.0)
}

fn set_value(map: MapType, name: &str, value: Option<&[u8]>) {
    let _ = match value {
        Some(value) => host::set_header(map, name, value),
        None => host::remove_header(map, name),
    };
}

fn set_all(map: MapType, headers: &[(&str, &[u8])]) {
    let _ = host::set_headers(map, headers);
}

fn as_bytes<'a>(headers: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a [u8])> {
    headers.iter().map(|(k, v)| (*k, v.as_bytes())).collect()
}

fn buffer(kind: BufferType, start: usize, max: usize) -> Option<Bytes> {
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

/// A plugin's root context: its configuration and its life outside requests.
pub trait RootContext: Context {
    /// The VM started (`vm_configuration_size` bytes of VM configuration). `false` fails it.
    fn on_vm_start(&mut self, _vm_configuration_size: usize) -> bool {
        true
    }

    /// The VM configuration (readable in `on_vm_start`).
    fn get_vm_configuration(&self) -> Option<Bytes> {
        buffer(BufferType::VmConfiguration, 0, usize::MAX)
    }

    /// The plugin is (re)configured. `false` refuses the configuration.
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        true
    }

    /// The plugin configuration (readable in `on_configure`).
    fn get_plugin_configuration(&self) -> Option<Bytes> {
        buffer(BufferType::PluginConfiguration, 0, usize::MAX)
    }

    /// Asks for [`RootContext::on_tick`] every `period` (zero stops it).
    fn set_tick_period(&self, period: Duration) {
        let _ = host::set_tick_period(period);
    }

    /// The tick period elapsed.
    fn on_tick(&mut self) {}

    /// Something was enqueued on a queue this VM registered.
    fn on_queue_ready(&mut self, _queue_id: u32) {}

    /// Access-log time for the root context.
    fn on_log(&mut self) {}

    /// A context for a new request. `None` leaves the request without this filter (logged).
    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        None
    }

    /// A context for a new TCP connection (a network filter's, when
    /// [`RootContext::get_type`] says `StreamContext`). `None` leaves the connection without
    /// this filter (logged).
    fn create_stream_context(&self, _context_id: u32) -> Option<Box<dyn crate::stream::StreamContext>> {
        None
    }

    /// The kind of child contexts: `HttpContext` (also when `None`) or `StreamContext`.
    fn get_type(&self) -> Option<ContextType> {
        None
    }
}

/// One HTTP request through the filter.
pub trait HttpContext: Context {
    /// The request headers arrived (`end_of_stream`: no body follows).
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }

    /// The request headers.
    fn get_http_request_headers(&self) -> Vec<(String, String)> {
        pairs(MapType::HttpRequestHeaders)
    }

    /// The request headers, values as bytes.
    fn get_http_request_headers_bytes(&self) -> Vec<(String, Bytes)> {
        pairs_bytes(MapType::HttpRequestHeaders)
    }

    /// Replaces every request header.
    fn set_http_request_headers(&self, headers: Vec<(&str, &str)>) {
        set_all(MapType::HttpRequestHeaders, &as_bytes(&headers));
    }

    /// Replaces every request header (values as bytes).
    fn set_http_request_headers_bytes(&self, headers: Vec<(&str, &[u8])>) {
        set_all(MapType::HttpRequestHeaders, &headers);
    }

    /// One request header (first value).
    fn get_http_request_header(&self, name: &str) -> Option<String> {
        value(MapType::HttpRequestHeaders, name)
    }

    /// One request header, as bytes.
    fn get_http_request_header_bytes(&self, name: &str) -> Option<Bytes> {
        value_bytes(MapType::HttpRequestHeaders, name)
    }

    /// Sets (or with `None` removes) a request header.
    fn set_http_request_header(&self, name: &str, value: Option<&str>) {
        set_value(MapType::HttpRequestHeaders, name, value.map(str::as_bytes));
    }

    /// Sets (or removes) a request header, value as bytes.
    fn set_http_request_header_bytes(&self, name: &str, value: Option<&[u8]>) {
        set_value(MapType::HttpRequestHeaders, name, value);
    }

    /// Adds a request header value.
    fn add_http_request_header(&self, name: &str, value: &str) {
        let _ = host::add_header(MapType::HttpRequestHeaders, name, value.as_bytes());
    }

    /// Adds a request header value, as bytes.
    fn add_http_request_header_bytes(&self, name: &str, value: &[u8]) {
        let _ = host::add_header(MapType::HttpRequestHeaders, name, value);
    }

    /// Removes a request header.
    fn remove_http_request_header(&self, name: &str) {
        set_value(MapType::HttpRequestHeaders, name, None);
    }

    /// A piece of the request body arrived (`end_of_stream`: the last).
    fn on_http_request_body(&mut self, _body_size: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }

    /// The request body seen by this callback.
    fn get_http_request_body(&self, start: usize, max_size: usize) -> Option<Bytes> {
        buffer(BufferType::HttpRequestBody, start, max_size)
    }

    /// Replaces `size` bytes at `start` of the request body.
    fn set_http_request_body(&self, start: usize, size: usize, value: &[u8]) {
        let _ = host::set_buffer(BufferType::HttpRequestBody, start, size, value);
    }

    /// The request trailers arrived.
    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        Action::Continue
    }

    /// The request trailers.
    fn get_http_request_trailers(&self) -> Vec<(String, String)> {
        pairs(MapType::HttpRequestTrailers)
    }

    /// The request trailers, values as bytes.
    fn get_http_request_trailers_bytes(&self) -> Vec<(String, Bytes)> {
        pairs_bytes(MapType::HttpRequestTrailers)
    }

    /// Replaces every request trailer.
    fn set_http_request_trailers(&self, trailers: Vec<(&str, &str)>) {
        set_all(MapType::HttpRequestTrailers, &as_bytes(&trailers));
    }

    /// Replaces every request trailer (values as bytes).
    fn set_http_request_trailers_bytes(&self, trailers: Vec<(&str, &[u8])>) {
        set_all(MapType::HttpRequestTrailers, &trailers);
    }

    /// One request trailer.
    fn get_http_request_trailer(&self, name: &str) -> Option<String> {
        value(MapType::HttpRequestTrailers, name)
    }

    /// One request trailer, as bytes.
    fn get_http_request_trailer_bytes(&self, name: &str) -> Option<Bytes> {
        value_bytes(MapType::HttpRequestTrailers, name)
    }

    /// Sets (or removes) a request trailer.
    fn set_http_request_trailer(&self, name: &str, value: Option<&str>) {
        set_value(MapType::HttpRequestTrailers, name, value.map(str::as_bytes));
    }

    /// Sets (or removes) a request trailer, value as bytes.
    fn set_http_request_trailer_bytes(&self, name: &str, value: Option<&[u8]>) {
        set_value(MapType::HttpRequestTrailers, name, value);
    }

    /// Adds a request trailer value.
    fn add_http_request_trailer(&self, name: &str, value: &str) {
        let _ = host::add_header(MapType::HttpRequestTrailers, name, value.as_bytes());
    }

    /// Adds a request trailer value, as bytes.
    fn add_http_request_trailer_bytes(&self, name: &str, value: &[u8]) {
        let _ = host::add_header(MapType::HttpRequestTrailers, name, value);
    }

    /// Removes a request trailer.
    fn remove_http_request_trailer(&self, name: &str) {
        set_value(MapType::HttpRequestTrailers, name, None);
    }

    /// Resumes a request this filter paused.
    fn resume_http_request(&self) {
        let _ = host::continue_stream(StreamType::Request);
    }

    /// Resets the request.
    fn reset_http_request(&self) {
        let _ = host::close_stream(StreamType::Request);
    }

    /// The response headers arrived.
    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }

    /// The response headers.
    fn get_http_response_headers(&self) -> Vec<(String, String)> {
        pairs(MapType::HttpResponseHeaders)
    }

    /// The response headers, values as bytes.
    fn get_http_response_headers_bytes(&self) -> Vec<(String, Bytes)> {
        pairs_bytes(MapType::HttpResponseHeaders)
    }

    /// Replaces every response header.
    fn set_http_response_headers(&self, headers: Vec<(&str, &str)>) {
        set_all(MapType::HttpResponseHeaders, &as_bytes(&headers));
    }

    /// Replaces every response header (values as bytes).
    fn set_http_response_headers_bytes(&self, headers: Vec<(&str, &[u8])>) {
        set_all(MapType::HttpResponseHeaders, &headers);
    }

    /// One response header.
    fn get_http_response_header(&self, name: &str) -> Option<String> {
        value(MapType::HttpResponseHeaders, name)
    }

    /// One response header, as bytes.
    fn get_http_response_header_bytes(&self, name: &str) -> Option<Bytes> {
        value_bytes(MapType::HttpResponseHeaders, name)
    }

    /// Sets (or removes) a response header.
    fn set_http_response_header(&self, name: &str, value: Option<&str>) {
        set_value(MapType::HttpResponseHeaders, name, value.map(str::as_bytes));
    }

    /// Sets (or removes) a response header, value as bytes.
    fn set_http_response_header_bytes(&self, name: &str, value: Option<&[u8]>) {
        set_value(MapType::HttpResponseHeaders, name, value);
    }

    /// Adds a response header value.
    fn add_http_response_header(&self, name: &str, value: &str) {
        let _ = host::add_header(MapType::HttpResponseHeaders, name, value.as_bytes());
    }

    /// Adds a response header value, as bytes.
    fn add_http_response_header_bytes(&self, name: &str, value: &[u8]) {
        let _ = host::add_header(MapType::HttpResponseHeaders, name, value);
    }

    /// Removes a response header.
    fn remove_http_response_header(&self, name: &str) {
        set_value(MapType::HttpResponseHeaders, name, None);
    }

    /// A piece of the response body arrived.
    fn on_http_response_body(&mut self, _body_size: usize, _end_of_stream: bool) -> Action {
        Action::Continue
    }

    /// The response body seen by this callback.
    fn get_http_response_body(&self, start: usize, max_size: usize) -> Option<Bytes> {
        buffer(BufferType::HttpResponseBody, start, max_size)
    }

    /// Replaces `size` bytes at `start` of the response body.
    fn set_http_response_body(&self, start: usize, size: usize, value: &[u8]) {
        let _ = host::set_buffer(BufferType::HttpResponseBody, start, size, value);
    }

    /// The response trailers arrived.
    fn on_http_response_trailers(&mut self, _num_trailers: usize) -> Action {
        Action::Continue
    }

    /// The response trailers.
    fn get_http_response_trailers(&self) -> Vec<(String, String)> {
        pairs(MapType::HttpResponseTrailers)
    }

    /// The response trailers, values as bytes.
    fn get_http_response_trailers_bytes(&self) -> Vec<(String, Bytes)> {
        pairs_bytes(MapType::HttpResponseTrailers)
    }

    /// Replaces every response trailer.
    fn set_http_response_trailers(&self, trailers: Vec<(&str, &str)>) {
        set_all(MapType::HttpResponseTrailers, &as_bytes(&trailers));
    }

    /// Replaces every response trailer (values as bytes).
    fn set_http_response_trailers_bytes(&self, trailers: Vec<(&str, &[u8])>) {
        set_all(MapType::HttpResponseTrailers, &trailers);
    }

    /// One response trailer.
    fn get_http_response_trailer(&self, name: &str) -> Option<String> {
        value(MapType::HttpResponseTrailers, name)
    }

    /// One response trailer, as bytes.
    fn get_http_response_trailer_bytes(&self, name: &str) -> Option<Bytes> {
        value_bytes(MapType::HttpResponseTrailers, name)
    }

    /// Sets (or removes) a response trailer.
    fn set_http_response_trailer(&self, name: &str, value: Option<&str>) {
        set_value(MapType::HttpResponseTrailers, name, value.map(str::as_bytes));
    }

    /// Sets (or removes) a response trailer, value as bytes.
    fn set_http_response_trailer_bytes(&self, name: &str, value: Option<&[u8]>) {
        set_value(MapType::HttpResponseTrailers, name, value);
    }

    /// Adds a response trailer value.
    fn add_http_response_trailer(&self, name: &str, value: &str) {
        let _ = host::add_header(MapType::HttpResponseTrailers, name, value.as_bytes());
    }

    /// Adds a response trailer value, as bytes.
    fn add_http_response_trailer_bytes(&self, name: &str, value: &[u8]) {
        let _ = host::add_header(MapType::HttpResponseTrailers, name, value);
    }

    /// Removes a response trailer.
    fn remove_http_response_trailer(&self, name: &str) {
        set_value(MapType::HttpResponseTrailers, name, None);
    }

    /// Resumes a response this filter paused.
    fn resume_http_response(&self) {
        let _ = host::continue_stream(StreamType::Response);
    }

    /// Resets the response.
    fn reset_http_response(&self) {
        let _ = host::close_stream(StreamType::Response);
    }

    /// Answers the request locally (return `Action::Pause` from the callback).
    fn send_http_response(&self, status_code: u32, headers: Vec<(&str, &str)>, body: Option<&[u8]>) {
        let _ = host::send_local_response(status_code, "", body.unwrap_or_default(), &as_bytes(&headers));
    }

    /// Answers a gRPC request locally with `grpc_status` (trailers-only).
    fn send_grpc_response(
        &self,
        grpc_status: u32,
        grpc_message: Option<&str>,
        custom_metadata: Vec<(&str, &[u8])>,
    ) {
        let message = grpc_message.unwrap_or_default();
        let _ = host::send_grpc_local_response(grpc_status, message, &custom_metadata);
    }

    /// Access-log time: the request is over, its headers readable.
    fn on_log(&mut self) {}
}

/// Makes the root context of a plugin (given its context id); see [`crate::set_root_context`].
pub type NewRootContext = fn(context_id: u32) -> Box<dyn RootContext>;

/// Makes the context of a request (given its id and its root context's id), instead of
/// [`RootContext::create_http_context`]; see [`crate::set_http_context`].
pub type NewHttpContext = fn(context_id: u32, root_context_id: u32) -> Box<dyn HttpContext>;
