//! What the simulated nodes subscribe to and what a push changes. `rtds`: one runtime layer,
//! pushed through `PUT /runtime/{layer}/fleet.push`. `full`: a whole data plane as a proxy
//! holds it — one listener (LDS, routes by RDS), one route configuration, `clusters` EDS
//! clusters (CDS) with `endpoints` endpoints each (EDS) — plus the runtime layer, on one ADS
//! stream; a push applies the endpoints again with cluster 0's first endpoint carrying the
//! marker in its metadata (`filter_metadata.fleet.push`), so one `ClusterLoadAssignment`
//! changes, as when a service scales.

use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::service::runtime::v3::Runtime;
use envoy_types::pb::google::protobuf::value::Kind;
use envoy_types::pb::google::protobuf::{Any, Struct};
use prost::Message;
use serde_json::{Value, json};
use weir_xds::types::{CLUSTER, ENDPOINT, LISTENER, ROUTE, RUNTIME};

/// The route configuration's name.
const ROUTES: &str = "fleet-routes";

/// What the nodes hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// One RTDS layer.
    Rtds,
    /// LDS, RDS, CDS and EDS, plus the RTDS layer.
    Full,
}

/// The shape of the data plane in `full` mode.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Clusters (and `ClusterLoadAssignment`s).
    pub clusters: usize,
    /// Endpoints per cluster.
    pub endpoints: usize,
}

/// One type a node subscribes to: its type URL and names (none: wildcard).
#[derive(Debug, Clone)]
pub struct Subscription {
    /// The type URL.
    pub type_url: &'static str,
    /// Resource names; empty for a wildcard (LDS, CDS).
    pub names: Vec<String>,
}

fn cluster(i: usize) -> String {
    format!("fleet-c{i}")
}

/// What every node subscribes to, in the order it asks.
pub fn subscriptions(mode: Mode, layer: &str, shape: Shape) -> Vec<Subscription> {
    let runtime = Subscription { type_url: RUNTIME, names: vec![layer.to_string()] };
    match mode {
        Mode::Rtds => vec![runtime],
        Mode::Full => vec![
            Subscription { type_url: LISTENER, names: vec![] },
            Subscription { type_url: CLUSTER, names: vec![] },
            Subscription { type_url: ROUTE, names: vec![ROUTES.into()] },
            Subscription { type_url: ENDPOINT, names: (0..shape.clusters).map(cluster).collect() },
            runtime,
        ],
    }
}

/// The `endpoints` list of a resource file, cluster 0's first endpoint marked `marker`.
pub fn endpoints(shape: Shape, marker: u64) -> Value {
    let assignment = |i: usize| {
        let lb_endpoints: Vec<Value> = (0..shape.endpoints)
            .map(|j| {
                let mut e = json!({"endpoint": {"address": {"socket_address": {
                    "address": format!("10.{}.{}.{}", i % 250, j / 250, j % 250 + 1), "port_value": 8080}}}});
                if i == 0 && j == 0 {
                    e["metadata"] = json!({"filter_metadata": {"fleet": {"push": marker}}});
                }
                e
            })
            .collect();
        json!({"cluster_name": cluster(i), "endpoints": [{"lb_endpoints": lb_endpoints}]})
    };
    Value::Array((0..shape.clusters).map(assignment).collect())
}

/// The whole resource file of `full` mode (`POST /apply`).
pub fn resources(shape: Shape, marker: u64) -> Value {
    let ads = json!({"ads": {}, "resource_api_version": "V3"});
    let hcm = json!({
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "fleet",
        "rds": {"route_config_name": ROUTES, "config_source": ads},
        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
    });
    let routes: Vec<Value> = (0..shape.clusters)
        .map(|i| json!({"match": {"prefix": format!("/c{i}/")}, "route": {"cluster": cluster(i)}}))
        .collect();
    let clusters: Vec<Value> = (0..shape.clusters)
        .map(|i| {
            json!({"name": cluster(i), "type": "EDS", "connect_timeout": "1s",
                   "eds_cluster_config": {"eds_config": ads}})
        })
        .collect();
    json!({
        "listeners": [{"name": "fleet",
            "address": {"socket_address": {"address": "0.0.0.0", "port_value": 10000}},
            "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}]}],
        "routes": [{"name": ROUTES, "virtual_hosts": [{"name": "all", "domains": ["*"], "routes": routes}]}],
        "clusters": clusters,
        "endpoints": endpoints(shape, marker),
    })
}

/// The push marker a resource carries, if any: `fleet.push` in a runtime layer (flat key or
/// nested), or `filter_metadata.fleet.push` of a `ClusterLoadAssignment`'s first endpoint.
pub fn marker(type_url: &str, any: &Any) -> Option<u64> {
    match type_url {
        RUNTIME => {
            let layer = Runtime::decode(any.value.as_slice()).ok()?.layer?;
            number(&layer, "fleet.push").or_else(|| nested(&layer, "fleet"))
        }
        ENDPOINT => {
            let assignment = ClusterLoadAssignment::decode(any.value.as_slice()).ok()?;
            let first = assignment.endpoints.first()?.lb_endpoints.first()?;
            number(first.metadata.as_ref()?.filter_metadata.get("fleet")?, "push")
        }
        _ => None,
    }
}

fn number(s: &Struct, key: &str) -> Option<u64> {
    match s.fields.get(key)?.kind.as_ref()? {
        Kind::NumberValue(n) => Some(*n as u64),
        _ => None,
    }
}

/// `s[key].push`.
fn nested(s: &Struct, key: &str) -> Option<u64> {
    match s.fields.get(key)?.kind.as_ref()? {
        Kind::StructValue(inner) => number(inner, "push"),
        _ => None,
    }
}
