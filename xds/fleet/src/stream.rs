//! One simulated node: an ADS stream (SotW or Delta) subscribed to one RTDS layer, as weir and
//! Envoy subscribe. It ACKs every response, records its first response (ready) and every push
//! marker (`fleet.push` in the layer), and ends when told to stop.

use std::sync::Arc;

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{DeltaDiscoveryRequest, DiscoveryRequest};
use envoy_types::pb::envoy::service::runtime::v3::Runtime;
use envoy_types::pb::google::protobuf::value::Kind;
use envoy_types::pb::google::protobuf::{Any, Struct};
use prost::Message;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use crate::tracker::Tracker;

/// RTDS's type URL.
pub const RUNTIME: &str = "type.googleapis.com/envoy.service.runtime.v3.Runtime";

/// The ADS protocol variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// State of the world.
    Sotw,
    /// Incremental (Delta).
    Delta,
}

/// Who a stream is.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Its slot in the tracker.
    pub index: usize,
    /// Its node id.
    pub node: String,
    /// The connect round it belongs to.
    pub round: u64,
}

/// Runs one stream until `stop` or the server ends it.
pub async fn run(
    channel: Channel,
    who: Identity,
    protocol: Protocol,
    layer: Arc<str>,
    tracker: Arc<Tracker>,
    mut stop: watch::Receiver<bool>,
) {
    let result = tokio::select! {
        result = serve(channel, &who, protocol, &layer, &tracker) => result,
        _ = stop.wait_for(|s| *s) => Ok(()),
    };
    if result.is_err() {
        tracker.errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

fn node(id: &str) -> Option<Node> {
    Some(Node { id: id.to_string(), cluster: "fleet".into(), ..Node::default() })
}

async fn serve(
    channel: Channel,
    who: &Identity,
    protocol: Protocol,
    layer: &str,
    tracker: &Tracker,
) -> Result<(), tonic::Status> {
    let mut client = AggregatedDiscoveryServiceClient::new(channel);
    let mut first = true;
    let mut on_layers = |resources: &mut dyn Iterator<Item = &Any>| {
        tracker.responses.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if first {
            tracker.ready(who.index, who.round);
            first = false;
        }
        for any in resources {
            if let Some(marker) = marker(any) {
                tracker.pushed(who.index, marker);
            }
        }
    };
    match protocol {
        Protocol::Sotw => {
            let (tx, rx) = mpsc::channel(4);
            let request = |version: String, nonce: String| DiscoveryRequest {
                version_info: version,
                node: node(&who.node),
                resource_names: vec![layer.to_string()],
                type_url: RUNTIME.into(),
                response_nonce: nonce,
                ..DiscoveryRequest::default()
            };
            let _ = tx.send(request(String::new(), String::new())).await;
            let mut responses =
                client.stream_aggregated_resources(ReceiverStream::new(rx)).await?.into_inner();
            while let Some(response) = responses.message().await? {
                on_layers(&mut response.resources.iter());
                let _ = tx.send(request(response.version_info, response.nonce)).await;
            }
        }
        Protocol::Delta => {
            let (tx, rx) = mpsc::channel(4);
            let _ = tx
                .send(DeltaDiscoveryRequest {
                    node: node(&who.node),
                    type_url: RUNTIME.into(),
                    resource_names_subscribe: vec![layer.to_string()],
                    ..DeltaDiscoveryRequest::default()
                })
                .await;
            let mut responses =
                client.delta_aggregated_resources(ReceiverStream::new(rx)).await?.into_inner();
            while let Some(response) = responses.message().await? {
                on_layers(&mut response.resources.iter().filter_map(|r| r.resource.as_ref()));
                let ack = DeltaDiscoveryRequest {
                    type_url: RUNTIME.into(),
                    response_nonce: response.nonce,
                    ..DeltaDiscoveryRequest::default()
                };
                let _ = tx.send(ack).await;
            }
        }
    }
    Err(tonic::Status::unavailable("the server ended the stream"))
}

/// The `fleet.push` number in a runtime layer (flat key or nested), if any.
fn marker(any: &Any) -> Option<u64> {
    let layer = Runtime::decode(any.value.as_slice()).ok()?.layer?;
    let number = |s: &Struct, key: &str| match s.fields.get(key)?.kind.as_ref()? {
        Kind::NumberValue(n) => Some(*n as u64),
        Kind::StructValue(inner) => match inner.fields.get("push")?.kind.as_ref()? {
            Kind::NumberValue(n) => Some(*n as u64),
            _ => None,
        },
        _ => None,
    };
    number(&layer, "fleet.push").or_else(|| number(&layer, "fleet"))
}
