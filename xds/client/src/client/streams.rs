//! The gRPC streams of one connection to the control plane: the ADS stream, carrying every
//! type, and a stream of its own for each type configured to have one (Envoy's
//! `api_config_source` rather than `ads`), on that type's discovery service
//! (`/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters`, ...). They share the
//! HTTP/2 connection. A stream opens with its first request; when any stream ends the session
//! ends, and the client reconnects them all, announcing what it holds.

use std::collections::{BTreeSet, HashMap};
use std::pin::Pin;

use envoy_types::pb::envoy::service::discovery::v3::{DeltaDiscoveryRequest, DiscoveryRequest};
use http::uri::PathAndQuery;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt, StreamMap};
use tonic::transport::Channel;

use super::common::SessionError;
use crate::types;

/// A request of either form, which names its type.
pub(super) trait Typed: prost::Message + Default + Send + 'static {
    /// The type URL the request is about.
    fn type_url(&self) -> &str;
}

impl Typed for DiscoveryRequest {
    fn type_url(&self) -> &str {
        &self.type_url
    }
}

impl Typed for DeltaDiscoveryRequest {
    fn type_url(&self) -> &str {
        &self.type_url
    }
}

/// The stream a type travels on: `None` for ADS, else the type URL.
type Key = Option<String>;

/// One stream's responses, ended by the error saying why it ended.
type Responses<T> = Pin<Box<dyn Stream<Item = Result<T, SessionError>> + Send>>;

/// The streams of one session.
pub(super) struct Streams<Req, Resp> {
    grpc: tonic::client::Grpc<Channel>,
    endpoint: String,
    delta: bool,
    separate: BTreeSet<String>,
    senders: HashMap<Key, mpsc::Sender<Req>>,
    responses: StreamMap<Key, Responses<Resp>>,
}

impl<Req: Typed, Resp: prost::Message + Default + Send + 'static> Streams<Req, Resp> {
    /// No stream open yet; `separate` names the types with streams of their own.
    pub fn new(channel: Channel, endpoint: &str, delta: bool, separate: &BTreeSet<String>) -> Self {
        Streams {
            grpc: tonic::client::Grpc::new(channel).max_decoding_message_size(64 << 20),
            endpoint: endpoint.to_string(),
            delta,
            separate: separate.clone(),
            senders: HashMap::new(),
            responses: StreamMap::new(),
        }
    }

    fn failed(&self, reason: impl std::fmt::Display) -> SessionError {
        SessionError::Stream(self.endpoint.clone(), reason.to_string())
    }

    /// Sends `request` on its type's stream, opening that stream first if needed.
    pub async fn send(&mut self, request: Req) -> Result<(), SessionError> {
        let key = self.separate.contains(request.type_url()).then(|| request.type_url().to_string());
        if let Some(tx) = self.senders.get(&key) {
            return tx.send(request).await.map_err(|_| self.failed("request stream closed"));
        }
        let path = path(key.as_deref(), self.delta)
            .ok_or_else(|| self.failed(format!("no discovery service for {}", request.type_url())))?;
        let (tx, rx) = mpsc::channel::<Req>(16);
        // The first request goes out with the stream (the channel has room for it).
        let _ = tx.try_send(request);
        self.grpc.ready().await.map_err(|e| self.failed(e))?;
        let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
        let response = self
            .grpc
            .streaming(tonic::Request::new(ReceiverStream::new(rx)), path, codec)
            .await
            .map_err(|e| self.failed(e.message()))?;
        let (endpoint, closed) = (self.endpoint.clone(), self.endpoint.clone());
        let stream = response
            .into_inner()
            .map(move |r| r.map_err(|e| SessionError::Stream(endpoint.clone(), e.to_string())))
            .chain(tokio_stream::once(Err(SessionError::Closed(closed))));
        self.responses.insert(key.clone(), Box::pin(stream));
        self.senders.insert(key, tx);
        Ok(())
    }

    /// The next response on any stream; the error that ended a stream.
    pub async fn next(&mut self) -> Result<Resp, SessionError> {
        match self.responses.next().await {
            Some((_, item)) => item,
            // Nothing subscribed: nothing will come.
            None => std::future::pending().await,
        }
    }
}

/// The method of `type_url`'s discovery service (`None`: ADS), SotW or delta.
fn path(type_url: Option<&str>, delta: bool) -> Option<PathAndQuery> {
    let (service, resources) = match type_url {
        None => ("discovery.v3.AggregatedDiscoveryService", "AggregatedResources"),
        Some(types::RUNTIME) => ("runtime.v3.RuntimeDiscoveryService", "Runtime"),
        Some(types::EXTENSION_CONFIG) => ("extension.v3.ExtensionConfigDiscoveryService", "ExtensionConfigs"),
        Some(types::SECRET) => ("secret.v3.SecretDiscoveryService", "Secrets"),
        Some(types::LISTENER) => ("listener.v3.ListenerDiscoveryService", "Listeners"),
        Some(types::ROUTE) => ("route.v3.RouteDiscoveryService", "Routes"),
        Some(types::CLUSTER) => ("cluster.v3.ClusterDiscoveryService", "Clusters"),
        Some(types::ENDPOINT) => ("endpoint.v3.EndpointDiscoveryService", "Endpoints"),
        Some(_) => return None,
    };
    let form = if delta { "Delta" } else { "Stream" };
    PathAndQuery::try_from(format!("/envoy.service.{service}/{form}{resources}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_its_service_in_both_forms() {
        assert_eq!(
            path(None, false).unwrap(),
            "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"
        );
        assert_eq!(
            path(Some(types::CLUSTER), true).unwrap(),
            "/envoy.service.cluster.v3.ClusterDiscoveryService/DeltaClusters"
        );
        assert_eq!(
            path(Some(types::RUNTIME), false).unwrap(),
            "/envoy.service.runtime.v3.RuntimeDiscoveryService/StreamRuntime"
        );
        assert!(path(Some("type.googleapis.com/x"), false).is_none());
    }
}
