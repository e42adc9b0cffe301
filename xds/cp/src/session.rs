//! One xDS stream as a task: reads requests, wakes on state changes, ends when the client goes
//! away or weir-cp shuts down (then with `UNAVAILABLE`, so clients reconnect elsewhere or
//! later). The same task serves both protocols ([`Protocol`]): state of the world
//! ([`StreamState`]) and delta ([`DeltaState`]).

use std::sync::Arc;
use std::time::Instant;

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use tokio::sync::{mpsc, watch};
use tonic::{Status, Streaming};
use tracing::{debug, warn};

use super::delta::DeltaState;
use super::identity::{NodeIdentity, PeerTls};
use super::peer::Peer;
use super::shared::{Shared, stopped};
use super::stream::StreamState;

/// The response stream handed to tonic. Responses wait in the channel boxed: the channel
/// allocates its slots in blocks of 32 when created, and a slot of a boxed response takes 16
/// bytes where an unboxed one takes 152–192, about 5 KiB saved per stream.
pub struct ResponseStream<R> {
    rx: mpsc::Receiver<Result<Box<R>, Status>>,
}

impl<R> tokio_stream::Stream for ResponseStream<R> {
    type Item = Result<R, Status>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx).map(|item| item.map(|response| response.map(|boxed| *boxed)))
    }
}

/// The peer address of a connection, put in request extensions by the gRPC server.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub std::net::SocketAddr);

/// The protocol of one stream, as the task drives it.
pub trait Protocol: Send + 'static {
    /// What the client sends.
    type Request: Send + 'static;
    /// What weir-cp answers.
    type Response: Send + 'static;
    /// The stream's node.
    fn peer(&self) -> &Peer;
    /// The node a request names.
    fn node_of(request: &Self::Request) -> Option<&Node>;
    /// Handles a request: the responses, or the status that ends the stream.
    fn on_request(&mut self, shared: &Shared, request: Self::Request) -> Result<Vec<Self::Response>, Status>;
    /// The state changed, at `at`: the responses it calls for.
    fn on_change(&mut self, shared: &Shared, at: Instant) -> Vec<Self::Response>;
    /// The stream closed.
    fn close(&mut self, shared: &Shared);
}

impl Protocol for StreamState {
    type Request = DiscoveryRequest;
    type Response = DiscoveryResponse;

    fn peer(&self) -> &Peer {
        StreamState::peer(self)
    }

    fn node_of(request: &DiscoveryRequest) -> Option<&Node> {
        request.node.as_ref()
    }

    fn on_request(
        &mut self,
        shared: &Shared,
        request: DiscoveryRequest,
    ) -> Result<Vec<DiscoveryResponse>, Status> {
        Ok(StreamState::on_request(self, shared, request))
    }

    fn on_change(&mut self, shared: &Shared, at: Instant) -> Vec<DiscoveryResponse> {
        StreamState::on_change(self, shared, at)
    }

    fn close(&mut self, shared: &Shared) {
        StreamState::close(self, shared);
    }
}

impl Protocol for DeltaState {
    type Request = DeltaDiscoveryRequest;
    type Response = DeltaDiscoveryResponse;

    fn peer(&self) -> &Peer {
        DeltaState::peer(self)
    }

    fn node_of(request: &DeltaDiscoveryRequest) -> Option<&Node> {
        request.node.as_ref()
    }

    fn on_request(
        &mut self,
        shared: &Shared,
        request: DeltaDiscoveryRequest,
    ) -> Result<Vec<DeltaDiscoveryResponse>, Status> {
        DeltaState::on_request(self, shared, request)
    }

    fn on_change(&mut self, shared: &Shared, at: Instant) -> Vec<DeltaDiscoveryResponse> {
        DeltaState::on_change(self, shared, at)
    }

    fn close(&mut self, shared: &Shared) {
        DeltaState::close(self, shared);
    }
}

/// Starts the task serving `inbound` with `state`; returns the responses.
pub fn spawn<P: Protocol>(
    shared: Arc<Shared>,
    state: P,
    identity: (NodeIdentity, Option<PeerTls>),
    inbound: Streaming<P::Request>,
    shutdown: watch::Receiver<bool>,
) -> ResponseStream<P::Response> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(run(shared, state, identity, inbound, tx, shutdown));
    ResponseStream { rx }
}

async fn run<P: Protocol>(
    shared: Arc<Shared>,
    mut state: P,
    (identity, tls): (NodeIdentity, Option<PeerTls>),
    mut inbound: Streaming<P::Request>,
    tx: mpsc::Sender<Result<Box<P::Response>, Status>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut changes = shared.store.subscribe();
    changes.borrow_and_update();
    loop {
        // When the responses answer a change of the store: when that change was made.
        let mut pushed = None;
        let responses = tokio::select! {
            message = inbound.message() => match message {
                Ok(Some(request)) => {
                    // The first request names the node: it must be one the certificate names.
                    if state.peer().node().is_none() {
                        let node_id = P::node_of(&request).map_or("", |n| n.id.as_str());
                        if let Err(status) = identity.check(node_id, tls.as_ref()) {
                            warn!(node = node_id, %status, "xDS stream refused");
                            let _ = tx.send(Err(status)).await;
                            return;
                        }
                    }
                    match state.on_request(&shared, request) {
                        Ok(responses) => responses,
                        Err(status) => {
                            warn!(node = state.peer().node().unwrap_or("?"), %status, "xDS stream ended");
                            let _ = tx.send(Err(status)).await;
                            break;
                        }
                    }
                }
                Ok(None) => break,
                Err(status) => {
                    debug!(node = state.peer().node().unwrap_or("?"), %status, "xDS stream ended by the client");
                    break;
                }
            },
            changed = changes.changed() => {
                if changed.is_err() {
                    break;
                }
                let at = changes.borrow_and_update().made_at;
                pushed = Some(at);
                state.on_change(&shared, at)
            }
            () = tx.closed() => break,
            () = stopped(&mut shutdown) => {
                let _ = tx.send(Err(Status::unavailable("weir-cp is shutting down"))).await;
                break;
            }
        };
        let mut gone = false;
        for response in responses {
            if tx.send(Ok(Box::new(response))).await.is_err() {
                gone = true;
                break;
            }
            if let Some(at) = pushed {
                shared.push_times.push.observe(at.elapsed());
            }
        }
        if gone {
            break;
        }
    }
    state.close(&shared);
}
