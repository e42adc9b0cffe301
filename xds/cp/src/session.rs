//! One xDS stream as a task: reads requests, wakes on state changes, ends when the client goes
//! away or weir-cp shuts down (then with `UNAVAILABLE`, so clients reconnect elsewhere or later).

use std::sync::Arc;

use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Status, Streaming};
use tracing::debug;

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
    inbound: Streaming<DiscoveryRequest>,
    shutdown: watch::Receiver<bool>,
) -> ResponseStream {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(run(shared, StreamState::new(only, peer), inbound, tx, shutdown));
    ReceiverStream::new(rx)
}

async fn run(
    shared: Arc<Shared>,
    mut state: StreamState,
    mut inbound: Streaming<DiscoveryRequest>,
    tx: mpsc::Sender<Result<DiscoveryResponse, Status>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut changes = shared.store.subscribe();
    changes.borrow_and_update();
    loop {
        let responses = tokio::select! {
            message = inbound.message() => match message {
                Ok(Some(request)) => state.on_request(&shared, request).into_iter().collect(),
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
