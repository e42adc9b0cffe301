//! The context traits a filter implements: [`RootContext`] (one per plugin: configuration,
//! ticks, queues) and [`HttpContext`] (one per request), both [`Context`]s. Their methods and
//! signatures are those of the `proxy-wasm` crate's traits, so a filter written for it moves
//! over by changing its `use` lines; unlike it, no method panics: a hostcall the host refuses
//! reads as absent (`None`, empty) or is ignored, and the `Result`-returning functions of
//! [`crate::host`] say why when a filter needs to know.
//!
//! The callbacks (`on_*`) default to doing nothing and continuing. When they run and what their
//! answers mean: `docs/lifecycle.md`.

use std::time::Duration;

pub use crate::context::Context;
use crate::context::{as_bytes, buffer, pairs, pairs_bytes, set_all, set_value, value, value_bytes};
use crate::host;
use crate::types::{Action, BufferType, Bytes, ContextType, MapType, StreamType};

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
        grpc_status: crate::types::GrpcStatusCode,
        grpc_message: Option<&str>,
        custom_metadata: Vec<(&str, &[u8])>,
    ) {
        let message = grpc_message.unwrap_or_default();
        let _ = host::send_grpc_local_response(grpc_status as u32, message, &custom_metadata);
    }

    /// Access-log time: the request is over, its headers readable.
    fn on_log(&mut self) {}
}

/// Makes the root context of a plugin (given its context id); see [`crate::set_root_context`].
pub type NewRootContext = fn(context_id: u32) -> Box<dyn RootContext>;

/// Makes the context of a request (given its id and its root context's id), instead of
/// [`RootContext::create_http_context`]; see [`crate::set_http_context`].
pub type NewHttpContext = fn(context_id: u32, root_context_id: u32) -> Box<dyn HttpContext>;
