//! One xDS stream as a task: reads requests, wakes on state changes, ends when the client goes
//! away or weir-cp shuts down (then with `UNAVAILABLE`, so clients reconnect elsewhere or later).

use std::sync::Arc;

use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};
use tracing::{debug, warn};

use super::identity::{NodeIdentity, PeerTls};
use super::kind::Kind;
use super::shared::{Shared, stopped};
use super::stream::StreamState;

/// The response stream handed to tonic.
pub type ResponseStream = ReceiverStream<Result<DiscoveryResponse, Status>>;

/// The peer address of a connection, put in request extensions by the gRPC server.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub std::net::SocketAddr);

/// Starts the task serving `inbound`; returns the responses.
pub fn spawn(
    shared: Arc<Shared>,
    only: Option<Kind>,
    peer: String,
    identity: (NodeIdentity, Option<PeerTls>),
    inbound: Streaming<DiscoveryRequest>,
    shutdown: watch::Receiver<bool>,
) -> ResponseStream {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(run(shared, StreamState::new(only, peer), identity, inbound, tx, shutdown));
    ReceiverStream::new(rx)
}

async fn run(
    shared: Arc<Shared>,
    mut state: StreamState,
    (identity, tls): (NodeIdentity, Option<PeerTls>),
    mut inbound: Streaming<DiscoveryRequest>,
    tx: mpsc::Sender<Result<DiscoveryResponse, Status>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut changes = shared.store.subscribe();
    changes.borrow_and_update();
    loop {
        let responses = tokio::select! {
            message = inbound.message() => match message {
                Ok(Some(request)) => {
                    // The first request names the node: it must be one the certificate names.
                    if state.node().is_none() {
                        let node_id = request.node.as_ref().map_or("", |n| n.id.as_str());
                        if let Err(status) = identity.check(node_id, tls.as_ref()) {
                            warn!(node = node_id, %status, "xDS stream refused");
                            let _ = tx.send(Err(status)).await;
                            return;
                        }
                    }
                    state.on_request(&shared, request).into_iter().collect()
                }
                Ok(None) => break,
                Err(status) => {
                    debug!(node = state.node().unwrap_or("?"), %status, "xDS stream ended by the client");
                    break;
                }
            },
            changed = changes.changed() => {
                if changed.is_err() {
                    break;
                }
                changes.borrow_and_update();
                state.on_change(&shared)
            }
            () = tx.closed() => break,
            () = stopped(&mut shutdown) => {
                let _ = tx.send(Err(Status::unavailable("weir-cp is shutting down"))).await;
                break;
            }
        };
        let mut gone = false;
        for response in responses {
            if tx.send(Ok(response)).await.is_err() {
                gone = true;
                break;
            }
        }
        if gone {
            break;
        }
    }
    state.close(&shared);
}
