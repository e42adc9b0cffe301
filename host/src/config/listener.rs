//! A listener's section of `weir.yaml`: where it binds, its chain and routes, and what it
//! allows a client (header limits, timeouts, body buffering, path normalization).

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::VirtualHostConfig;
use super::duration;

/// One downstream listener (Envoy: a listener with an HTTP connection manager).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    /// Unique name, used in stats and logs.
    pub name: String,
    /// Address to bind, e.g. `0.0.0.0:10000`. Port 0 picks a free port (see `/listeners`).
    pub address: SocketAddr,
    /// Plugins (by name) run on every request of this listener, in order: request callbacks run
    /// first to last, response callbacks last to first (Envoy's `http_filters`).
    #[serde(default)]
    pub http_filters: Vec<String>,
    /// Make this a TCP listener: each connection is proxied byte for byte to a cluster
    /// (Envoy's `tcp_proxy`), through `network_filters`. A TCP listener has no HTTP settings:
    /// `http_filters`, `virtual_hosts`, `rds` and `tls` must be left out (the other HTTP
    /// fields do not apply to it). Omit for an HTTP listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_proxy: Option<super::TcpProxyConfig>,
    /// Plugins (by name) run on every connection of a TCP listener, in order, as proxy-wasm
    /// network filters (Envoy's `envoy.filters.network.wasm`): downstream data runs through
    /// them first to last, upstream data last to first. Only with `tcp_proxy`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_filters: Vec<String>,
    /// Virtual hosts, chosen by the request's `:authority`. Required unless `rds` or
    /// `tcp_proxy` is set.
    #[serde(default)]
    pub virtual_hosts: Vec<VirtualHostConfig>,
    /// Take the virtual hosts from the control plane instead: the name of the
    /// `RouteConfiguration` to subscribe to over RDS (Envoy's `rds.route_config_name`; needs
    /// the `xds` section; exclusive with `virtual_hosts`). Until it arrives every request is
    /// answered 404 (no route).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rds: Option<String>,
    /// Largest request or response body a plugin may buffer, in bytes. A request over it gets
    /// 413, a response 500 (Envoy's `per_connection_buffer_limit_bytes` default is 1 MiB).
    #[serde(default = "default_buffer_limit")]
    pub buffer_limit_bytes: usize,
    /// Access log: `-` for standard output or a file path (one JSON line per request), or a
    /// table with `path` and a line format in Envoy's command operators (`format` or
    /// `json_format`, see [`super::AccessLogConfig`]). Omit for none.
    #[serde(
        default,
        deserialize_with = "super::access_log::path_or_table",
        serialize_with = "super::access_log::serialize_path_or_table"
    )]
    pub access_log: Option<super::AccessLogConfig>,
    /// Largest request header block in KiB; larger requests get 431 (Envoy default 60).
    #[serde(default = "default_headers_kb")]
    pub max_request_headers_kb: u32,
    /// Most request headers; more get 431 (Envoy default 100).
    #[serde(default = "default_max_headers")]
    pub max_request_headers: usize,
    /// Largest response header block in KiB (as the upstream sent it and the plugins left
    /// it); a larger one is replaced by a 502 (Envoy's `max_response_headers_kb`, default 60).
    #[serde(default = "default_headers_kb")]
    pub max_response_headers_kb: u32,
    /// Most response headers; more are replaced by a 502 (default 100).
    #[serde(default = "default_max_headers")]
    pub max_response_headers: usize,
    /// Time allowed for a request's head: from a connection's accept to its first request,
    /// and on HTTP/1 from a request's first byte to its last header (a client too slow gets
    /// 408 and the connection is closed). `0s` disables. Default 10s.
    #[serde(default = "default_headers_timeout", with = "duration")]
    pub request_headers_timeout: Duration,
    /// Time a connection may stay without any request (Envoy's `idle_timeout`); it is then
    /// closed (HTTP/2: GOAWAY first). `0s` disables. Default 1h (Envoy's).
    #[serde(default = "default_idle_timeout", with = "duration")]
    pub idle_timeout: Duration,
    /// Time a request may make no progress (no body data either way); it is then stopped:
    /// 408 if its response has not begun, else reset, and its upstream connection released.
    /// `0s` disables. Default 5m (Envoy's).
    #[serde(default = "default_stream_idle_timeout", with = "duration")]
    pub stream_idle_timeout: Duration,
    /// Most open connections on this listener (all workers); more are closed at once and
    /// counted (`weir_downstream_cx_overflow_total`). Default 10000.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Most concurrent streams on one HTTP/2 connection (Envoy's edge recommendation: 100).
    #[serde(default = "default_max_streams")]
    pub http2_max_concurrent_streams: u32,
    /// How often an idle HTTP/2 connection is pinged (`0s`: never); a ping not answered
    /// within 20s closes it. Default 60s.
    #[serde(default = "default_keepalive", with = "duration")]
    pub http2_keepalive_interval: Duration,
    /// Time allowed to receive a whole request, body included; past it the client gets 408
    /// (`request timeout`). `0s` (the default, as Envoy) disables it.
    #[serde(default, with = "duration")]
    pub request_timeout: Duration,
    /// Normalize the path (RFC 3986) before routing and before plugins, as Envoy's
    /// `normalize_path`: dot segments resolved (also `%2e` and `..;`), escaped unreserved
    /// characters decoded, backslashes made slashes. Default `true` (Envoy's default is
    /// `false`: weir's is the safe one, see docs/security.md).
    #[serde(default = "yes")]
    pub normalize_path: bool,
    /// Merge repeated slashes (`//a///b` → `/a/b`), as Envoy's `merge_slashes`. Default `true`
    /// (Envoy: `false`).
    #[serde(default = "yes")]
    pub merge_slashes: bool,
    /// This listener faces clients directly (Envoy's `use_remote_address`): the connection's
    /// address is appended to `x-forwarded-for`, `x-forwarded-proto` is set from the
    /// connection (not taken from the client) and a client's `x-request-id` is replaced
    /// (unless `preserve_external_request_id`). `false` (Envoy's default) trusts what the
    /// client sends: for a listener behind another proxy. Default `true`.
    #[serde(default = "yes")]
    pub use_remote_address: bool,
    /// Keep a client's `x-request-id` even with `use_remote_address` (Envoy's field). Default
    /// `false`.
    #[serde(default)]
    pub preserve_external_request_id: bool,
    /// What to do with escaped slashes (`%2F`, `%5C`) in the path, as Envoy's
    /// `path_with_escaped_slashes_action`. Default `UNESCAPE_AND_REDIRECT` (Envoy:
    /// `KEEP_UNCHANGED`).
    #[serde(default)]
    pub path_with_escaped_slashes_action: EscapedSlashesAction,
    /// Terminate TLS on this listener (Envoy's `DownstreamTlsContext`): certificates chosen by
    /// SNI, ALPN `h2`/`http/1.1`, optional client certificates, rotation without a restart
    /// (`docs/config.md`, "TLS"). Omit for plaintext.
    #[serde(default)]
    pub tls: Option<weir_tls::DownstreamTls>,
    /// HTTP/1.1 upgrades proxied on this listener (Envoy's `upgrade_configs`), by protocol
    /// (`Upgrade` header value, case-insensitive), e.g. `[websocket]`: the request goes to its
    /// route's cluster on a connection of its own and, once the endpoint answers 101, bytes flow
    /// both ways until either side closes (or `stream_idle_timeout` passes without any). Other
    /// upgrades are answered 403, as Envoy answers them. Default none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upgrade_types: Vec<String>,
    /// HTTP/1.1 options towards clients (Envoy's `http_protocol_options`).
    #[serde(default)]
    pub http_protocol_options: super::Http1Options,
    /// Metadata filters read as `xds.listener_metadata` (Envoy's listener `metadata`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<super::Metadata>,
}

fn yes() -> bool {
    true
}

fn default_idle_timeout() -> Duration {
    Duration::from_secs(3600)
}

fn default_stream_idle_timeout() -> Duration {
    Duration::from_secs(300)
}

fn default_max_connections() -> usize {
    10_000
}

fn default_max_streams() -> u32 {
    100
}

fn default_keepalive() -> Duration {
    Duration::from_secs(60)
}

/// Envoy's `path_with_escaped_slashes_action`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EscapedSlashesAction {
    /// Leave them: routes, plugins and the upstream see `%2F` (an upstream that decodes it may
    /// serve another resource than the one routed).
    KeepUnchanged,
    /// Answer 400.
    RejectRequest,
    /// Redirect the client (307) to the path with them unescaped (and normalized); gRPC
    /// requests, which cannot follow a redirect, get `grpc-status: 13`.
    #[default]
    UnescapeAndRedirect,
    /// Unescape them and go on.
    UnescapeAndForward,
}

impl ListenerConfig {
    /// The path options of this listener.
    pub fn path_options(&self) -> weir_path::Options {
        weir_path::Options {
            normalize: self.normalize_path,
            merge_slashes: self.merge_slashes,
            escaped_slashes: match self.path_with_escaped_slashes_action {
                EscapedSlashesAction::KeepUnchanged => weir_path::EscapedSlashes::KeepUnchanged,
                EscapedSlashesAction::RejectRequest => weir_path::EscapedSlashes::RejectRequest,
                EscapedSlashesAction::UnescapeAndRedirect => weir_path::EscapedSlashes::UnescapeAndRedirect,
                EscapedSlashesAction::UnescapeAndForward => weir_path::EscapedSlashes::UnescapeAndForward,
            },
        }
    }
}

fn default_headers_kb() -> u32 {
    60
}

fn default_max_headers() -> usize {
    100
}

fn default_headers_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_buffer_limit() -> usize {
    1024 * 1024
}
