//! The gRPC services: ADS (every type on one stream) and the per-type services (RTDS, ECDS, SDS,
//! CDS, EDS, LDS, RDS), all on the same state, each in state-of-the-world and delta form.

use std::collections::BTreeSet;
use std::sync::Arc;

use envoy_types::pb::envoy::config::core::v3::ControlPlane;
use envoy_types::pb::envoy::service::cluster::v3::cluster_discovery_service_server::ClusterDiscoveryService;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_server::AggregatedDiscoveryService;
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use envoy_types::pb::envoy::service::endpoint::v3::endpoint_discovery_service_server::EndpointDiscoveryService;
use envoy_types::pb::envoy::service::extension::v3::extension_config_discovery_service_server::ExtensionConfigDiscoveryService;
use envoy_types::pb::envoy::service::listener::v3::listener_discovery_service_server::ListenerDiscoveryService;
use envoy_types::pb::envoy::service::route::v3::route_discovery_service_server::RouteDiscoveryService;
use envoy_types::pb::envoy::service::runtime::v3::runtime_discovery_service_server::RuntimeDiscoveryService;
use envoy_types::pb::envoy::service::secret::v3::secret_discovery_service_server::SecretDiscoveryService;
use tokio::sync::watch;
use tonic::{Request, Response, Status, Streaming};

use super::delta::DeltaState;
use super::identity::{NodeIdentity, PeerTls};
use super::kind::Kind;
use super::session::{self, PeerAddr, Protocol, ResponseStream};
use super::shared::Shared;
use super::stream::StreamState;
use crate::groups::NodeFacts;

/// A state-of-the-world stream's responses.
type SotwStream = ResponseStream<DiscoveryResponse>;
/// A delta stream's responses.
type DeltaStream = ResponseStream<DeltaDiscoveryResponse>;

/// Implements the discovery services.
#[derive(Debug, Clone)]
pub struct Services {
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
    identity: NodeIdentity,
}

impl Services {
    /// Services over `shared`, whose streams end when `shutdown` turns true.
    pub fn new(shared: Arc<Shared>, shutdown: watch::Receiver<bool>, identity: NodeIdentity) -> Services {
        Services { shared, shutdown, identity }
    }

    /// A stream served with the protocol `state` makes from the peer's address.
    fn serve<P: Protocol>(
        &self,
        request: Request<Streaming<P::Request>>,
        state: impl FnOnce(String) -> P,
    ) -> Response<ResponseStream<P::Response>> {
        let peer =
            request.extensions().get::<PeerAddr>().map_or_else(|| "unknown".to_string(), |p| p.0.to_string());
        let tls = request.extensions().get::<PeerTls>().cloned();
        let inbound = request.into_inner();
        let identity = (self.identity, tls);
        Response::new(session::spawn(
            self.shared.clone(),
            state(peer),
            identity,
            inbound,
            self.shutdown.clone(),
        ))
    }

    fn stream(
        &self,
        only: Option<Kind>,
        request: Request<Streaming<DiscoveryRequest>>,
    ) -> Response<SotwStream> {
        self.serve(request, |peer| StreamState::new(only, peer))
    }

    fn delta(
        &self,
        only: Option<Kind>,
        request: Request<Streaming<DeltaDiscoveryRequest>>,
    ) -> Response<DeltaStream> {
        self.serve(request, |peer| DeltaState::new(only, peer))
    }

    /// Unary fetch (`Fetch*` methods): the current state, no tracking.
    fn fetch(
        &self,
        kind: Kind,
        request: Request<DiscoveryRequest>,
    ) -> Result<Response<DiscoveryResponse>, Status> {
        let tls = request.extensions().get::<PeerTls>().cloned();
        let request = request.into_inner();
        let node_id = request.node.as_ref().map_or("", |n| n.id.as_str());
        self.identity.check(node_id, tls.as_ref())?;
        if !request.type_url.is_empty() && Kind::from_type_url(&request.type_url) != Some(kind) {
            return Err(Status::invalid_argument(format!("this service serves {}", kind.type_url())));
        }
        let group = self.shared.store.group_of(&NodeFacts::of(node_id, request.node.as_ref()));
        let names: BTreeSet<String> = request.resource_names.into_iter().collect();
        let selection = self.shared.store.select(kind, &names, group.as_deref());
        Ok(Response::new(DiscoveryResponse {
            version_info: selection.version.to_string(),
            resources: selection.resources,
            type_url: kind.type_url().to_string(),
            nonce: self.shared.nonce(),
            control_plane: Some(ControlPlane { identifier: self.shared.identifier.clone() }),
            ..DiscoveryResponse::default()
        }))
    }
}

#[tonic::async_trait]
impl AggregatedDiscoveryService for Services {
    type StreamAggregatedResourcesStream = SotwStream;
    type DeltaAggregatedResourcesStream = DeltaStream;

    async fn stream_aggregated_resources(
        &self,
        request: Request<Streaming<DiscoveryRequest>>,
    ) -> Result<Response<SotwStream>, Status> {
        Ok(self.stream(None, request))
    }

    async fn delta_aggregated_resources(
        &self,
        request: Request<Streaming<DeltaDiscoveryRequest>>,
    ) -> Result<Response<DeltaStream>, Status> {
        Ok(self.delta(None, request))
    }
}

/// Implements a per-type discovery service (its SotW stream, delta stream and fetch) serving
/// `kind` alone.
macro_rules! per_type_service {
    ($service:ident, $kind:expr, $stream_type:ident, $delta_type:ident, $stream:ident, $delta:ident, $fetch:ident) => {
        #[tonic::async_trait]
        impl $service for Services {
            type $stream_type = SotwStream;
            type $delta_type = DeltaStream;

            async fn $stream(
                &self,
                request: Request<Streaming<DiscoveryRequest>>,
            ) -> Result<Response<SotwStream>, Status> {
                Ok(self.stream(Some($kind), request))
            }

            async fn $delta(
                &self,
                request: Request<Streaming<DeltaDiscoveryRequest>>,
            ) -> Result<Response<DeltaStream>, Status> {
                Ok(self.delta(Some($kind), request))
            }

            async fn $fetch(
                &self,
                request: Request<DiscoveryRequest>,
            ) -> Result<Response<DiscoveryResponse>, Status> {
                self.fetch($kind, request)
            }
        }
    };
}

per_type_service!(
    RuntimeDiscoveryService,
    Kind::Rtds,
    StreamRuntimeStream,
    DeltaRuntimeStream,
    stream_runtime,
    delta_runtime,
    fetch_runtime
);
per_type_service!(
    ExtensionConfigDiscoveryService,
    Kind::Ecds,
    StreamExtensionConfigsStream,
    DeltaExtensionConfigsStream,
    stream_extension_configs,
    delta_extension_configs,
    fetch_extension_configs
);
per_type_service!(
    SecretDiscoveryService,
    Kind::Sds,
    StreamSecretsStream,
    DeltaSecretsStream,
    stream_secrets,
    delta_secrets,
    fetch_secrets
);
per_type_service!(
    ClusterDiscoveryService,
    Kind::Cds,
    StreamClustersStream,
    DeltaClustersStream,
    stream_clusters,
    delta_clusters,
    fetch_clusters
);
per_type_service!(
    EndpointDiscoveryService,
    Kind::Eds,
    StreamEndpointsStream,
    DeltaEndpointsStream,
    stream_endpoints,
    delta_endpoints,
    fetch_endpoints
);
per_type_service!(
    ListenerDiscoveryService,
    Kind::Lds,
    StreamListenersStream,
    DeltaListenersStream,
    stream_listeners,
    delta_listeners,
    fetch_listeners
);
per_type_service!(
    RouteDiscoveryService,
    Kind::Rds,
    StreamRoutesStream,
    DeltaRoutesStream,
    stream_routes,
    delta_routes,
    fetch_routes
);
