//! The gRPC services: ADS (every type on one stream), RTDS, ECDS and SDS (one type each), all on the
//! same state. State of the world only: the delta methods answer `UNIMPLEMENTED`.

use std::collections::BTreeSet;
use std::sync::Arc;

use envoy_types::pb::envoy::config::core::v3::ControlPlane;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_server::AggregatedDiscoveryService;
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use envoy_types::pb::envoy::service::extension::v3::extension_config_discovery_service_server::ExtensionConfigDiscoveryService;
use envoy_types::pb::envoy::service::runtime::v3::runtime_discovery_service_server::RuntimeDiscoveryService;
use envoy_types::pb::envoy::service::secret::v3::secret_discovery_service_server::SecretDiscoveryService;
use tokio::sync::watch;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::identity::{NodeIdentity, PeerTls};
use super::kind::Kind;
use super::session::{self, PeerAddr, ResponseStream};
use super::shared::Shared;

/// The delta streams' type (never produced).
type DeltaStream = ReceiverStream<Result<DeltaDiscoveryResponse, Status>>;

/// Implements the four discovery services.
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

    fn stream(
        &self,
        only: Option<Kind>,
        request: Request<Streaming<DiscoveryRequest>>,
    ) -> Response<ResponseStream> {
        let peer =
            request.extensions().get::<PeerAddr>().map_or_else(|| "unknown".to_string(), |p| p.0.to_string());
        let tls = request.extensions().get::<PeerTls>().cloned();
        let inbound = request.into_inner();
        let identity = (self.identity, tls);
        Response::new(session::spawn(
            self.shared.clone(),
            only,
            peer,
            identity,
            inbound,
            self.shutdown.clone(),
        ))
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
        let names: BTreeSet<String> = request.resource_names.into_iter().collect();
        let selection = self.shared.store.select(kind, &names);
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

fn no_delta() -> Status {
    Status::unimplemented("weir-cp serves state-of-the-world xDS only; delta xDS is not implemented")
}

#[tonic::async_trait]
impl AggregatedDiscoveryService for Services {
    type StreamAggregatedResourcesStream = ResponseStream;
    type DeltaAggregatedResourcesStream = DeltaStream;

    async fn stream_aggregated_resources(
        &self,
        request: Request<Streaming<DiscoveryRequest>>,
    ) -> Result<Response<ResponseStream>, Status> {
        Ok(self.stream(None, request))
    }

    async fn delta_aggregated_resources(
        &self,
        _request: Request<Streaming<DeltaDiscoveryRequest>>,
    ) -> Result<Response<DeltaStream>, Status> {
        Err(no_delta())
    }
}

#[tonic::async_trait]
impl RuntimeDiscoveryService for Services {
    type StreamRuntimeStream = ResponseStream;
    type DeltaRuntimeStream = DeltaStream;

    async fn stream_runtime(
        &self,
        request: Request<Streaming<DiscoveryRequest>>,
    ) -> Result<Response<ResponseStream>, Status> {
        Ok(self.stream(Some(Kind::Rtds), request))
    }

    async fn delta_runtime(
        &self,
        _request: Request<Streaming<DeltaDiscoveryRequest>>,
    ) -> Result<Response<DeltaStream>, Status> {
        Err(no_delta())
    }

    async fn fetch_runtime(
        &self,
        request: Request<DiscoveryRequest>,
    ) -> Result<Response<DiscoveryResponse>, Status> {
        self.fetch(Kind::Rtds, request)
    }
}

#[tonic::async_trait]
impl ExtensionConfigDiscoveryService for Services {
    type StreamExtensionConfigsStream = ResponseStream;
    type DeltaExtensionConfigsStream = DeltaStream;

    async fn stream_extension_configs(
        &self,
        request: Request<Streaming<DiscoveryRequest>>,
    ) -> Result<Response<ResponseStream>, Status> {
        Ok(self.stream(Some(Kind::Ecds), request))
    }

    async fn delta_extension_configs(
        &self,
        _request: Request<Streaming<DeltaDiscoveryRequest>>,
    ) -> Result<Response<DeltaStream>, Status> {
        Err(no_delta())
    }

    async fn fetch_extension_configs(
        &self,
        request: Request<DiscoveryRequest>,
    ) -> Result<Response<DiscoveryResponse>, Status> {
        self.fetch(Kind::Ecds, request)
    }
}

#[tonic::async_trait]
impl SecretDiscoveryService for Services {
    type StreamSecretsStream = ResponseStream;
    type DeltaSecretsStream = DeltaStream;

    async fn stream_secrets(
        &self,
        request: Request<Streaming<DiscoveryRequest>>,
    ) -> Result<Response<ResponseStream>, Status> {
        Ok(self.stream(Some(Kind::Sds), request))
    }

    async fn delta_secrets(
        &self,
        _request: Request<Streaming<DeltaDiscoveryRequest>>,
    ) -> Result<Response<DeltaStream>, Status> {
        Err(no_delta())
    }

    async fn fetch_secrets(
        &self,
        request: Request<DiscoveryRequest>,
    ) -> Result<Response<DiscoveryResponse>, Status> {
        self.fetch(Kind::Sds, request)
    }
}
