//! The single-type services (RTDS, ECDS), unary fetch, delta, restart from the state file and
//! shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Client, Service, layers, wait_status, wait_until};
use envoy_types::pb::envoy::config::core::v3::TypedExtensionConfig;
use envoy_types::pb::envoy::extensions::filters::http::wasm::v3::Wasm;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{DeltaDiscoveryRequest, DiscoveryRequest};
use envoy_types::pb::envoy::service::runtime::v3::runtime_discovery_service_client::RuntimeDiscoveryServiceClient;
use serde_json::json;
use weir_cp::{ControlPlane, EcdsConfig, ServerConfig};
use weir_xds::convert::unpack;
use weir_xds::types::{EXTENSION_CONFIG, RUNTIME};

#[tokio::test]
async fn rtds_service_works_like_ads() -> anyhow::Result<()> {
    let cp = ControlPlane::start(ServerConfig::local()).await?;
    let mut c = Client::open(cp.xds_addr(), Service::Rtds, "n").await?;
    // On the RTDS service an empty type URL means Runtime; another type is ignored.
    c.send(EXTENSION_CONFIG, &["x"], "", "", None).await;
    c.send("", &["rtds"], "", "", None).await;
    let r1 = c.recv().await?;
    assert_eq!((r1.type_url.as_str(), r1.version_info.as_str()), (RUNTIME, "1"));
    assert_eq!(cp.status().counters.ignored, 1);
    c.ack(&r1, &["rtds"]).await;
    wait_status(&cp, "n", "rtds", "the ACK", |t| t.acked.is_some()).await?;
    cp.store().set_value("rtds", "a", json!(true))?;
    let r2 = c.recv().await?;
    assert_eq!(layers(&r2), vec![("rtds".to_string(), json!({"a": true}))]);
    c.send(RUNTIME, &["rtds"], &r1.version_info, &r2.nonce, Some("rejected")).await;
    wait_status(&cp, "n", "rtds", "the NACK", |t| t.nack.is_some()).await?;
    cp.store().set_value("rtds", "a", json!(false))?;
    assert_eq!(c.recv().await?.version_info, "3");
    Ok(())
}

#[tokio::test]
async fn ecds_service_serves_wasm_filter_configs() -> anyhow::Result<()> {
    let cp = ControlPlane::start(ServerConfig::local()).await?;
    let config: EcdsConfig = serde_json::from_value(json!({
        "wasm": "/filters/auth.wasm", "vm_id": "weir", "root_id": "auth", "configuration": {"k": 1}
    }))?;
    cp.store().put_ecds("auth", config.clone())?;
    let mut c = Client::open(cp.xds_addr(), Service::Ecds, "n").await?;
    c.send(EXTENSION_CONFIG, &["auth"], "", "", None).await;
    let r1 = c.recv().await?;
    assert_eq!((r1.type_url.as_str(), r1.version_info.as_str()), (EXTENSION_CONFIG, "1"));
    let resource = unpack::<TypedExtensionConfig>(&r1.resources[0])?;
    assert_eq!(resource.name, "auth");
    let wasm = unpack::<Wasm>(resource.typed_config.as_ref().unwrap())?;
    assert_eq!(wasm.config.unwrap().root_id, "auth");
    c.ack(&r1, &["auth"]).await;
    wait_status(&cp, "n", "ecds", "the ACK", |t| t.acked.is_some()).await?;
    cp.store().put_ecds("auth", EcdsConfig { root_id: "other".into(), ..config })?;
    let r2 = c.recv().await?;
    assert_eq!(r2.version_info, "2");
    Ok(())
}

#[tokio::test]
async fn fetch_and_delta() -> anyhow::Result<()> {
    let cp = ControlPlane::start(ServerConfig::local()).await?;
    cp.store().set_value("rtds", "a", json!(1))?;
    let url = format!("http://{}", cp.xds_addr());
    let mut rtds = RuntimeDiscoveryServiceClient::connect(url.clone()).await?;
    let request = DiscoveryRequest { resource_names: vec!["rtds".into()], ..DiscoveryRequest::default() };
    let response = rtds.fetch_runtime(request).await?.into_inner();
    assert_eq!(response.version_info, "2");
    assert_eq!(layers(&response)[0].1, json!({"a": 1}));
    // Delta over ADS: the subscribed layer, its own version, the status shows the protocol.
    let mut ads = AggregatedDiscoveryServiceClient::connect(url).await?;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(DeltaDiscoveryRequest {
        node: Some(envoy_types::pb::envoy::config::core::v3::Node { id: "d".into(), ..Default::default() }),
        type_url: RUNTIME.into(),
        resource_names_subscribe: vec!["rtds".into()],
        ..DeltaDiscoveryRequest::default()
    })
    .await?;
    let mut stream =
        ads.delta_aggregated_resources(tokio_stream::wrappers::ReceiverStream::new(rx)).await?.into_inner();
    let response = stream.message().await?.expect("a delta response");
    assert_eq!(response.system_version_info, "2");
    assert_eq!(response.resources.len(), 1);
    assert_eq!(response.resources[0].name, "rtds");
    assert_eq!(response.resources[0].version, "2");
    let node = cp.status().nodes.into_iter().find(|n| n.id == "d").expect("node d");
    assert_eq!(node.protocol, "delta");
    drop(tx);
    Ok(())
}

#[tokio::test]
async fn a_restarted_cp_serves_the_same_versions() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = ServerConfig { state_file: Some(dir.path().join("cp.json")), ..ServerConfig::local() };
    let cp = ControlPlane::start(config.clone()).await?;
    cp.store().set_value("rtds", "a.b", json!(5))?;
    cp.store().set_value("rtds", "c", json!("x"))?;
    let ecds = serde_json::from_value(json!({"wasm": "/f.wasm", "vm_id": "v"}))?;
    cp.store().put_ecds("f", ecds)?;
    let mut c = Client::open(cp.xds_addr(), Service::Ads, "n").await?;
    c.send(RUNTIME, &["rtds"], "", "", None).await;
    let before = c.recv().await?;
    cp.shutdown().await;
    let end = c.end().await?;
    assert_eq!(
        end.map(|s| s.code()),
        Some(tonic::Code::Unavailable),
        "shutdown ends streams with UNAVAILABLE"
    );

    let cp = ControlPlane::start(config).await?;
    let mut c = Client::open(cp.xds_addr(), Service::Ads, "n").await?;
    c.send(RUNTIME, &["rtds"], &before.version_info, "", None).await;
    let after = c.recv().await?;
    assert_eq!(after.version_info, before.version_info);
    assert_eq!(layers(&after), layers(&before));
    c.send(EXTENSION_CONFIG, &["f"], "", "", None).await;
    let ec = c.recv().await?;
    assert_eq!((ec.version_info.as_str(), ec.resources.len()), ("1", 1));
    wait_until(&cp, "node n connected", |s| s.nodes.iter().any(|n| n.id == "n" && n.connected)).await?;
    Ok(())
}

#[tokio::test]
async fn a_corrupt_state_file_refuses_to_start() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("cp.json");
    std::fs::write(&path, "{ not json")?;
    let config = ServerConfig { state_file: Some(path), ..ServerConfig::local() };
    let err = ControlPlane::start(config).await.unwrap_err().to_string();
    assert!(err.contains("cp.json") && err.contains("will not start empty"), "{err}");
    Ok(())
}
