//! Kubernetes Gateway API, without a cluster: manifests (`GatewayClass`, `Gateway`,
//! `HTTPRoute`, `ReferenceGrant`, `Service`, `EndpointSlice`, `Namespace`) in, Envoy listeners,
//! route configurations, clusters and endpoints out — one set per `Gateway` of ours — with the
//! status conditions the spec defines (`Accepted`, `ResolvedRefs`, `Programmed`, ...).
//!
//! The types are the `gateway-api` crate's (kube-rs's bindings generated from the upstream
//! CRDs, standard channel) and `k8s-openapi`'s; weir-cp serves the result over xDS to Envoy
//! and weir alike. Pure: no I/O, no clock.
//!
//! ```text
//! Manifests::parse(text) ─► translate(&manifests) ─► Translation { gateways, status }
//! ```

mod attach;
mod backends;
mod conditions;
mod envoy;
mod error;
mod filters;
mod gateways;
mod hostname;
mod key;
mod limits;
mod manifests;
mod matches;
mod output;
mod plugins;
mod translate;

pub use conditions::{
    Condition, GatewayClassStatus, GatewayStatus, ListenerStatus, RouteParentStatus, RouteStatus, Status,
};
pub use error::ManifestError;
pub use key::Key;
pub use manifests::{MAX_DOCUMENTS, Manifests};
pub use plugins::{FailurePolicy, PluginStatus, TargetRef, WasmPlugin, WasmPluginSpec};
pub use translate::{GatewayResources, Translation, translate};

/// The `controllerName` a `GatewayClass` names for weir-cp to take its Gateways.
pub const CONTROLLER_NAME: &str = "weir.dev/gateway-controller";

/// The API group of the Gateway API resources.
pub const GROUP: &str = "gateway.networking.k8s.io";
