//! One delta (incremental) ADS stream: subscribe by name, announcing what is held; each
//! response's resources and removals are merged into what is held and the whole set of the
//! type handed to the [`Handler`] (which applies all of it or none, as in state of the
//! world); then ACK, or NACK keeping what was held.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{DeltaDiscoveryRequest, DeltaDiscoveryResponse};
use envoy_types::pb::google::protobuf::Any;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use super::session::{SessionError, apply_blocking, connected, node, record};
use super::{ClientConfig, Handler, Shared};

/// One held resource: its version and the resource.
type Entry = (String, Any);

/// What the client holds, per type URL and name (kept across reconnects).
#[derive(Debug, Default)]
pub struct Held(HashMap<String, BTreeMap<String, Entry>>);

/// Runs one delta stream on `channel` until it ends.
pub(super) async fn session(
    channel: Channel,
    config: &ClientConfig,
    endpoint: &str,
    handler: &Arc<dyn Handler>,
    shared: &Shared,
    held: &mut Held,
    answered: &mut bool,
) -> Result<(), SessionError> {
    let (tx, rx) = mpsc::channel::<DeltaDiscoveryRequest>(16);
    let node = node(config);
    for sub in &config.subscriptions {
        let versions = held.0.get(&sub.type_url).into_iter().flatten();
        let request = DeltaDiscoveryRequest {
            node: Some(node.clone()),
            type_url: sub.type_url.clone(),
            resource_names_subscribe: sub.resource_names.clone(),
            initial_resource_versions: versions
                .map(|(name, (version, _))| (name.clone(), version.clone()))
                .collect(),
            ..DeltaDiscoveryRequest::default()
        };
        // The channel has room for every initial request.
        let _ = tx.try_send(request);
    }
    let mut client = AggregatedDiscoveryServiceClient::new(channel).max_decoding_message_size(64 << 20);
    let mut responses = client
        .delta_aggregated_resources(ReceiverStream::new(rx))
        .await
        .map_err(|e| SessionError::Stream(endpoint.into(), e.to_string()))?
        .into_inner();
    connected(endpoint, handler, shared);
    loop {
        let response = match responses.message().await {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err(e) => return Err(SessionError::Stream(endpoint.into(), e.to_string())),
        };
        *answered = true;
        let reply = answer(config, handler, shared, held, response).await;
        if tx.send(reply).await.is_err() {
            return Err(SessionError::Stream(endpoint.into(), "request stream closed".into()));
        }
    }
}

/// Merges one response into what is held, applies the result, and builds the ACK or NACK.
async fn answer(
    config: &ClientConfig,
    handler: &Arc<dyn Handler>,
    shared: &Shared,
    held: &mut Held,
    response: DeltaDiscoveryResponse,
) -> DeltaDiscoveryRequest {
    let DeltaDiscoveryResponse { system_version_info, resources, type_url, removed_resources, nonce, .. } =
        response;
    let mut next = held.0.get(&type_url).cloned().unwrap_or_default();
    let merged = match config.subscriptions.iter().find(|s| s.type_url == type_url) {
        None => Err(format!("not subscribed to {type_url}")),
        Some(sub) => merge(&mut next, &sub.resource_names, &type_url, resources, removed_resources),
    };
    let outcome = match merged {
        Ok(()) => {
            let all: Vec<Any> = next.values().map(|(_, any)| any.clone()).collect();
            apply_blocking(handler, &type_url, &system_version_info, all).await
        }
        Err(e) => Err(e),
    };
    let accepted = outcome.is_ok();
    let error_detail = record(shared, &type_url, &system_version_info, outcome);
    if accepted {
        held.0.insert(type_url.clone(), next);
    }
    DeltaDiscoveryRequest {
        type_url,
        response_nonce: nonce,
        error_detail,
        ..DeltaDiscoveryRequest::default()
    }
}

/// Applies a response's resources and removals to `held` (one type's). Only the subscribed
/// names are taken: what a control plane can make weir hold is what weir asked for.
fn merge(
    held: &mut BTreeMap<String, Entry>,
    subscribed: &[String],
    type_url: &str,
    resources: Vec<envoy_types::pb::envoy::service::discovery::v3::Resource>,
    removed: Vec<String>,
) -> Result<(), String> {
    for resource in resources {
        if !subscribed.contains(&resource.name) {
            return Err(format!("resource {} was not subscribed to", resource.name));
        }
        let Some(any) = resource.resource else {
            return Err(format!("resource {} has no body", resource.name));
        };
        if any.type_url != type_url {
            return Err(format!("a {type_url} response holds a {} resource", any.type_url));
        }
        held.insert(resource.name, (resource.version, any));
    }
    for name in removed {
        held.remove(&name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use envoy_types::pb::envoy::service::discovery::v3::Resource;

    use super::*;

    fn resource(name: &str, version: &str) -> Resource {
        let any = Any { type_url: "t".into(), value: version.as_bytes().to_vec() };
        Resource { name: name.into(), version: version.into(), resource: Some(any), ..Resource::default() }
    }

    #[test]
    fn merges_subscribed_resources_and_refuses_others() {
        let (mut held, subscribed) = (BTreeMap::new(), vec!["a".to_string(), "b".to_string()]);
        merge(&mut held, &subscribed, "t", vec![resource("a", "1"), resource("b", "1")], vec![]).unwrap();
        merge(&mut held, &subscribed, "t", vec![resource("a", "2")], vec!["b".into()]).unwrap();
        assert_eq!(held.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(held["a"].0, "2");
        let e = merge(&mut held, &subscribed, "t", vec![resource("x", "1")], vec![]).unwrap_err();
        assert!(e.contains("not subscribed"), "{e}");
        let e = merge(&mut held, &subscribed, "other", vec![resource("a", "3")], vec![]).unwrap_err();
        assert!(e.contains("holds a t resource"), "{e}");
    }
}
