//! A scripted xDS client for protocol tests: opens a stream on one of weir-cp's services, sends
//! hand-made requests and reads responses with a deadline.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use envoy_types::pb::envoy::service::extension::v3::extension_config_discovery_service_client::ExtensionConfigDiscoveryServiceClient;
use envoy_types::pb::envoy::service::runtime::v3::Runtime;
use envoy_types::pb::envoy::service::runtime::v3::runtime_discovery_service_client::RuntimeDiscoveryServiceClient;
use envoy_types::pb::envoy::service::secret::v3::secret_discovery_service_client::SecretDiscoveryServiceClient;
use envoy_types::pb::google::rpc::Status as RpcStatus;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;
use weir_cp::ControlPlane;
use weir_cp::admin::views::StatusView;
use weir_cp::status::TypeStatus;
use weir_xds::convert::{struct_to_json, unpack};

/// How long a test waits for anything.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Which service a stream uses.
#[derive(Debug, Clone, Copy)]
pub enum Service {
    /// ADS.
    Ads,
    /// RTDS.
    Rtds,
    /// ECDS.
    Ecds,
    /// SDS.
    Sds,
}

/// One scripted stream.
pub struct Client {
    tx: mpsc::Sender<DiscoveryRequest>,
    rx: Streaming<DiscoveryResponse>,
    node: String,
}

impl Client {
    /// Opens a stream to `addr` as node `node`.
    pub async fn open(addr: SocketAddr, service: Service, node: &str) -> anyhow::Result<Client> {
        let url = format!("http://{addr}");
        let (tx, rx) = mpsc::channel(16);
        let outbound = ReceiverStream::new(rx);
        let response = match service {
            Service::Ads => {
                AggregatedDiscoveryServiceClient::connect(url)
                    .await?
                    .stream_aggregated_resources(outbound)
                    .await?
            }
            Service::Rtds => {
                RuntimeDiscoveryServiceClient::connect(url).await?.stream_runtime(outbound).await?
            }
            Service::Sds => {
                SecretDiscoveryServiceClient::connect(url).await?.stream_secrets(outbound).await?
            }
            Service::Ecds => {
                ExtensionConfigDiscoveryServiceClient::connect(url)
                    .await?
                    .stream_extension_configs(outbound)
                    .await?
            }
        };
        Ok(Client { tx, rx: response.into_inner(), node: node.to_string() })
    }

    /// Sends a request. The node goes with every request (as some clients do).
    pub async fn send(
        &self,
        type_url: &str,
        names: &[&str],
        version: &str,
        nonce: &str,
        error: Option<&str>,
    ) {
        let request = DiscoveryRequest {
            version_info: version.to_string(),
            node: Some(Node { id: self.node.clone(), cluster: "test-cluster".into(), ..Node::default() }),
            resource_names: names.iter().map(|s| s.to_string()).collect(),
            type_url: type_url.to_string(),
            response_nonce: nonce.to_string(),
            error_detail: error.map(|m| RpcStatus { code: 13, message: m.to_string(), details: vec![] }),
            ..DiscoveryRequest::default()
        };
        self.tx.send(request).await.expect("stream closed");
    }

    /// ACKs `response`, keeping `names`.
    pub async fn ack(&self, response: &DiscoveryResponse, names: &[&str]) {
        self.send(&response.type_url, names, &response.version_info, &response.nonce, None).await;
    }

    /// The next response (fails after [`DEADLINE`]).
    pub async fn recv(&mut self) -> anyhow::Result<DiscoveryResponse> {
        match tokio::time::timeout(DEADLINE, self.rx.message()).await {
            Err(_) => bail!("no response within {DEADLINE:?}"),
            Ok(Err(status)) => bail!("stream failed: {status}"),
            Ok(Ok(None)) => bail!("stream ended"),
            Ok(Ok(Some(response))) => Ok(response),
        }
    }

    /// How the stream ends (fails after [`DEADLINE`] or on a response).
    pub async fn end(&mut self) -> anyhow::Result<Option<tonic::Status>> {
        match tokio::time::timeout(DEADLINE, self.rx.message()).await {
            Err(_) => bail!("stream still open after {DEADLINE:?}"),
            Ok(Err(status)) => Ok(Some(status)),
            Ok(Ok(None)) => Ok(None),
            Ok(Ok(Some(response))) => bail!("unexpected response {response:?}"),
        }
    }
}

/// The runtime layers in a response, by name, as JSON.
pub fn layers(response: &DiscoveryResponse) -> Vec<(String, Value)> {
    response
        .resources
        .iter()
        .map(|any| {
            let runtime = unpack::<Runtime>(any).expect("a Runtime resource");
            (runtime.name, runtime.layer.as_ref().map(struct_to_json).unwrap_or(Value::Null))
        })
        .collect()
}

/// Polls `cp.status()` until `check` holds for node `node`'s `kind` entry.
pub async fn wait_status(
    cp: &ControlPlane,
    node: &str,
    kind: &str,
    what: &str,
    check: impl Fn(&TypeStatus) -> bool,
) -> anyhow::Result<TypeStatus> {
    let started = Instant::now();
    loop {
        let status: StatusView = cp.status();
        let found = status.nodes.iter().find(|n| n.id == node).and_then(|n| n.types.get(kind)).cloned();
        if let Some(t) = found.filter(|t| check(t)) {
            return Ok(t);
        }
        if started.elapsed() > DEADLINE {
            let json = serde_json::to_string_pretty(&status).context("status")?;
            bail!("status never showed {what} for {node}/{kind}:\n{json}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Polls until `check` holds on the whole status.
pub async fn wait_until(
    cp: &ControlPlane,
    what: &str,
    check: impl Fn(&StatusView) -> bool,
) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let status = cp.status();
        if check(&status) {
            return Ok(());
        }
        if started.elapsed() > DEADLINE {
            bail!("status never showed {what}:\n{}", serde_json::to_string_pretty(&status)?);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
