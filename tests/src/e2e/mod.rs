//! The end-to-end suites (`tests/tests/xds_e2e.rs`, `tests/tests/cp_envoy.rs`): Envoy (with the
//! rtds-bridge service) and weir side by side, both fed by a real `weir-cp` ([`cp`]), on the
//! shuffle-shard setup checked in as `envoy-configs/shuffle-shard.yaml` and
//! `examples/shuffle-shard/weir.yaml` (templated by `weir-testkit` with ephemeral ports and
//! absolute module paths), plus the polls the tests wait with.

pub mod cp;
pub mod load;

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::Value;

use weir_testkit::shard_pair::ShardPair;

use crate::client;

/// `envoy-configs/shuffle-shard.yaml` with weir-cp at `xds`, every shard cluster at
/// `upstream`, ephemeral listener and admin ports, and absolute `.wasm` paths.
pub fn envoy_config(xds: SocketAddr, upstream: SocketAddr) -> anyhow::Result<String> {
    ShardPair::ephemeral(xds, upstream).envoy_yaml()
}

/// `examples/shuffle-shard/weir.yaml`, templated like [`envoy_config`].
pub fn weir_config(xds: SocketAddr, upstream: SocketAddr) -> anyhow::Result<String> {
    ShardPair::ephemeral(xds, upstream).weir_yaml()
}

/// The static Envoy cluster `weir-cp` (HTTP/2 to weir-cp's xDS port at `xds`), as an item of
/// `static_resources.clusters`.
pub fn envoy_cp_cluster(xds: SocketAddr) -> String {
    format!(
        r#"  - name: weir-cp
    type: STATIC
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {{ http2_protocol_options: {{}} }}
    load_assignment:
      cluster_name: weir-cp
      endpoints: [ {{ lb_endpoints: [ {{ endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {port} }} }} }} }} ] }} ]
"#,
        port = xds.port()
    )
}

/// A static Envoy cluster `name` with one endpoint at `addr`, as an item of
/// `static_resources.clusters`.
pub fn static_cluster(name: &str, addr: SocketAddr) -> String {
    format!(
        "  - name: {name}\n    type: STATIC\n    connect_timeout: 1s\n    load_assignment:\n      cluster_name: {name}\n      endpoints: [ {{ lb_endpoints: [ {{ endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {} }} }} }} }} ] }} ]\n",
        addr.port()
    )
}

/// An Envoy bootstrap for node `node` with clusters from weir-cp (CDS over ADS, `delta` or
/// state of the world) and one listener `main` whose connection manager holds `routes`
/// (`route_config: …` or `rds: …`, indented for the connection manager) and the router.
pub fn envoy_xds_bootstrap(node: &str, xds: SocketAddr, mode: XdsMode, routes: &str) -> String {
    let ads = if mode.per_type {
        String::new()
    } else {
        format!(
            "  ads_config:\n    api_type: {}\n    transport_api_version: V3\n    grpc_services: [ {{ envoy_grpc: {{ cluster_name: weir-cp }} }} ]\n",
            mode.api_type()
        )
    };
    let dynamic = format!(
        "node: {{ id: {node}, cluster: edge }}\ndynamic_resources:\n{ads}  cds_config: {}\n",
        mode.source()
    );
    // The weir-cp cluster as a `clusters` list item.
    let cluster = format!("\n{}", envoy_cp_cluster(xds).trim_end());
    format!("{dynamic}{}", static_bootstrap(routes, &cluster))
}

/// A static Envoy bootstrap: admin on an ephemeral port, listener `main` (ephemeral port) with
/// an HTTP connection manager holding `manager` (its `route_config`, `upgrade_configs`, ...,
/// indented as its fields) and the router, and `clusters` (list items, indented as
/// `static_resources.clusters` items).
pub fn static_bootstrap(manager: &str, clusters: &str) -> String {
    format!(
        r#"admin:
  address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
static_resources:
  listeners:
  - name: main
    address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: main
{manager}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {{ "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }}
  clusters:{clusters}
"#
    )
}

/// How a proxy takes its resources from weir-cp: state of the world or delta, on the ADS
/// stream or on a stream per type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XdsMode {
    /// Delta (`DELTA_GRPC`) rather than state of the world.
    pub delta: bool,
    /// A stream per type (`api_config_source`) rather than ADS.
    pub per_type: bool,
}

impl XdsMode {
    /// State of the world over ADS.
    pub const SOTW: XdsMode = XdsMode { delta: false, per_type: false };
    /// Delta over ADS.
    pub const DELTA: XdsMode = XdsMode { delta: true, per_type: false };

    /// Envoy's `api_type`.
    pub fn api_type(self) -> &'static str {
        if self.delta { "DELTA_GRPC" } else { "GRPC" }
    }

    /// Envoy's `ConfigSource` for a type: `ads`, or an `api_config_source` naming weir-cp.
    pub fn source(self) -> String {
        if self.per_type {
            format!(
                "{{ resource_api_version: V3, api_config_source: {{ api_type: {}, transport_api_version: V3, grpc_services: [ {{ envoy_grpc: {{ cluster_name: weir-cp }} }} ] }} }}",
                self.api_type()
            )
        } else {
            "{ ads: {}, resource_api_version: V3 }".to_string()
        }
    }

    /// weir.yaml's `xds` settings (after `cluster: weir-cp`) for `types` in this mode.
    pub fn weir_xds(self, types: &[&str]) -> String {
        let separate =
            if self.per_type { format!(", separate_streams: [{}]", types.join(", ")) } else { String::new() };
        format!("api_type: {}{separate}", self.api_type())
    }
}

/// What a proxy answered for one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// `x-shard-hosts` (`0,1,7`), empty when absent.
    pub hosts: String,
    /// `x-shard-config`, empty when absent.
    pub config: String,
}

impl Answer {
    /// The number of hosts in the shard.
    pub fn shard_size(&self) -> usize {
        self.hosts.split(',').filter(|h| !h.is_empty()).count()
    }
}

/// Asks the proxy at `addr` to route `GET /orders` for `customer`.
pub async fn ask(addr: SocketAddr, customer: &str) -> anyhow::Result<Answer> {
    let reply = client::send(addr, client::get("/orders", &[("x-customer-id", customer)])).await?;
    Ok(Answer {
        status: reply.status,
        hosts: reply.header("x-shard-hosts").unwrap_or_default().to_string(),
        config: reply.header("x-shard-config").unwrap_or_default().to_string(),
    })
}

/// Calls `check` until it returns `Some` (errors count as "not yet"), every `every`, for at
/// most `limit`; the error names `what` and the last error or value seen.
pub async fn poll<T, F, Fut>(what: &str, limit: Duration, every: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + limit;
    loop {
        let last = match check().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => "condition not met".to_string(),
            Err(e) => format!("{e:#}"),
        };
        if Instant::now() > deadline {
            bail!("{what}: not within {limit:?} (last: {last})");
        }
        tokio::time::sleep(every).await;
    }
}

/// Node `id` in a weir-cp `/status` document.
pub fn node<'a>(status: &'a Value, id: &str) -> Option<&'a Value> {
    status["nodes"].as_array()?.iter().find(|n| n["id"] == id)
}

/// Whether node `id` is connected and ACKed `version` of `kind` (`rtds`, `ecds`).
pub fn acked(status: &Value, id: &str, kind: &str, version: &str) -> bool {
    node(status, id)
        .is_some_and(|n| n["connected"] == true && n["types"][kind]["acked"]["version"] == version)
}

/// The nearest-rank percentile `p` (0–100) of `samples`.
pub fn percentile(samples: &[Duration], p: u32) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * p as usize).div_ceil(100).clamp(1, sorted.len());
    sorted[rank - 1]
}
