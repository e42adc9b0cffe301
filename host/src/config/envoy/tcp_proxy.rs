//! A listener whose filter chain ends with `envoy.filters.network.tcp_proxy` as a weir TCP
//! listener: its `envoy.filters.network.wasm` filters become its `network_filters` (plugins),
//! the proxy its `tcp_proxy` section.

use envoy_types::pb::envoy::config::listener::v3::Filter;
use envoy_types::pb::envoy::config::listener::v3::filter::ConfigType;
use envoy_types::pb::envoy::extensions::filters::http::wasm::v3::Wasm as HttpWasm;
use envoy_types::pb::envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy;
use envoy_types::pb::envoy::extensions::filters::network::tcp_proxy::v3::tcp_proxy::ClusterSpecifier;
use envoy_types::pb::envoy::extensions::filters::network::wasm::v3::Wasm;
use serde_json::{Value, json};
use weir_xds::convert::unpack;

use super::Refusals;
use super::support::duration_text;
use crate::config::PluginConfig;

/// The type of the proxy's config.
pub(super) const TCP_PROXY: &str = "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
const NETWORK_WASM: &str = "envoy.extensions.filters.network.wasm.v3.Wasm";

/// What weir reads of a TCP proxy and of a Wasm network filter.
pub(super) const SPEC: super::support::Spec = &[
    (TCP_PROXY, &["stat_prefix", "cluster", "weighted_clusters", "idle_timeout"]),
    ("envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster", &["clusters"]),
    (
        "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster.ClusterWeight",
        &["name", "weight"],
    ),
    (NETWORK_WASM, &["config"]),
];

/// Whether `filter` is the TCP proxy.
pub(super) fn is_tcp_proxy(filter: &Filter) -> bool {
    matches!(&filter.config_type, Some(ConfigType::TypedConfig(any)) if any.type_url.ends_with(TCP_PROXY))
}

/// The `network_filters` and `tcp_proxy` of a weir listener from a filter chain's `filters`
/// (at `at`), the TCP proxy last; the Wasm filters are added to `plugins`.
pub(super) fn translate(
    filters: &[Filter],
    at: &str,
    plugins: &mut Vec<PluginConfig>,
    refusals: &mut Refusals,
) -> Option<(Vec<String>, Value)> {
    let (proxy, wasm) = filters.split_last()?;
    let mut names = Vec::new();
    for (i, filter) in wasm.iter().enumerate() {
        let at = format!("{at}[{i}].typed_config");
        let any = match &filter.config_type {
            Some(ConfigType::TypedConfig(any)) if any.type_url.ends_with(NETWORK_WASM) => any,
            Some(ConfigType::TypedConfig(any)) => {
                refusals.add(
                    &at,
                    format!(
                        "{} is not supported by weir before a tcp_proxy (only Wasm network filters)",
                        any.type_url
                    ),
                );
                continue;
            }
            _ => {
                refusals.add(&at, "a typed_config is required by weir");
                continue;
            }
        };
        // The same `PluginConfig` as the HTTP Wasm filter's.
        let plugin = unpack::<Wasm>(any)
            .map_err(|e| e.to_string())
            .and_then(|w| super::wasm::plugin(&filter.name, &HttpWasm { config: w.config }));
        match plugin {
            Ok(p) => names.extend(super::wasm::add_plugin(plugins, p, &at, refusals)),
            Err(e) => refusals.add(&at, e),
        }
    }
    let at = format!("{at}[{}].typed_config", wasm.len());
    let Some(ConfigType::TypedConfig(any)) = &proxy.config_type else { return None };
    let tcp = match unpack::<TcpProxy>(any) {
        Ok(tcp) => tcp,
        Err(e) => {
            refusals.add(&at, e.to_string());
            return None;
        }
    };
    let mut out = json!({});
    match &tcp.cluster_specifier {
        Some(ClusterSpecifier::Cluster(name)) => out["cluster"] = json!(name),
        Some(ClusterSpecifier::WeightedClusters(w)) => {
            let clusters: Vec<Value> =
                w.clusters.iter().map(|c| json!({"name": c.name, "weight": c.weight})).collect();
            out["weighted_clusters"] = json!({ "clusters": clusters });
        }
        None => refusals.add(&at, "a cluster or weighted_clusters is required by weir"),
    }
    if let Some(idle) = &tcp.idle_timeout {
        out["idle_timeout"] = json!(duration_text(idle));
    }
    Some((names, out))
}
