//! The reconnect loop and one state-of-the-world session ([`super::delta`] for the
//! incremental form) on the ADS stream and any per-type streams ([`super::streams`]):
//! subscribe, apply, ACK or NACK.

use std::sync::Arc;

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use tonic::transport::Channel;

use std::collections::HashMap;

use super::common::{SessionError, apply_blocking, connected, node, settle};
use super::streams::Streams;
use super::subscriptions::{Change, Subscriptions};
use super::{ClientConfig, Handler, Shared};

/// Runs streams one after another until the task is aborted.
pub(super) async fn run(config: ClientConfig, handler: Arc<dyn Handler>, shared: Arc<Shared>) {
    let mut backoff = config.backoff.clone();
    let mut next = 0usize;
    // Delta: the resources applied, kept across reconnects (announced as held).
    let mut held = super::delta::Held::default();
    let mut subs = Subscriptions::new(&config.subscriptions);
    loop {
        let Some(endpoint) = config.endpoints.get(next % config.endpoints.len().max(1)).cloned() else {
            tracing::error!("xDS: no control plane endpoint configured");
            return;
        };
        next = next.wrapping_add(1);
        let mut answered = false;
        let result = match connect(&config, &endpoint).await {
            Ok(channel) if config.delta => {
                super::delta::session(
                    channel,
                    &config,
                    &endpoint,
                    &handler,
                    &shared,
                    &mut subs,
                    &mut held,
                    &mut answered,
                )
                .await
            }
            Ok(channel) => {
                session(channel, &config, &endpoint, &handler, &shared, &mut subs, &mut answered).await
            }
            Err(e) => Err(e),
        };
        if answered {
            backoff.reset();
        }
        let error = match result {
            Ok(()) => SessionError::Closed(endpoint.clone()),
            Err(e) => e,
        };
        let wait = backoff.next_wait();
        tracing::warn!(error = %error, retry_in = ?wait, "xDS stream down; keeping the last applied values");
        let was_connected = shared.status.lock().connected;
        shared.update(|s| {
            s.connected = false;
            s.disconnects += 1;
            s.last_error = Some(error.to_string());
        });
        if was_connected {
            handler.connection(false);
        }
        tokio::time::sleep(wait).await;
    }
}

/// A channel to `endpoint` (h2c, or over the configured transport).
async fn connect(config: &ClientConfig, endpoint: &str) -> Result<Channel, SessionError> {
    let scheme = if config.transport.is_some() { "https" } else { "http" };
    let channel = tonic::transport::Endpoint::from_shared(format!("{scheme}://{endpoint}"))
        .map_err(|e| SessionError::Endpoint(endpoint.into(), e.to_string()))?
        .connect_timeout(config.connect_timeout)
        .http2_keep_alive_interval(config.keepalive.0)
        .keep_alive_timeout(config.keepalive.1);
    let connect_error = |e: tonic::transport::Error| SessionError::Connect(endpoint.into(), error_chain(&e));
    let channel = match &config.transport {
        None => channel.connect().await.map_err(connect_error)?,
        Some(transport) => {
            let (transport, target) = (transport.clone(), endpoint.to_string());
            let connector = tower::service_fn(move |_: http::Uri| {
                let connecting = transport.connect(target.clone());
                async move { connecting.await.map(hyper_util::rt::TokioIo::new) }
            });
            // The connector does not time itself: bound TCP and TLS together.
            let timeout = config.connect_timeout;
            match tokio::time::timeout(timeout, channel.connect_with_connector(connector)).await {
                Ok(connected) => connected.map_err(connect_error)?,
                Err(_) => {
                    return Err(SessionError::Connect(
                        endpoint.into(),
                        format!("timed out after {timeout:?}"),
                    ));
                }
            }
        }
    };
    Ok(channel)
}

#[allow(clippy::too_many_arguments)]
async fn session(
    channel: Channel,
    config: &ClientConfig,
    endpoint: &str,
    handler: &Arc<dyn Handler>,
    shared: &Shared,
    subs: &mut Subscriptions,
    answered: &mut bool,
) -> Result<(), SessionError> {
    let node = node(config);
    let mut streams = Streams::new(channel, endpoint, false, &config.separate_streams);
    // Subscribe to every type, telling the control plane what we already hold.
    let mut stream = Stream { node, nonces: HashMap::new() };
    for sub in subs.iter() {
        streams.send(stream.request(shared, &sub.type_url, sub.resource_names.clone())).await?;
    }
    connected(endpoint, handler, shared);
    loop {
        let response = streams.next().await?;
        *answered = true;
        for request in stream.answer(handler, shared, subs, response).await {
            streams.send(request).await?;
        }
    }
}

/// One state-of-the-world stream: this node, and the last nonce received per type.
struct Stream {
    node: Node,
    nonces: HashMap<String, String>,
}

impl Stream {
    /// A request for `type_url` naming `names`, with the version held and the last nonce.
    fn request(&self, shared: &Shared, type_url: &str, names: Vec<String>) -> DiscoveryRequest {
        let version_info =
            shared.status.lock().types.get(type_url).map(|t| t.acked_version.clone()).unwrap_or_default();
        DiscoveryRequest {
            version_info,
            node: Some(self.node.clone()),
            resource_names: names,
            type_url: type_url.to_string(),
            response_nonce: self.nonces.get(type_url).cloned().unwrap_or_default(),
            ..DiscoveryRequest::default()
        }
    }

    /// Applies one response: its ACK or NACK, then the requests of changed subscriptions.
    async fn answer(
        &mut self,
        handler: &Arc<dyn Handler>,
        shared: &Shared,
        subs: &mut Subscriptions,
        response: DiscoveryResponse,
    ) -> Vec<DiscoveryRequest> {
        let DiscoveryResponse { version_info, resources, type_url, nonce, .. } = response;
        self.nonces.insert(type_url.clone(), nonce);
        let names = subs.names(&type_url).map(<[String]>::to_vec);
        let outcome = match &names {
            None => Err(format!("not subscribed to {type_url}")),
            Some(_) if resources.len() > super::MAX_WILDCARD_RESOURCES => {
                Err(format!("more than {} resources", super::MAX_WILDCARD_RESOURCES))
            }
            Some(_) => match resources.iter().find(|r| r.type_url != type_url) {
                Some(other) => Err(format!("a {type_url} response holds a {} resource", other.type_url)),
                None => apply_blocking(handler, &type_url, &version_info, resources).await,
            },
        };
        let mut request = self.request(shared, &type_url, names.unwrap_or_default());
        let (changes, nack) = settle(shared, subs, &type_url, &version_info, outcome);
        match nack {
            None => request.version_info = version_info,
            Some(nack) => request.error_detail = Some(nack),
        }
        let follow =
            changes.into_iter().map(|Change { type_url, names, .. }| self.request(shared, &type_url, names));
        std::iter::once(request).chain(follow).collect()
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
