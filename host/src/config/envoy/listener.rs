//! Envoy's `Listener` with an HTTP connection manager as a weir listener, and its Wasm HTTP
//! filters as weir plugins.
//!
//! A filter chain ending with a `tcp_proxy` is a TCP listener (see `tcp_proxy.rs`).
//!
//! Supported: one filter chain holding one `envoy.filters.network.http_connection_manager`
//! with an inline `route_config` (see [`super::route`]) or `rds` over ADS, `http_filters` of
//! Wasm filters ending with the router, and the connection manager settings weir has. Left
//! unset, the path-handling settings take **Envoy's** defaults (`normalize_path`,
//! `merge_slashes` and `use_remote_address` off, escaped slashes kept), so that an Envoy
//! config behaves as in Envoy; weir.yaml's defaults are the safe ones.

use std::net::SocketAddr;

use envoy_types::pb::envoy::config::core::v3::{address, socket_address};
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::listener::v3::filter::ConfigType as FilterConfigType;
use envoy_types::pb::envoy::extensions::filters::http::wasm::v3::Wasm;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::{
    PathWithEscapedSlashesAction as Escaped, RouteSpecifier,
};
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_filter::ConfigType;
use serde_json::json;
use weir_xds::convert::unpack;

use envoy_types::pb::envoy::config::core::v3::ExtensionConfigSource;
use envoy_types::pb::google::protobuf::Any;

use super::Refusals;
use super::source::Sources;
use super::support::{duration_text, join};
use crate::config::{ConfigDiscovery, ListenerConfig, PluginConfig, XdsType};

const HCM: &str = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER: &str = "envoy.extensions.filters.http.router.v3.Router";

/// What weir reads of a listener and its connection manager.
pub(super) const SPEC: super::support::Spec = &[
    (
        "envoy.config.listener.v3.Listener",
        &["name", "address", "filter_chains", "listener_filters", "metadata"],
    ),
    ("envoy.config.listener.v3.FilterChain", &["filters", "transport_socket"]),
    ("envoy.config.listener.v3.Filter", &["name", "typed_config"]),
    (
        HCM,
        &[
            "stat_prefix",
            "codec_type",
            "route_config",
            "rds",
            "http_filters",
            "normalize_path",
            "merge_slashes",
            "path_with_escaped_slashes_action",
            "use_remote_address",
            "preserve_external_request_id",
            "stream_idle_timeout",
            "request_timeout",
            "request_headers_timeout",
            "common_http_protocol_options",
            "max_request_headers_kb",
            "http_protocol_options",
            "http2_protocol_options",
            "upgrade_configs",
            "access_log",
        ],
    ),
    (
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.UpgradeConfig",
        &["upgrade_type"],
    ),
    (
        "envoy.extensions.filters.network.http_connection_manager.v3.Rds",
        &["config_source", "route_config_name"],
    ),
    (
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter",
        &["name", "typed_config", "config_discovery"],
    ),
    ("envoy.config.core.v3.ExtensionConfigSource", &["config_source", "default_config", "type_urls"]),
    ("envoy.config.core.v3.HttpProtocolOptions", &["idle_timeout", "max_headers_count"]),
    ("envoy.config.core.v3.Http2ProtocolOptions", &["max_concurrent_streams"]),
    (ROUTER, &[]),
    ("envoy.extensions.filters.http.wasm.v3.Wasm", &["config"]),
    (
        "envoy.extensions.wasm.v3.PluginConfig",
        &[
            "name",
            "root_id",
            "vm_config",
            "configuration",
            "failure_policy",
            "allow_on_headers_stop_iteration",
        ],
    ),
    ("envoy.extensions.wasm.v3.VmConfig", &["vm_id", "runtime", "code", "environment_variables"]),
    ("envoy.extensions.wasm.v3.EnvironmentVariables", &["host_env_keys", "key_values"]),
    ("envoy.config.core.v3.AsyncDataSource", &["local", "remote"]),
    ("envoy.config.core.v3.RemoteDataSource", &["http_uri", "sha256", "retry_policy"]),
    ("envoy.config.core.v3.HttpUri", &["uri", "cluster", "timeout"]),
    ("envoy.config.core.v3.RetryPolicy", &["num_retries"]),
    ("google.protobuf.UInt32Value", &["value"]),
    ("envoy.config.core.v3.DataSource", &["filename", "inline_string"]),
    ("google.protobuf.StringValue", &["value"]),
];

/// Checks and translates a listener from xDS (every unsupported field refused).
pub fn checked(
    pb: &Listener,
    plugins: &mut Vec<PluginConfig>,
    refusals: &mut Refusals,
) -> Option<ListenerConfig> {
    super::support::check(
        pb,
        &[
            SPEC,
            super::route::SPEC,
            super::cluster::SPEC,
            super::tls::SPEC,
            super::tcp_proxy::SPEC,
            super::access_log::SPEC,
        ],
        "",
        refusals,
    );
    listener(pb, "", plugins, None, refusals)
}

/// Translates a listener whose fields were checked; its Wasm filters are added to `plugins`
/// (a filter name used again must carry the same config). Filters with ECDS
/// (`config_discovery`) are taken from a bootstrap only, whose `sources` they join.
pub fn listener(
    pb: &Listener,
    at: &str,
    plugins: &mut Vec<PluginConfig>,
    sources: Option<&mut Sources>,
    refusals: &mut Refusals,
) -> Option<ListenerConfig> {
    let address = socket(pb, &join(at, "address"), refusals);
    let metadata = pb.metadata.as_ref().map(|m| super::support::metadata(m, &join(at, "metadata"), refusals));
    let [chain] = pb.filter_chains.as_slice() else {
        refusals.add(&join(at, "filter_chains"), "weir takes exactly one filter chain");
        return None;
    };
    let chain_at = format!("{}[0]", join(at, "filter_chains"));
    let tls = chain
        .transport_socket
        .as_ref()
        .and_then(|s| super::tls::downstream(s, &join(&chain_at, "transport_socket"), refusals));
    let at = join(&chain_at, "filters");
    if chain.filters.last().is_some_and(super::tcp_proxy::is_tcp_proxy) {
        let (network_filters, tcp_proxy) =
            super::tcp_proxy::translate(&chain.filters, &at, plugins, refusals)?;
        if tls.is_some() {
            refusals.add(
                &join(&chain_at, "transport_socket"),
                "TLS on a tcp_proxy listener is not supported by weir yet",
            );
        }
        let mut out = json!({
            "name": pb.name,
            "address": address?.to_string(),
            "network_filters": network_filters,
            "tcp_proxy": tcp_proxy,
        });
        if let Some(m) = metadata {
            out["metadata"] = serde_json::to_value(m).unwrap_or_default();
        }
        return parsed(out, &at, refusals);
    }
    let [filter] = chain.filters.as_slice() else {
        refusals
            .add(&at, "weir takes one HTTP connection manager, or Wasm network filters before a tcp_proxy");
        return None;
    };
    let at = format!("{at}[0].typed_config");
    let hcm = match &filter.config_type {
        Some(FilterConfigType::TypedConfig(any)) if any.type_url.ends_with(HCM) => {
            unpack::<HttpConnectionManager>(any)
        }
        Some(FilterConfigType::TypedConfig(any)) => {
            refusals.add(
                &at,
                format!("{} is not supported by weir (only the HTTP connection manager)", any.type_url),
            );
            return None;
        }
        _ => {
            refusals.add(&at, "a typed_config is required");
            return None;
        }
    };
    let hcm = match hcm {
        Ok(h) => h,
        Err(e) => {
            refusals.add(&at, e.to_string());
            return None;
        }
    };
    let filters = http_filters(&hcm, &at, plugins, sources, refusals);
    let mut out = json!({
        "name": pb.name,
        "address": address?.to_string(),
        "http_filters": filters,
        "normalize_path": hcm.normalize_path.as_ref().is_some_and(|b| b.value),
        "merge_slashes": hcm.merge_slashes,
        "use_remote_address": hcm.use_remote_address.as_ref().is_some_and(|b| b.value),
        "preserve_external_request_id": hcm.preserve_external_request_id,
        "path_with_escaped_slashes_action": match Escaped::try_from(hcm.path_with_escaped_slashes_action) {
            Ok(Escaped::RejectRequest) => "REJECT_REQUEST",
            Ok(Escaped::UnescapeAndRedirect) => "UNESCAPE_AND_REDIRECT",
            Ok(Escaped::UnescapeAndForward) => "UNESCAPE_AND_FORWARD",
            _ => "KEEP_UNCHANGED",
        },
    });
    for (key, value) in [
        ("stream_idle_timeout", &hcm.stream_idle_timeout),
        ("request_timeout", &hcm.request_timeout),
        ("request_headers_timeout", &hcm.request_headers_timeout),
        ("idle_timeout", &hcm.common_http_protocol_options.as_ref().and_then(|o| o.idle_timeout)),
    ] {
        if let Some(d) = value {
            out[key] = json!(duration_text(d));
        }
    }
    if let Some(kb) = &hcm.max_request_headers_kb {
        out["max_request_headers_kb"] = json!(kb.value);
    }
    if let Some(count) = hcm.common_http_protocol_options.as_ref().and_then(|o| o.max_headers_count.as_ref())
    {
        out["max_request_headers"] = json!(count.value);
    }
    if hcm.http2_protocol_options.as_ref().is_some_and(|o| o.connection_keepalive.is_some()) {
        refusals.add(
            &join(&at, "http2_protocol_options.connection_keepalive"),
            "HTTP/2 keepalive towards clients is not supported by weir (towards clusters it is)",
        );
    }
    if let Some(streams) = hcm.http2_protocol_options.as_ref().and_then(|o| o.max_concurrent_streams.as_ref())
    {
        out["http2_max_concurrent_streams"] = json!(streams.value);
    }
    if let Some(tls) = tls {
        out["tls"] = serde_json::to_value(tls).unwrap_or_default();
    }
    if let Some(m) = metadata {
        out["metadata"] = serde_json::to_value(m).unwrap_or_default();
    }
    if !hcm.upgrade_configs.is_empty() {
        out["upgrade_types"] = json!(hcm.upgrade_configs.iter().map(|u| &u.upgrade_type).collect::<Vec<_>>());
    }
    if let Some(log) = super::access_log::translate(&hcm.access_log, &join(&at, "access_log"), refusals) {
        out["access_log"] = serde_json::to_value(log).unwrap_or_default();
    }
    if let Some(h1) = &hcm.http_protocol_options {
        out["http_protocol_options"] = json!({"enable_trailers": h1.enable_trailers});
    }
    match &hcm.route_specifier {
        Some(RouteSpecifier::RouteConfig(rc)) => {
            out["virtual_hosts"] =
                json!(super::route::translate(rc, &filters, &join(&at, "route_config"), refusals));
        }
        Some(RouteSpecifier::Rds(rds)) => {
            if let Some(source) = &rds.config_source {
                super::source::check(source, &join(&at, "rds.config_source"), refusals);
            }
            out["rds"] = json!(rds.route_config_name);
        }
        _ => refusals.add(&at, "a route_config or rds is required by weir"),
    }
    parsed(out, &at, refusals)
}

/// The weir listener from its JSON form (a failure refused at `at`).
fn parsed(out: serde_json::Value, at: &str, refusals: &mut Refusals) -> Option<ListenerConfig> {
    match serde_json::from_value(out) {
        Ok(listener) => Some(listener),
        Err(e) => {
            refusals.add(at, e.to_string());
            None
        }
    }
}

/// The Wasm filters (as plugins, by name), the router last.
fn http_filters(
    hcm: &HttpConnectionManager,
    at: &str,
    plugins: &mut Vec<PluginConfig>,
    mut sources: Option<&mut Sources>,
    refusals: &mut Refusals,
) -> Vec<String> {
    let mut names = Vec::new();
    let last = hcm.http_filters.len().saturating_sub(1);
    for (i, f) in hcm.http_filters.iter().enumerate() {
        let at = format!("{}[{i}]", join(at, "http_filters"));
        let (any, discovery) = match &f.config_type {
            Some(ConfigType::TypedConfig(any)) => (any, None),
            Some(ConfigType::ConfigDiscovery(discovery)) => {
                let at = join(&at, "config_discovery");
                match ecds(discovery, &at, sources.as_deref_mut(), refusals) {
                    Some(default) => (default, Some(f.name.clone())),
                    None => continue,
                }
            }
            None => {
                refusals.add(&at, "a typed_config is required by weir");
                continue;
            }
        };
        if any.type_url.ends_with(ROUTER) && discovery.is_none() {
            if i != last {
                refusals.add(&at, "the router must be the last HTTP filter");
            }
            continue;
        }
        if i == last {
            refusals.add(&at, "the last HTTP filter must be envoy.filters.http.router");
        }
        let plugin =
            unpack::<Wasm>(any).map_err(|e| e.to_string()).and_then(|w| super::wasm::plugin(&f.name, &w));
        match plugin {
            Ok(mut p) => {
                p.config_discovery =
                    discovery.map(|resource_name| ConfigDiscovery { resource_name: Some(resource_name) });
                names.extend(super::wasm::add_plugin(plugins, p, &at, refusals));
            }
            Err(e) => refusals.add(&format!("{at}.typed_config"), e),
        }
    }
    names
}

/// A Wasm filter's ECDS source (`config_discovery` at `at`): its `default_config`, the module
/// weir starts with, once the source joined the bootstrap's `sources`.
fn ecds<'a>(
    discovery: &'a ExtensionConfigSource,
    at: &str,
    sources: Option<&mut Sources>,
    refusals: &mut Refusals,
) -> Option<&'a Any> {
    let Some(sources) = sources else {
        refusals.add(at, "ECDS is taken in a bootstrap's listeners, not in listeners from LDS, by weir");
        return None;
    };
    if discovery.type_urls.iter().any(|t| t != weir_xds::types::WASM_FILTER) || discovery.type_urls.is_empty()
    {
        refusals.add(&join(at, "type_urls"), format!("weir takes [{}] only", weir_xds::types::WASM_FILTER));
    }
    if let Some(source) = &discovery.config_source {
        sources.take(XdsType::Ecds, source, &join(at, "config_source"), refusals);
    }
    match &discovery.default_config {
        Some(default) if default.type_url == weir_xds::types::WASM_FILTER => Some(default),
        _ => {
            refusals.add(
                &join(at, "default_config"),
                "a Wasm filter default_config is required by weir: the module it starts with",
            );
            None
        }
    }
}

/// A listener's `socket_address` as an IP address and port.
fn socket(pb: &Listener, at: &str, refusals: &mut Refusals) -> Option<SocketAddr> {
    let socket = match pb.address.as_ref().and_then(|a| a.address.as_ref()) {
        Some(address::Address::SocketAddress(s)) => s,
        _ => {
            refusals.add(at, "a socket_address is required by weir");
            return None;
        }
    };
    let port = match socket.port_specifier {
        Some(socket_address::PortSpecifier::PortValue(p)) => u16::try_from(p).ok(),
        _ => None,
    };
    match (socket.address.parse::<std::net::IpAddr>(), port) {
        (Ok(ip), Some(port)) => Some(SocketAddr::new(ip, port)),
        _ => {
            refusals.add(at, "weir listens on an IP address and port_value");
            None
        }
    }
}
