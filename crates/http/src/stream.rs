//! The state of one HTTP request/response exchange as plugins see it, shared between the stream
//! driver and the hostcalls of every plugin in the chain (all on one worker thread).

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::SystemTime;

use bytes::Bytes;

pub use crate::chunk::Chunk;
use tokio::sync::Notify;

use crate::{HeaderMap, LocalReply};

/// A stream's state plus the signal the driver waits on while a plugin has paused it.
#[derive(Debug, Default)]
pub struct StreamShared {
    /// The state. Borrowed briefly by hostcalls and by the driver, never across an `.await`.
    pub data: RefCell<HttpStream>,
    /// Woken when a plugin continues, closes or answers the stream.
    pub wake: Notify,
    /// Its progress, watched by the connection's watchdog (`stream_idle_timeout`).
    pub activity: crate::Activity,
}

impl StreamShared {
    /// Wraps a stream.
    pub fn new(stream: HttpStream) -> StreamShared {
        StreamShared { data: RefCell::new(stream), ..StreamShared::default() }
    }
}

/// Which callbacks have run; decides which maps and buffers a hostcall may touch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Request headers, body and trailers are being processed.
    #[default]
    Request,
    /// Response headers, body and trailers are being processed.
    Response,
    /// The exchange is over (`proxy_on_log` and later).
    Done,
}

/// Serialized `envoy.config.core.v3.Metadata` of what serves an exchange (empty: none set).
#[derive(Debug, Clone, Default)]
pub struct XdsMetadata {
    /// The listener's.
    pub listener: Bytes,
    /// The matched route's (`None`: no route).
    pub route: Option<Bytes>,
    /// The cluster's, once chosen.
    pub cluster: Option<Bytes>,
}

/// Facts about the exchange exposed as properties.
#[derive(Debug, Clone)]
pub struct StreamInfo {
    /// Downstream peer address.
    pub downstream_remote: SocketAddr,
    /// Address the downstream connection arrived on.
    pub downstream_local: SocketAddr,
    /// Downstream connection id (unique per process).
    pub connection_id: u64,
    /// When the request started.
    pub start_time: SystemTime,
    /// `HTTP/1.1`, `HTTP/2`, ...
    pub protocol: &'static str,
    /// Name of the listener.
    pub listener_name: String,
    /// Name of the matched route.
    pub route_name: String,
    /// Name of the cluster the route points at, when known.
    pub cluster_name: Option<String>,
    /// The listener's, route's and cluster's metadata (serialized
    /// `envoy.config.core.v3.Metadata`), for `xds.*_metadata`.
    pub metadata: XdsMetadata,
    /// Address of the upstream endpoint, once connected.
    pub upstream_address: Option<SocketAddr>,
    /// Response status, once known.
    pub response_code: Option<u16>,
    /// Response code details (`via_upstream`, `wasm_fail_stream`, ...).
    pub response_code_details: String,
    /// Envoy's response flags for an upstream failure (`UF`, `UH`, `UT`, ...; empty: none).
    pub response_flags: &'static str,
    /// Total request body bytes received.
    pub request_body_bytes: u64,
    /// Total response body bytes sent.
    pub response_body_bytes: u64,
    /// The listener's `buffer_limit_bytes`: the largest body a plugin may buffer or make.
    pub body_limit: usize,
    /// The downstream connection's TLS (`None`: plaintext).
    pub downstream_tls: Option<std::sync::Arc<crate::TlsInfo>>,
    /// The upstream connection's TLS, once connected (`None`: plaintext or not yet).
    pub upstream_tls: Option<std::sync::Arc<crate::TlsInfo>>,
}

impl Default for StreamInfo {
    fn default() -> Self {
        let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
        StreamInfo {
            downstream_remote: unspecified,
            downstream_local: unspecified,
            connection_id: 0,
            start_time: SystemTime::UNIX_EPOCH,
            protocol: "HTTP/1.1",
            listener_name: String::new(),
            route_name: String::new(),
            cluster_name: None,
            metadata: XdsMetadata::default(),
            upstream_address: None,
            response_code: None,
            response_code_details: String::new(),
            response_flags: "",
            request_body_bytes: 0,
            response_body_bytes: 0,
            body_limit: 1024 * 1024,
            downstream_tls: None,
            upstream_tls: None,
        }
    }
}

/// One exchange.
#[derive(Debug, Default)]
pub struct HttpStream {
    /// Request headers, pseudo-headers included.
    pub request_headers: HeaderMap,
    /// Request trailers, when the request has them.
    pub request_trailers: Option<HeaderMap>,
    /// Response headers, from the response phase on.
    pub response_headers: Option<HeaderMap>,
    /// Response trailers, when the response has them.
    pub response_trailers: Option<HeaderMap>,
    /// The request body a body callback sees (the current chunk, or everything buffered).
    pub request_body: Chunk,
    /// The response body a body callback sees.
    pub response_body: Chunk,
    /// Where the exchange is.
    pub phase: Phase,
    /// A local reply requested by a plugin.
    pub local_reply: Option<LocalReply>,
    /// A plugin asked to continue the request (`proxy_continue_stream(Request)`).
    pub continue_request: bool,
    /// A plugin asked to continue the response.
    pub continue_response: bool,
    /// A plugin asked to reset the stream (`proxy_close_stream`).
    pub close_requested: bool,
    /// A plugin asked for the route to be chosen again (`clear_route_cache`).
    pub clear_route_cache: bool,
    /// The cluster a network filter picked for its TCP connection: Envoy's
    /// `envoy.tcp_proxy.cluster` filter state, set with the `set_envoy_filter_state` foreign
    /// function (not with `proxy_set_property`, which Envoy keeps under `wasm.`).
    pub tcp_proxy_cluster: Option<String>,
    /// Properties set with `proxy_set_property`, readable by later plugins (filter state).
    pub filter_state: HashMap<Vec<u8>, Bytes>,
    /// Facts exposed as properties.
    pub info: StreamInfo,
    /// The whole request has arrived from downstream.
    pub downstream_complete: bool,
    /// The listener's `request_timeout` no longer applies: the request went upstream whole, or
    /// the response began (as Envoy disarms its request timer).
    pub request_timer_disarmed: bool,
}

impl HttpStream {
    /// The header map of the given ABI map type, if it exists in this phase.
    pub fn map(&self, map: weir_abi::MapType) -> Option<&HeaderMap> {
        use weir_abi::MapType as M;
        match map {
            M::HttpRequestHeaders => Some(&self.request_headers),
            M::HttpRequestTrailers => self.request_trailers.as_ref(),
            M::HttpResponseHeaders => self.response_headers.as_ref(),
            M::HttpResponseTrailers => self.response_trailers.as_ref(),
            _ => None,
        }
    }

    /// The mutable header map of the given ABI map type, if it exists in this phase.
    pub fn map_mut(&mut self, map: weir_abi::MapType) -> Option<&mut HeaderMap> {
        use weir_abi::MapType as M;
        match map {
            M::HttpRequestHeaders => Some(&mut self.request_headers),
            M::HttpRequestTrailers => self.request_trailers.as_mut(),
            M::HttpResponseHeaders => self.response_headers.as_mut(),
            M::HttpResponseTrailers => self.response_trailers.as_mut(),
            _ => None,
        }
    }

    /// Stores filter state (`proxy_set_property`) unless the stream's filter state would hold
    /// more than `limit` bytes (keys and values) with it; `false` then, nothing changed.
    pub fn set_filter_state(&mut self, key: Vec<u8>, value: Bytes, limit: usize) -> bool {
        let held: usize =
            self.filter_state.iter().filter(|(k, _)| **k != key).map(|(k, v)| k.len() + v.len()).sum();
        if held + key.len() + value.len() > limit {
            return false;
        }
        self.filter_state.insert(key, value);
        true
    }

    /// Whether the client speaks gRPC (`content-type: application/grpc...`).
    pub fn is_grpc_request(&self) -> bool {
        self.request_headers.get(b"content-type").is_some_and(|v| v.starts_with(b"application/grpc"))
    }

    /// Whether the driver should stop waiting: something was requested by a plugin.
    pub fn has_request_outcome(&self) -> bool {
        self.local_reply.is_some() || self.close_requested || self.continue_request
    }

    /// Same for the response direction.
    pub fn has_response_outcome(&self) -> bool {
        self.local_reply.is_some() || self.close_requested || self.continue_response
    }
}
