//! One simulated node: an ADS stream (SotW or Delta) subscribed as weir and Envoy subscribe —
//! to one RTDS layer, or to a whole data plane (LDS, CDS, RDS, EDS and RTDS; see
//! [`crate::snapshot`]). It ACKs every response, is ready once every type has answered,
//! records every push marker it receives, and ends when told to stop.

use std::sync::Arc;

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{DeltaDiscoveryRequest, DiscoveryRequest};
use envoy_types::pb::google::protobuf::Any;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use crate::snapshot::{self, Subscription};
use crate::tracker::Tracker;
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
    subscriptions: Arc<[Subscription]>,
    tracker: Arc<Tracker>,
    mut stop: watch::Receiver<bool>,
) {
    let result = tokio::select! {
        result = serve(channel, &who, protocol, &subscriptions, &tracker) => result,
        _ = stop.wait_for(|s| *s) => Ok(()),
    };
    if result.is_err() {
        tracker.errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

fn node(id: &str) -> Option<Node> {
    Some(Node { id: id.to_string(), cluster: "fleet".into(), ..Node::default() })
}

/// Which subscription a response's type URL answers.
fn position(subscriptions: &[Subscription], type_url: &str) -> Option<usize> {
    subscriptions.iter().position(|s| s.type_url == type_url)
}

async fn serve(
    channel: Channel,
    who: &Identity,
    protocol: Protocol,
    subscriptions: &[Subscription],
    tracker: &Tracker,
) -> Result<(), tonic::Status> {
    let mut client = AggregatedDiscoveryServiceClient::new(channel);
    // One bit per subscription that has answered; ready when all have.
    let (mut answered, all) = (0u64, (1u64 << subscriptions.len()) - 1);
    let mut on_response = |type_url: &str, resources: &mut dyn Iterator<Item = &Any>| {
        tracker.responses.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if answered != all {
            answered |= position(subscriptions, type_url).map_or(0, |i| 1 << i);
            if answered == all {
                tracker.ready(who.index, who.round);
            }
        }
        for any in resources {
            if let Some(marker) = snapshot::marker(type_url, any) {
                tracker.pushed(who.index, marker);
            }
        }
    };
    let buffer = subscriptions.len() + 4;
    match protocol {
        Protocol::Sotw => {
            let (tx, rx) = mpsc::channel(buffer);
            let request =
                |sub: &Subscription, version: String, nonce: String, first: bool| DiscoveryRequest {
                    version_info: version,
                    node: first.then(|| node(&who.node)).flatten(),
                    resource_names: sub.names.clone(),
                    type_url: sub.type_url.into(),
                    response_nonce: nonce,
                    ..DiscoveryRequest::default()
                };
            for (i, sub) in subscriptions.iter().enumerate() {
                let _ = tx.send(request(sub, String::new(), String::new(), i == 0)).await;
            }
            let mut responses =
                client.stream_aggregated_resources(ReceiverStream::new(rx)).await?.into_inner();
            while let Some(response) = responses.message().await? {
                on_response(&response.type_url, &mut response.resources.iter());
                if let Some(i) = position(subscriptions, &response.type_url) {
                    let ack = request(&subscriptions[i], response.version_info, response.nonce, false);
                    let _ = tx.send(ack).await;
                }
            }
        }
        Protocol::Delta => {
            let (tx, rx) = mpsc::channel(buffer);
            for (i, sub) in subscriptions.iter().enumerate() {
                let _ = tx
                    .send(DeltaDiscoveryRequest {
                        node: (i == 0).then(|| node(&who.node)).flatten(),
                        type_url: sub.type_url.into(),
                        resource_names_subscribe: sub.names.clone(),
                        ..DeltaDiscoveryRequest::default()
                    })
                    .await;
            }
            let mut responses =
                client.delta_aggregated_resources(ReceiverStream::new(rx)).await?.into_inner();
            while let Some(response) = responses.message().await? {
                on_response(
                    &response.type_url,
                    &mut response.resources.iter().filter_map(|r| r.resource.as_ref()),
                );
                let ack = DeltaDiscoveryRequest {
                    type_url: response.type_url,
                    response_nonce: response.nonce,
                    ..DeltaDiscoveryRequest::default()
                };
                let _ = tx.send(ack).await;
            }
        }
    }
    Err(tonic::Status::unavailable("the server ended the stream"))
}
