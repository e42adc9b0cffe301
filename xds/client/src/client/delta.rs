//! One delta (incremental) session, on the ADS stream and any per-type streams: subscribe by name, announcing what is held; each
//! response's resources and removals are merged into what is held and the whole set of the
//! type handed to the [`Handler`] (which applies all of it or none, as in state of the
//! world); then ACK, or NACK keeping what was held.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use envoy_types::pb::envoy::service::discovery::v3::{DeltaDiscoveryRequest, DeltaDiscoveryResponse};
use envoy_types::pb::google::protobuf::Any;
use tonic::transport::Channel;

use super::common::{SessionError, apply_blocking, connected, node, settle};
use super::streams::Streams;
use super::subscriptions::{Change, Subscriptions};
use super::{ClientConfig, Handler, MAX_WILDCARD_RESOURCES, Shared};

/// One held resource: its version and the resource.
type Entry = (String, Any);

/// What the client holds, per type URL and name (kept across reconnects).
#[derive(Debug, Default)]
pub struct Held(HashMap<String, BTreeMap<String, Entry>>);

/// Runs one delta stream on `channel` until it ends.
#[allow(clippy::too_many_arguments)]
pub(super) async fn session(
    channel: Channel,
    config: &ClientConfig,
    endpoint: &str,
    handler: &Arc<dyn Handler>,
    shared: &Shared,
    subs: &mut Subscriptions,
    held: &mut Held,
    answered: &mut bool,
) -> Result<(), SessionError> {
    let node = node(config);
    let mut streams = Streams::new(channel, endpoint, true, &config.separate_streams);
    for sub in subs.iter() {
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
        streams.send(request).await?;
    }
    connected(endpoint, handler, shared);
    loop {
        let response = streams.next().await?;
        *answered = true;
        for mut request in answer(handler, shared, subs, held, response).await {
            // The first request of a stream opened now names this node.
            request.node = Some(node.clone());
            streams.send(request).await?;
        }
    }
}

/// Merges one response into what is held, applies the result, and builds the ACK or NACK,
/// then the requests of changed subscriptions.
async fn answer(
    handler: &Arc<dyn Handler>,
    shared: &Shared,
    subs: &mut Subscriptions,
    held: &mut Held,
    response: DeltaDiscoveryResponse,
) -> Vec<DeltaDiscoveryRequest> {
    let DeltaDiscoveryResponse { system_version_info, resources, type_url, removed_resources, nonce, .. } =
        response;
    let mut next = held.0.get(&type_url).cloned().unwrap_or_default();
    let merged = match subs.names(&type_url) {
        None => Err(format!("not subscribed to {type_url}")),
        Some(_) => merge(&mut next, subs, &type_url, resources, removed_resources),
    };
    let outcome = match merged {
        Ok(()) => {
            let all: Vec<Any> = next.values().map(|(_, any)| any.clone()).collect();
            apply_blocking(handler, &type_url, &system_version_info, all).await
        }
        Err(e) => Err(e),
    };
    let (changes, error_detail) = settle(shared, subs, &type_url, &system_version_info, outcome);
    if error_detail.is_none() {
        held.0.insert(type_url.clone(), next);
    }
    let ack = DeltaDiscoveryRequest {
        type_url,
        response_nonce: nonce,
        error_detail,
        ..DeltaDiscoveryRequest::default()
    };
    let follow = changes.into_iter().map(|change| resubscribe(held, change));
    std::iter::once(ack).chain(follow).collect()
}

/// The request announcing a changed subscription; what is no longer subscribed is dropped.
fn resubscribe(held: &mut Held, change: Change) -> DeltaDiscoveryRequest {
    let Change { type_url, before, names } = change;
    let before = before.unwrap_or_default();
    let subscribe: Vec<String> = names.iter().filter(|n| !before.contains(n)).cloned().collect();
    let unsubscribe: Vec<String> = before.iter().filter(|n| !names.contains(n)).cloned().collect();
    if let Some(type_held) = held.0.get_mut(&type_url) {
        type_held.retain(|name, _| !unsubscribe.contains(name));
    }
    DeltaDiscoveryRequest {
        type_url,
        resource_names_subscribe: subscribe,
        resource_names_unsubscribe: unsubscribe,
        ..DeltaDiscoveryRequest::default()
    }
}

/// Applies a response's resources and removals to `held` (one type's). Only the subscribed
/// names are taken (any name for a wildcard subscription, up to
/// [`MAX_WILDCARD_RESOURCES`]): what a control plane can make weir hold is what weir asked
/// for.
fn merge(
    held: &mut BTreeMap<String, Entry>,
    subs: &Subscriptions,
    type_url: &str,
    resources: Vec<envoy_types::pb::envoy::service::discovery::v3::Resource>,
    removed: Vec<String>,
) -> Result<(), String> {
    for resource in resources {
        if !subs.takes(type_url, &resource.name) {
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
    if held.len() > MAX_WILDCARD_RESOURCES {
        return Err(format!("more than {MAX_WILDCARD_RESOURCES} resources"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use envoy_types::pb::envoy::service::discovery::v3::Resource;

    use super::super::Subscription;
    use super::*;

    fn resource(name: &str, version: &str) -> Resource {
        let any = Any { type_url: "t".into(), value: version.as_bytes().to_vec() };
        Resource { name: name.into(), version: version.into(), resource: Some(any), ..Resource::default() }
    }

    #[test]
    fn merges_subscribed_resources_and_refuses_others() {
        let sub = |t: &str| Subscription { type_url: t.into(), resource_names: vec!["a".into(), "b".into()] };
        let subs = Subscriptions::new(&[sub("t"), sub("other")]);
        let mut held = BTreeMap::new();
        merge(&mut held, &subs, "t", vec![resource("a", "1"), resource("b", "1")], vec![]).unwrap();
        merge(&mut held, &subs, "t", vec![resource("a", "2")], vec!["b".into()]).unwrap();
        assert_eq!(held.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(held["a"].0, "2");
        let e = merge(&mut held, &subs, "t", vec![resource("x", "1")], vec![]).unwrap_err();
        assert!(e.contains("not subscribed"), "{e}");
        let e = merge(&mut held, &subs, "other", vec![resource("a", "3")], vec![]).unwrap_err();
        assert!(e.contains("holds a t resource"), "{e}");
    }

    #[test]
    fn a_wildcard_subscription_takes_any_name_up_to_the_cap() {
        let cds = crate::types::CLUSTER;
        let subs = Subscriptions::new(&[Subscription { type_url: cds.into(), resource_names: vec![] }]);
        let any = |name: &str| Resource {
            name: name.into(),
            version: "1".into(),
            resource: Some(Any { type_url: cds.into(), value: vec![] }),
            ..Resource::default()
        };
        let mut held = BTreeMap::new();
        merge(&mut held, &subs, cds, vec![any("x"), any("y")], vec![]).unwrap();
        assert_eq!(held.len(), 2);
        let many: Vec<Resource> = (0..=MAX_WILDCARD_RESOURCES).map(|i| any(&format!("c{i}"))).collect();
        let e = merge(&mut held, &subs, cds, many, vec![]).unwrap_err();
        assert!(e.contains("more than 10000"), "{e}");
    }

    #[test]
    fn a_changed_subscription_is_announced_and_drops_what_it_no_longer_names() {
        let mut held = Held::default();
        let entry = |v: &str| (v.to_string(), Any::default());
        held.0.insert("e".into(), BTreeMap::from([("a".into(), entry("1")), ("b".into(), entry("1"))]));
        let change = Change {
            type_url: "e".into(),
            before: Some(vec!["a".into(), "b".into()]),
            names: vec!["b".into(), "c".into()],
        };
        let request = resubscribe(&mut held, change);
        assert_eq!(request.resource_names_subscribe, ["c"]);
        assert_eq!(request.resource_names_unsubscribe, ["a"]);
        assert_eq!(held.0["e"].keys().collect::<Vec<_>>(), ["b"]);
    }
}
