//! Handshakes between [`ClientTls`] (a cluster's TLS) and [`ServerTls`] over an in-memory
//! pipe: the CA, the server name, SAN pins, client certificates, ALPN, and what filters see.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr};

use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};
use weir_http::TlsInfo;
use weir_tls::test_pki::Pki;
use weir_tls::{CertificateFiles, ClientCertificates, ClientTls, DownstreamTls, ServerTls, UpstreamTls};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

struct Fixture {
    _dir: tempfile::TempDir,
    servers: Pki,
    other: Pki,
    clients: Pki,
    cert: CertificateFiles,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let servers = Pki::new(dir.path(), "servers").unwrap();
    let other = Pki::new(dir.path(), "other").unwrap();
    let clients = Pki::new(dir.path(), "clients").unwrap();
    let cert = servers.server("upstream", &["upstream.test"]).unwrap();
    Fixture { _dir: dir, servers, other, clients, cert }
}

fn server(f: &Fixture, client_certs: bool) -> ServerTls {
    let mut s = serde_norway::from_str::<DownstreamTls>("certificates: []").unwrap();
    s.certificates = vec![f.cert.clone().into()];
    if client_certs {
        s.client_certificates = Some(ClientCertificates {
            trusted_ca: Some(f.clients.ca().to_path_buf()),
            trusted_ca_sds: None,
            require: true,
            match_subject_alt_names: Vec::new(),
            verify_certificate_spki: Vec::new(),
            verify_certificate_hash: Vec::new(),
        });
    }
    ServerTls::new(&s, "listeners[0].tls").unwrap()
}

fn trusting(ca: &std::path::Path) -> UpstreamTls {
    UpstreamTls { trusted_ca: Some(ca.to_path_buf()), ..UpstreamTls::default() }
}

/// A handshake of `client` (to an endpoint written as `host`) with `server`, then one
/// exchange of bytes (a TLS 1.3 client certificate is refused only after the client's
/// Finished); the client's and the server's views, or the client's error.
async fn handshake(
    client: &ClientTls,
    host: Option<&str>,
    server: &ServerTls,
) -> Result<(TlsInfo, TlsInfo), String> {
    let (client_io, server_io) = duplex(64 * 1024);
    let name = client.server_name(host, LOCALHOST);
    let client = async move {
        let (mut s, info) = client.connect(name, client_io).await?;
        s.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await?;
        Ok::<_, std::io::Error>(info)
    };
    let server = async move {
        let (mut s, info) = server.accept(server_io).await?;
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await?;
        s.write_all(b"pong").await?;
        s.flush().await?;
        Ok::<_, std::io::Error>(info)
    };
    match tokio::join!(client, server) {
        (Ok(c), Ok(s)) => Ok((c, s)),
        (c, _) => Err(c.err().map(|e| e.to_string()).unwrap_or_else(|| "server failed".into())),
    }
}

#[tokio::test]
async fn trusted_ca_and_the_endpoint_hostname() {
    let f = fixture();
    let client = ClientTls::new(&trusting(f.servers.ca()), false, "clusters[0].tls").unwrap();
    let (info, server_view) = handshake(&client, Some("upstream.test"), &server(&f, false)).await.unwrap();
    assert_eq!(info.version, "TLSv1.3");
    assert_eq!(info.server_name.as_deref(), Some("upstream.test"));
    assert_eq!(server_view.server_name.as_deref(), Some("upstream.test"));
    assert_eq!(info.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(info.peer.unwrap().dns_sans, ["upstream.test"]);
    assert!(info.local.is_none());
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    let f = fixture();
    let client = ClientTls::new(&trusting(f.other.ca()), false, "c").unwrap();
    let error = handshake(&client, Some("upstream.test"), &server(&f, false)).await.unwrap_err();
    assert!(error.contains("UnknownIssuer"), "{error}");
}

#[tokio::test]
async fn the_name_is_checked_unless_a_san_list_replaces_it() {
    let f = fixture();
    let server = server(&f, false);
    // An IP endpoint and no `sni`: the certificate does not name 127.0.0.1.
    let by_ip = ClientTls::new(&trusting(f.servers.ca()), false, "c").unwrap();
    let error = handshake(&by_ip, Some("127.0.0.1"), &server).await.unwrap_err();
    assert!(error.contains("not valid for name"), "{error}");
    // An explicit `sni` wins over the endpoint's name.
    let sni = UpstreamTls { sni: Some("upstream.test".into()), ..trusting(f.servers.ca()) };
    let (info, _) =
        handshake(&ClientTls::new(&sni, false, "c").unwrap(), Some("127.0.0.1"), &server).await.unwrap();
    assert_eq!(info.server_name.as_deref(), Some("upstream.test"));
    // A SAN list replaces the name check: a matching one passes by IP, another is refused.
    let san =
        |name: &str| UpstreamTls { verify_subject_alt_name: vec![name.into()], ..trusting(f.servers.ca()) };
    let ok = ClientTls::new(&san("upstream.test"), false, "c").unwrap();
    let (info, _) = handshake(&ok, Some("127.0.0.1"), &server).await.unwrap();
    assert_eq!(info.server_name, None, "no SNI is sent for an IP address");
    let wrong = ClientTls::new(&san("other.test"), false, "c").unwrap();
    let error = handshake(&wrong, Some("upstream.test"), &server).await.unwrap_err();
    assert!(error.contains("no subject alternative name matches"), "{error}");
    // The chain is still verified with a SAN list.
    let other_ca =
        UpstreamTls { verify_subject_alt_name: vec!["upstream.test".into()], ..trusting(f.other.ca()) };
    let error = handshake(&ClientTls::new(&other_ca, false, "c").unwrap(), None, &server).await.unwrap_err();
    assert!(error.contains("UnknownIssuer"), "{error}");
}

#[tokio::test]
async fn a_client_certificate_for_a_server_that_requires_one() {
    let f = fixture();
    let server = server(&f, true);
    let files = f.clients.client("weir", "weir-upstream", &["spiffe://weir.test/proxy"]).unwrap();
    let mtls = UpstreamTls { client_certificate: Some(files), ..trusting(f.servers.ca()) };
    let client = ClientTls::new(&mtls, false, "c").unwrap();
    let (info, server_view) = handshake(&client, Some("upstream.test"), &server).await.unwrap();
    assert_eq!(info.local.unwrap().uri_sans, ["spiffe://weir.test/proxy"]);
    assert!(server_view.mtls());
    assert_eq!(server_view.peer.unwrap().subject, "O=weir-tests,CN=weir-upstream");
    let without = ClientTls::new(&trusting(f.servers.ca()), false, "c").unwrap();
    assert!(handshake(&without, Some("upstream.test"), &server).await.is_err());
}

#[tokio::test]
async fn alpn_follows_the_cluster_protocol_unless_configured() {
    let f = fixture();
    let server = server(&f, false);
    let h2 = ClientTls::new(&trusting(f.servers.ca()), true, "c").unwrap();
    let (info, _) = handshake(&h2, Some("upstream.test"), &server).await.unwrap();
    assert_eq!(info.alpn.as_deref(), Some(&b"h2"[..]));
    let listed = UpstreamTls {
        alpn_protocols: Some(vec!["h2".into(), "http/1.1".into()]),
        ..trusting(f.servers.ca())
    };
    let (info, _) = handshake(&ClientTls::new(&listed, false, "c").unwrap(), Some("upstream.test"), &server)
        .await
        .unwrap();
    assert_eq!(info.alpn.as_deref(), Some(&b"h2"[..]));
}

#[test]
fn settings_errors_name_the_field() {
    let f = fixture();
    let missing = trusting(std::path::Path::new("/nonexistent/ca.pem"));
    let error = ClientTls::new(&missing, false, "clusters[2].tls").unwrap_err().to_string();
    assert!(error.starts_with("clusters[2].tls.trusted_ca: cannot read /nonexistent/ca.pem"), "{error}");
    let bad_sni = UpstreamTls { sni: Some("not a name".into()), ..trusting(f.servers.ca()) };
    let error = ClientTls::new(&bad_sni, false, "clusters[2].tls").unwrap_err().to_string();
    assert!(error.starts_with("clusters[2].tls.sni:"), "{error}");
    let key_mismatch = CertificateFiles {
        certificate_chain: f.cert.certificate_chain.clone(),
        private_key: f.clients.client("x", "x", &[]).unwrap().private_key,
    };
    let mtls = UpstreamTls { client_certificate: Some(key_mismatch), ..trusting(f.servers.ca()) };
    let error = ClientTls::new(&mtls, false, "clusters[2].tls").unwrap_err().to_string();
    assert!(error.starts_with("clusters[2].tls.client_certificate:"), "{error}");
    let yaml = "trusted_ca: /etc/ca.pem\nverify_subject_alt_name: [a.test]\nunknown: 1\n";
    assert!(serde_norway::from_str::<UpstreamTls>(yaml).is_err(), "unknown fields are refused");
}
