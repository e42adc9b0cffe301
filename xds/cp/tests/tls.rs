//! The xDS port over TLS: mTLS required, and node ids taken from client certificates
//! (`--xds-tls-node-identity`): a node cannot claim another node's id.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::Path;

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::DiscoveryRequest;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::runtime::v3::runtime_discovery_service_client::RuntimeDiscoveryServiceClient;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tonic::transport::{Channel, Endpoint};
use weir_cp::{ControlPlane, NodeIdentity, ServerConfig, XdsTls};
use weir_tls::test_pki::Pki;
use weir_tls::{CertificateFiles, ClientCertificates, DownstreamTls};
use weir_xds::types::RUNTIME;

struct Setup {
    _dir: tempfile::TempDir,
    servers: Pki,
    nodes: Pki,
    cp: ControlPlane,
}

async fn setup(identity: NodeIdentity) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let servers = Pki::new(dir.path(), "cp").unwrap();
    let nodes = Pki::new(dir.path(), "nodes").unwrap();
    let mut tls = DownstreamTls::new(vec![servers.server("cp", &["weir-cp.test"]).unwrap()]);
    tls.alpn_protocols = vec!["h2".into()];
    tls.client_certificates = Some(ClientCertificates::new(nodes.ca().to_path_buf()));
    let config =
        ServerConfig { xds_tls: Some(XdsTls { tls, node_identity: identity }), ..ServerConfig::local() };
    let cp = ControlPlane::start(config).await.unwrap();
    Setup { _dir: dir, servers, nodes, cp }
}

/// A gRPC channel over TLS to `addr`, presenting `cert` if given.
async fn channel(addr: SocketAddr, ca: &Path, cert: Option<&CertificateFiles>) -> Result<Channel, String> {
    let config = weir_tls::test_pki::client_config(ca, &["h2"], cert).unwrap();
    let connector = tokio_rustls::TlsConnector::from(config);
    let connect = tower::service_fn(move |_| {
        let connector = connector.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await?;
            let name = ServerName::try_from("weir-cp.test").unwrap();
            Ok::<_, std::io::Error>(TokioIo::new(connector.connect(name, tcp).await?))
        }
    });
    Endpoint::from_static("https://weir-cp.test")
        .connect_with_connector(connect)
        .await
        .map_err(|e| format!("{e:?}"))
}

fn request(node: &str) -> DiscoveryRequest {
    DiscoveryRequest {
        node: Some(Node { id: node.into(), ..Node::default() }),
        type_url: RUNTIME.into(),
        resource_names: vec!["rtds".into()],
        ..DiscoveryRequest::default()
    }
}

#[tokio::test]
async fn mtls_and_node_ids_from_certificates() {
    let s = setup(NodeIdentity::FromCertificate).await;
    let addr = s.cp.xds_addr();
    let node_a = s.nodes.client("node-a", "node-a", &["spiffe://weir/node-a"]).unwrap();

    let mut rtds =
        RuntimeDiscoveryServiceClient::new(channel(addr, s.servers.ca(), Some(&node_a)).await.unwrap());
    let ok = rtds.fetch_runtime(request("spiffe://weir/node-a")).await.unwrap().into_inner();
    assert_eq!(ok.type_url, RUNTIME);
    let posing = rtds.fetch_runtime(request("spiffe://weir/node-b")).await.unwrap_err();
    assert_eq!(posing.code(), tonic::Code::PermissionDenied, "{posing:?}");

    // The stream path: the first request's node id is checked the same way.
    let mut ads =
        AggregatedDiscoveryServiceClient::new(channel(addr, s.servers.ca(), Some(&node_a)).await.unwrap());
    let refused = match ads.stream_aggregated_resources(tokio_stream::iter(vec![request("node-b")])).await {
        Err(status) => status,
        Ok(mut stream) => stream.get_mut().message().await.unwrap_err(),
    };
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    let mut ads =
        AggregatedDiscoveryServiceClient::new(channel(addr, s.servers.ca(), Some(&node_a)).await.unwrap());
    let mut stream = ads
        .stream_aggregated_resources(tokio_stream::iter(vec![request("spiffe://weir/node-a")]))
        .await
        .unwrap();
    let first = stream.get_mut().message().await.unwrap().unwrap();
    assert_eq!(first.type_url, RUNTIME);

    // No client certificate, or one from another CA: no connection at all.
    let rogue = Pki::new(s._dir.path(), "rogue").unwrap();
    let mallory = rogue.client("mallory", "mallory", &["spiffe://weir/node-a"]).unwrap();
    for cert in [None, Some(&mallory)] {
        let result = match channel(addr, s.servers.ca(), cert).await {
            Ok(c) => RuntimeDiscoveryServiceClient::new(c)
                .fetch_runtime(request("spiffe://weir/node-a"))
                .await
                .err(),
            Err(e) => Some(tonic::Status::unavailable(e)),
        };
        assert!(result.is_some(), "a connection without a valid client certificate was served");
    }

    // Plaintext h2c to the TLS port: refused.
    let plain = RuntimeDiscoveryServiceClient::connect(format!("http://{addr}")).await;
    let plain = match plain {
        Ok(mut c) => c.fetch_runtime(request("spiffe://weir/node-a")).await.err(),
        Err(e) => Some(tonic::Status::unavailable(e.to_string())),
    };
    assert!(plain.is_some());
}

#[tokio::test]
async fn without_node_identity_ids_are_taken_as_sent() {
    let s = setup(NodeIdentity::Claimed).await;
    let node_a = s.nodes.client("node-a", "node-a", &["spiffe://weir/node-a"]).unwrap();
    let channel = channel(s.cp.xds_addr(), s.servers.ca(), Some(&node_a)).await.unwrap();
    let ok = RuntimeDiscoveryServiceClient::new(channel).fetch_runtime(request("anything")).await.unwrap();
    assert_eq!(ok.into_inner().type_url, RUNTIME);
}
