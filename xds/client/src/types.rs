//! Resource type URLs.

/// RTDS: `envoy.service.runtime.v3.Runtime` (one resource per runtime layer).
pub const RUNTIME: &str = "type.googleapis.com/envoy.service.runtime.v3.Runtime";

/// ECDS: `envoy.config.core.v3.TypedExtensionConfig` (a filter's configuration by name).
pub const EXTENSION_CONFIG: &str = "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig";

/// The Wasm HTTP filter configuration carried in ECDS resources.
pub const WASM_FILTER: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";

/// SDS: `envoy.extensions.transport_sockets.tls.v3.Secret` (TLS certificates and CA bundles
/// by name).
pub const SECRET: &str = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

/// LDS: `envoy.config.listener.v3.Listener` (wildcard: every listener of the node).
pub const LISTENER: &str = "type.googleapis.com/envoy.config.listener.v3.Listener";

/// RDS: `envoy.config.route.v3.RouteConfiguration` (by name, as listeners ask).
pub const ROUTE: &str = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";

/// CDS: `envoy.config.cluster.v3.Cluster` (wildcard: every cluster of the node).
pub const CLUSTER: &str = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

/// EDS: `envoy.config.endpoint.v3.ClusterLoadAssignment` (by service name, as clusters ask).
pub const ENDPOINT: &str = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

/// Whether a subscription to `type_url` with no names means every resource (LDS and CDS, as
/// in the xDS protocol); for other types it means none.
pub fn wildcard(type_url: &str) -> bool {
    type_url == LISTENER || type_url == CLUSTER
}
