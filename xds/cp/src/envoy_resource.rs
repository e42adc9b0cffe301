//! Envoy resources weir-cp holds as operators write them (Envoy's YAML/JSON shape: a
//! `Cluster`, a `ClusterLoadAssignment`, a `RouteConfiguration`, a `Listener`), checked against Envoy's protos when given and kept
//! packed for serving. Persisted as their JSON.

use std::marker::PhantomData;

use envoy_types::pb::envoy::config::cluster::v3::Cluster;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use envoy_types::pb::google::protobuf::Any;
use prost::{Message, Name};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use weir_xds::convert::envoy_json::{JsonError, from_json};
use weir_xds::convert::pack;

use crate::kind::Kind;

/// Largest resource (its JSON text), in bytes.
pub const MAX_RESOURCE_BYTES: usize = 1024 * 1024;

/// A message with a name that identifies it in xDS.
pub trait Named: Message + Name + Default + Clone {
    /// The xDS resource name.
    fn resource_name(&self) -> &str;
}

impl Named for Cluster {
    fn resource_name(&self) -> &str {
        &self.name
    }
}

impl Named for Listener {
    fn resource_name(&self) -> &str {
        &self.name
    }
}

impl Named for RouteConfiguration {
    fn resource_name(&self) -> &str {
        &self.name
    }
}

impl Named for ClusterLoadAssignment {
    fn resource_name(&self) -> &str {
        &self.cluster_name
    }
}

/// One resource: its JSON as given and the packed proto.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "Value", into = "Value", bound = "M: Named")]
pub struct EnvoyResource<M> {
    json: Value,
    name: String,
    packed: Any,
    message: PhantomData<M>,
}

impl<M> PartialEq for EnvoyResource<M> {
    fn eq(&self, other: &Self) -> bool {
        self.json == other.json
    }
}

impl<M: Named> EnvoyResource<M> {
    /// Parses and checks `json` as an `M` (unknown fields and types refused, with the path).
    pub fn parse(json: Value) -> Result<Self, JsonError> {
        let size = serde_json::to_vec(&json).map_or(usize::MAX, |v| v.len());
        if size > MAX_RESOURCE_BYTES {
            return Err(JsonError {
                path: String::new(),
                reason: format!("larger than {MAX_RESOURCE_BYTES} bytes"),
            });
        }
        let message: M = from_json(&json)?;
        let name = message.resource_name().to_string();
        if name.is_empty() {
            return Err(JsonError { path: String::new(), reason: format!("a {} needs a name", M::NAME) });
        }
        Ok(EnvoyResource { json, name, packed: pack(&message), message: PhantomData })
    }
}

impl<M> EnvoyResource<M> {
    /// The xDS resource name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// As served.
    pub fn packed(&self) -> &Any {
        &self.packed
    }

    /// As given.
    pub fn json(&self) -> &Value {
        &self.json
    }
}

impl<M: Named> TryFrom<Value> for EnvoyResource<M> {
    type Error = JsonError;

    fn try_from(json: Value) -> Result<Self, JsonError> {
        EnvoyResource::parse(json)
    }
}

impl<M> From<EnvoyResource<M>> for Value {
    fn from(resource: EnvoyResource<M>) -> Value {
        resource.json
    }
}

/// A cluster (CDS).
pub type ClusterResource = EnvoyResource<Cluster>;
/// A cluster's endpoints (EDS).
pub type EndpointsResource = EnvoyResource<ClusterLoadAssignment>;
/// A route configuration (RDS).
pub type RouteResource = EnvoyResource<RouteConfiguration>;
/// A listener (LDS).
pub type ListenerResource = EnvoyResource<Listener>;

/// What a resource file holds: each list given replaces its whole type.
#[derive(Debug, Default)]
pub struct ResourceSet {
    /// Clusters (CDS).
    pub clusters: Option<Vec<ClusterResource>>,
    /// Endpoints (EDS).
    pub endpoints: Option<Vec<EndpointsResource>>,
    /// Route configurations (RDS).
    pub routes: Option<Vec<RouteResource>>,
    /// Listeners (LDS).
    pub listeners: Option<Vec<ListenerResource>>,
}

impl ResourceSet {
    /// The kinds of its lists, in order: clusters, endpoints, routes, listeners.
    pub const KINDS: [Kind; 4] = [Kind::Cds, Kind::Eds, Kind::Rds, Kind::Lds];
    /// The keys of its lists in a resource file, in the same order.
    pub const KEYS: [&'static str; 4] = ["clusters", "endpoints", "routes", "listeners"];
}

/// An assignment of one endpoint, `10.0.0.1:port`, for cluster `name` (tests).
#[cfg(test)]
pub(crate) fn test_assignment(name: &str, port: u16) -> EndpointsResource {
    let json = serde_json::json!({"cluster_name": name, "endpoints": [{"lb_endpoints": [
        {"endpoint": {"address": {"socket_address": {"address": "10.0.0.1", "port_value": port}}}}]}]});
    EnvoyResource::parse(json).unwrap_or_else(|e| panic!("a test assignment: {e}"))
}
