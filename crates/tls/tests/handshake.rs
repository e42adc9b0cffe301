//! Handshakes between a rustls client and [`ServerTls`] over an in-memory pipe: SNI picks the
//! certificate, ALPN (no overlap: no ALPN, as Envoy), client certificates (required, optional, pinned), and rotation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rustls::pki_types::ServerName;
use tokio::io::duplex;
use weir_http::TlsInfo;
use weir_tls::test_pki::{Pki, write_atomically};
use weir_tls::{CertificateFiles, ClientCertificates, DownstreamTls, ServerTls};

struct Fixture {
    _dir: tempfile::TempDir,
    pki: Pki,
    default: CertificateFiles,
    exact: CertificateFiles,
    wildcard: CertificateFiles,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "server").unwrap();
    Fixture {
        default: pki.server("default", &["default.example"]).unwrap(),
        exact: pki.server("exact", &["a.example"]).unwrap(),
        wildcard: pki.server("wildcard", &["*.wild.example"]).unwrap(),
        pki,
        _dir: dir,
    }
}

fn settings(certificates: Vec<CertificateFiles>) -> DownstreamTls {
    DownstreamTls::new(certificates)
}

/// A client handshake with `sni`; the server's view, or its error.
async fn handshake(
    server: &ServerTls,
    ca: &std::path::Path,
    sni: &str,
    alpn: &[&str],
    client_cert: Option<&CertificateFiles>,
) -> Result<TlsInfo, String> {
    let config = weir_tls::test_pki::client_config(ca, alpn, client_cert).unwrap();
    let (client_io, server_io) = duplex(64 * 1024);
    let connector = tokio_rustls::TlsConnector::from(config);
    let name = ServerName::try_from(sni.to_string()).unwrap();
    let client = async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = connector.connect(name, client_io).await?;
        // TLS 1.3 client certificates are checked after the client's Finished: read once so a
        // refusal arrives as an error here.
        s.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await?;
        Ok::<_, std::io::Error>(())
    };
    let server = async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut s, info) = server.accept(server_io).await?;
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).await?;
        s.write_all(b"pong").await?;
        s.flush().await?;
        Ok::<_, std::io::Error>(info)
    };
    let (c, s) = tokio::join!(client, server);
    match (c, s) {
        (Ok(()), Ok(info)) => Ok(info),
        (c, s) => Err(format!("client: {:?}, server: {:?}", c.err(), s.err())),
    }
}

#[tokio::test]
async fn sni_picks_exact_then_wildcard_then_the_first() {
    let f = fixture();
    let tls =
        ServerTls::new(&settings(vec![f.default.clone(), f.exact.clone(), f.wildcard.clone()]), "t").unwrap();
    let local = |info: TlsInfo| info.local.unwrap().dns_sans;
    let ca = f.pki.ca();
    assert_eq!(local(handshake(&tls, ca, "a.example", &[], None).await.unwrap()), ["a.example"]);
    assert_eq!(local(handshake(&tls, ca, "x.wild.example", &[], None).await.unwrap()), ["*.wild.example"]);
    assert_eq!(local(handshake(&tls, ca, "default.example", &[], None).await.unwrap()), ["default.example"]);
    // Two labels under the wildcard: not covered, so the default certificate, which the
    // client refuses for that name.
    assert!(handshake(&tls, ca, "y.x.wild.example", &[], None).await.is_err());
    let info = handshake(&tls, ca, "a.example", &["h2", "http/1.1"], None).await.unwrap();
    assert_eq!(info.alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(info.version, "TLSv1.3");
    assert_eq!(info.server_name.as_deref(), Some("a.example"));
    assert!(!info.mtls());
}

#[tokio::test]
async fn a_client_offering_none_of_the_protocols_is_served_without_alpn_as_envoy_does() {
    let f = fixture();
    let tls = ServerTls::new(&settings(vec![f.default.clone()]), "t").unwrap();
    let ca = f.pki.ca();
    let info = handshake(&tls, ca, "default.example", &["spdy/3"], None).await.unwrap();
    assert_eq!(info.alpn, None, "no ALPN, not a no_application_protocol alert");
    let info = handshake(&tls, ca, "default.example", &["spdy/3", "http/1.1"], None).await.unwrap();
    assert_eq!(info.alpn.as_deref(), Some(&b"http/1.1"[..]));
}

fn with_clients(f: &Fixture, clients: &Pki, require: bool, sans: &[&str]) -> ServerTls {
    let mut s = settings(vec![f.exact.clone()]);
    s.client_certificates = Some(ClientCertificates {
        require,
        match_subject_alt_names: sans.iter().map(|s| s.to_string()).collect(),
        ..ClientCertificates::new(clients.ca().to_path_buf())
    });
    ServerTls::new(&s, "t").unwrap()
}

#[tokio::test]
async fn client_certificates_required_optional_and_pinned() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let clients = Pki::new(dir.path(), "clients").unwrap();
    let alice = clients.client("alice", "alice", &["spiffe://weir/alice"]).unwrap();
    let rogue_ca = Pki::new(dir.path(), "rogue").unwrap();
    let mallory = rogue_ca.client("mallory", "alice", &["spiffe://weir/alice"]).unwrap();
    let ca = f.pki.ca();

    let required = with_clients(&f, &clients, true, &[]);
    assert!(handshake(&required, ca, "a.example", &[], None).await.is_err(), "no certificate");
    assert!(handshake(&required, ca, "a.example", &[], Some(&mallory)).await.is_err(), "unknown CA");
    let info = handshake(&required, ca, "a.example", &[], Some(&alice)).await.unwrap();
    assert!(info.mtls());
    let peer = info.peer.unwrap();
    // rcgen encodes CN before O; RFC 2253 prints the last RDN first (checked against
    // `openssl x509 -nameopt RFC2253`).
    assert_eq!(peer.subject, "O=weir-tests,CN=alice");
    assert_eq!(peer.uri_sans, ["spiffe://weir/alice"]);
    assert_eq!(peer.sha256.len(), 64);

    let optional = with_clients(&f, &clients, false, &[]);
    assert!(!handshake(&optional, ca, "a.example", &[], None).await.unwrap().mtls());
    assert!(
        handshake(&optional, ca, "a.example", &[], Some(&mallory)).await.is_err(),
        "a bad one still fails"
    );

    let pinned = with_clients(&f, &clients, true, &["spiffe://weir/bob"]);
    assert!(handshake(&pinned, ca, "a.example", &[], Some(&alice)).await.is_err(), "SAN not allowed");
}

#[tokio::test]
async fn rotation_takes_a_valid_set_and_refuses_a_broken_one() {
    let f = fixture();
    let tls = ServerTls::new(&settings(vec![f.exact.clone()]), "t").unwrap();
    let ca = f.pki.ca();
    let before = handshake(&tls, ca, "a.example", &[], None).await.unwrap().local.unwrap().sha256;
    assert!(!tls.reload().unwrap(), "nothing changed");

    f.pki.server("exact", &["a.example"]).unwrap();
    assert!(tls.reload().unwrap());
    let after = handshake(&tls, ca, "a.example", &[], None).await.unwrap().local.unwrap().sha256;
    assert_ne!(before, after);

    write_atomically(
        &f.exact.certificate_chain,
        "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let refused = tls.reload().unwrap_err().to_string();
    assert!(refused.contains("exact.pem"), "{refused}");
    assert!(!tls.reload().unwrap(), "the same refused set is reported once");
    let still = handshake(&tls, ca, "a.example", &[], None).await.unwrap().local.unwrap().sha256;
    assert_eq!(still, after, "the running set keeps serving");

    // A key from another certificate: refused with the reason.
    let other = f.pki.server("other", &["a.example"]).unwrap();
    f.pki.server("exact", &["a.example"]).unwrap();
    std::fs::copy(&other.private_key, &f.exact.private_key).unwrap();
    let mismatch = tls.reload().unwrap_err().to_string();
    assert!(mismatch.contains("does not match"), "{mismatch}");
}

#[test]
fn bad_settings_name_the_field() {
    let f = fixture();
    let mut s = settings(vec![f.exact.clone()]);
    s.cipher_suites = vec!["TLS_RSA_WITH_RC4_128_MD5".into()];
    let e = ServerTls::new(&s, "listeners[0].tls").unwrap_err().to_string();
    assert!(e.starts_with("listeners[0].tls.cipher_suites: unknown or unsupported suite"), "{e}");
    let e = ServerTls::new(&settings(vec![]), "listeners[0].tls").unwrap_err().to_string();
    assert!(e.starts_with("listeners[0].tls.certificates"), "{e}");
    let mut s = settings(vec![f.exact.clone()]);
    s.min_version = weir_tls::TlsVersion::Tls13;
    s.max_version = weir_tls::TlsVersion::Tls12;
    assert!(ServerTls::new(&s, "x").unwrap_err().to_string().starts_with("x.min_version"));
}
