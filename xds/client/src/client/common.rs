//! What both stream forms share: why a stream ended, this node, the stream-up report, applying
//! an update off the async threads, and recording its outcome (ACK or NACK).

use std::sync::Arc;

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::google::rpc::Status as RpcStatus;

use super::status::Nack;
use super::subscriptions::{Change, Subscriptions};
use super::{Applied, ClientConfig, Handler, Shared, now};

/// gRPC code carried in a NACK's `error_detail` (Envoy uses INTERNAL).
pub(super) const NACK_CODE: i32 = 13;

/// Why a stream ended.
#[derive(Debug, thiserror::Error)]
pub(super) enum SessionError {
    #[error("invalid control plane endpoint `{0}`: {1}")]
    Endpoint(String, String),
    #[error("cannot connect to {0}: {1}")]
    Connect(String, String),
    #[error("stream to {0} failed: {1}")]
    Stream(String, String),
    #[error("control plane {0} closed the stream")]
    Closed(String),
}

/// This node as the control plane sees it.
pub(super) fn node(config: &ClientConfig) -> Node {
    Node {
        id: config.node_id.clone(),
        cluster: config.node_cluster.clone(),
        metadata: config.node_metadata.clone(),
        ..Node::default()
    }
}

/// The stream is up.
pub(super) fn connected(endpoint: &str, handler: &Arc<dyn Handler>, shared: &Shared) {
    shared.update(|s| {
        s.connected = true;
        s.connects += 1;
        s.endpoint = Some(endpoint.to_string());
    });
    handler.connection(true);
    tracing::info!(endpoint, "xDS stream up");
}

/// Settles an update: the subscriptions it asks for are set (returned as changes) and its
/// outcome is recorded in the status; the NACK's `error_detail` if it was refused.
pub(super) fn settle(
    shared: &Shared,
    subs: &mut Subscriptions,
    type_url: &str,
    version: &str,
    outcome: Result<Applied, String>,
) -> (Vec<Change>, Option<RpcStatus>) {
    match outcome {
        Ok(applied) => (subs.set(applied.resubscribe, shared), record(shared, type_url, version, Ok(()))),
        Err(reason) => (Vec::new(), record(shared, type_url, version, Err(reason))),
    }
}

/// Records an update's outcome in the status; the NACK's `error_detail` if it was refused.
fn record(shared: &Shared, type_url: &str, version: &str, outcome: Result<(), String>) -> Option<RpcStatus> {
    match outcome {
        Ok(()) => {
            tracing::info!(type_url, version, "xDS update applied");
            shared.update(|s| {
                if let Some(t) = s.types.get_mut(type_url) {
                    t.acked_version = version.to_string();
                    t.acked_at = now();
                    t.accepted += 1;
                }
            });
            None
        }
        Err(reason) => {
            tracing::warn!(type_url, version, reason, "xDS update rejected");
            shared.update(|s| {
                if let Some(t) = s.types.get_mut(type_url) {
                    t.rejected += 1;
                    t.last_nack =
                        Some(Nack { version: version.to_string(), reason: reason.clone(), at: now() });
                }
            });
            Some(RpcStatus { code: NACK_CODE, message: reason, details: Vec::new() })
        }
    }
}

/// Runs the handler on a blocking thread.
pub(super) async fn apply_blocking(
    handler: &Arc<dyn Handler>,
    type_url: &str,
    version: &str,
    resources: Vec<envoy_types::pb::google::protobuf::Any>,
) -> Result<Applied, String> {
    // The handler may block (plugin reloads): keep it off the async thread.
    let (handler, type_url, version) = (handler.clone(), type_url.to_string(), version.to_string());
    tokio::task::spawn_blocking(move || handler.apply(&type_url, &version, resources))
        .await
        .unwrap_or_else(|e| Err(format!("applying the update failed: {e}")))
}
