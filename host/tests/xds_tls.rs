//! weir's xDS client over mutual TLS to weir-cp: the control plane's cluster's `tls` (CA, SNI,
//! client certificate) secures the ADS stream, and weir-cp takes the node id from the
//! certificate: a node that claims another id gets no configuration.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use serde_json::json;
use weir_cp::{ControlPlane, NodeIdentity, ServerConfig, XdsTls};
use weir_host::config::Config;
use weir_host::process::{RunningServer, ServerOptions};
use weir_tls::test_pki::Pki;
use weir_tls::{CertificateFiles, ClientCertificates, DownstreamTls};

/// weir with the control plane over mTLS; start-up waits at most `initial_fetch` for it.
fn weir(
    cp: &ControlPlane,
    ca: &std::path::Path,
    cert: &CertificateFiles,
    node: &str,
    initial_fetch: &str,
) -> RunningServer {
    let yaml = format!(
        r#"
admin: {{ address: 127.0.0.1:0 }}
listeners:
  - name: main
    address: 127.0.0.1:0
    virtual_hosts:
      - {{ name: all, domains: ["*"], routes: [{{ name: r, match: {{ prefix: / }}, direct_response: {{ status: 200, body: ok }} }}] }}
clusters:
  - name: control-plane
    endpoints: ["{xds}"]
    http2: true
    tls:
      sni: weir-cp.test
      trusted_ca: {ca}
      client_certificate: {{ certificate_chain: {chain}, private_key: {key} }}
runtime:
  layers:
    - {{ name: rtds, rtds_layer: {{}} }}
node: {{ id: "{node}" }}
xds:
  cluster: control-plane
  initial_fetch_timeout: {initial_fetch}
"#,
        xds = cp.xds_addr(),
        ca = ca.display(),
        chain = cert.certificate_chain.display(),
        key = cert.private_key.display(),
    );
    RunningServer::start(Config::parse(&yaml, "test").unwrap(), ServerOptions::with_concurrency(1)).unwrap()
}

/// Waits (at most 10 s) until `check` holds on the server's xDS status.
fn wait_xds(server: &RunningServer, what: &str, check: impl Fn(&weir_xds::client::ClientStatus) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = server.control().xds_status().unwrap();
        if check(&status) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {status:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn xds_over_mtls_with_node_ids_from_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let servers = Pki::new(dir.path(), "cp").unwrap();
    let nodes = Pki::new(dir.path(), "nodes").unwrap();
    let node_a = nodes.client("node-a", "node-a", &["spiffe://weir/node-a"]).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mut tls = DownstreamTls::new(vec![servers.server("cp", &["weir-cp.test"]).unwrap()]);
    tls.alpn_protocols = vec!["h2".into()];
    tls.client_certificates = Some(ClientCertificates::new(nodes.ca().to_path_buf()));
    let xds_tls = XdsTls { tls, node_identity: NodeIdentity::FromCertificate };
    let cp = rt
        .block_on(ControlPlane::start(ServerConfig { xds_tls: Some(xds_tls), ..ServerConfig::local() }))
        .unwrap();
    cp.store().set_value("rtds", "greeting", json!("hello")).unwrap();

    let honest = weir(&cp, servers.ca(), &node_a, "spiffe://weir/node-a", "10s");
    wait_xds(&honest, "the runtime layer over mTLS", |s| {
        s.connected && s.types.values().any(|t| !t.acked_version.is_empty())
    });
    let node = cp.status().nodes.into_iter().find(|n| n.id == "spiffe://weir/node-a");
    assert!(node.is_some(), "weir-cp knows the node by its certificate's id");

    let posing = weir(&cp, servers.ca(), &node_a, "spiffe://weir/node-b", "1s");
    wait_xds(&posing, "the refusal", |s| {
        s.last_error.as_deref().is_some_and(|e| e.contains("not a subject alternative name"))
    });
    assert!(posing.control().xds_status().unwrap().types.values().all(|t| t.acked_version.is_empty()));
}
