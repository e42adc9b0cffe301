//! TLS listeners end to end: a real rustls client against weir in-process. SNI picks the
//! certificate, ALPN picks HTTP/2 or HTTP/1.1, client certificates are required when
//! configured, plain and TLS listeners run side by side, and certificates rotate under load
//! without a failed request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::ServerName;
use weir_host::config::Config;
use weir_host::process::{RunningServer, ServerOptions};
use weir_testing::echo::{Echo, EchoServer};
use weir_tls::CertificateFiles;
use weir_tls::test_pki::Pki;

struct Setup {
    dir: tempfile::TempDir,
    pki: Pki,
    clients: Pki,
    echo: EchoServer,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "server").unwrap();
    let clients = Pki::new(dir.path(), "clients").unwrap();
    pki.server("default", &["default.example"]).unwrap();
    pki.server("a", &["a.example"]).unwrap();
    Setup { pki, clients, echo: EchoServer::start().unwrap(), dir }
}

fn yaml(s: &Setup, client_certificates: &str, watch: &str) -> String {
    let d = s.dir.path().display();
    format!(
        r#"
admin: {{ address: 127.0.0.1:0 }}
listeners:
  - name: tls
    address: 127.0.0.1:0
    tls:
      certificates:
        - {{ certificate_chain: {d}/default.pem, private_key: {d}/default.key }}
        - {{ certificate_chain: {d}/a.pem, private_key: {d}/a.key }}
      watch_interval: {watch}
      {client_certificates}
    virtual_hosts:
      - {{ name: all, domains: ["*"], routes: [{{ name: r, match: {{ prefix: / }}, route: {{ cluster: echo }} }}] }}
  - name: plain
    address: 127.0.0.1:0
    virtual_hosts:
      - {{ name: all, domains: ["*"], routes: [{{ name: r, match: {{ prefix: / }}, route: {{ cluster: echo }} }}] }}
clusters:
  - {{ name: echo, endpoints: ["{}"] }}
"#,
        s.echo.addr()
    )
}

fn start(yaml: &str) -> RunningServer {
    RunningServer::start(Config::parse(yaml, "test").unwrap(), ServerOptions::with_concurrency(1)).unwrap()
}

/// What a TLS request saw: the HTTP version, the status, the echo, the server's certificate.
struct Seen {
    version: http::Version,
    status: u16,
    echo: Option<Echo>,
    server_cert: Vec<u8>,
}

fn client_config(ca: &Path, alpn: &[&str], cert: Option<&CertificateFiles>) -> Arc<rustls::ClientConfig> {
    weir_tls::test_pki::client_config(ca, alpn, cert).unwrap()
}

/// One request on a new TLS connection.
async fn get(addr: SocketAddr, config: Arc<rustls::ClientConfig>, sni: &str) -> Result<Seen, String> {
    let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = ServerName::try_from(sni.to_string()).unwrap();
    let tls = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.map_err(|e| e.to_string())?;
    let (_, conn) = tls.get_ref();
    let server_cert =
        conn.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec()).unwrap_or_default();
    let h2 = conn.alpn_protocol() == Some(b"h2");
    let request = http::Request::get("/hello").header("host", sni).body(Full::new(Bytes::new())).unwrap();
    let response = if h2 {
        let (mut send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let mut request = request;
        *request.uri_mut() = format!("https://{sni}/hello").parse().unwrap();
        send.send_request(request).await.map_err(|e| e.to_string())?
    } else {
        let (mut send, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        send.send_request(request).await.map_err(|e| e.to_string())?
    };
    let (version, status) = (response.version(), response.status().as_u16());
    let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(Seen { version, status, echo: serde_json::from_slice(&body).ok(), server_cert })
}

fn dns_names(der: &[u8]) -> Vec<String> {
    weir_tls::summary::summarize(der).unwrap().dns_sans
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn sni_alpn_and_plain_listener_side_by_side() {
    let s = setup();
    let server = start(&yaml(&s, "", "1s"));
    let tls = server.listener_addr("tls").unwrap();
    let rt = runtime();
    let ca = s.pki.ca();

    let h2 = rt.block_on(get(tls, client_config(ca, &["h2", "http/1.1"], None), "a.example")).unwrap();
    assert_eq!((h2.status, h2.version), (200, http::Version::HTTP_2));
    assert_eq!(dns_names(&h2.server_cert), ["a.example"]);
    let echo = h2.echo.unwrap();
    assert_eq!(echo.header("x-forwarded-proto"), Some("https"), "set by weir for a TLS listener");

    let h1 = rt.block_on(get(tls, client_config(ca, &["http/1.1"], None), "default.example")).unwrap();
    assert_eq!((h1.status, h1.version), (200, http::Version::HTTP_11));
    assert_eq!(dns_names(&h1.server_cert), ["default.example"]);
    assert_eq!(h1.echo.unwrap().header("x-forwarded-proto"), Some("https"));

    // No ALPN at all: HTTP/1.1.
    let none = rt.block_on(get(tls, client_config(ca, &[], None), "a.example")).unwrap();
    assert_eq!(none.version, http::Version::HTTP_11);

    // The plaintext listener next to it, and a plaintext request to the TLS one fails.
    let plain = server.listener_addr("plain").unwrap();
    let reply = rt.block_on(plain_get(plain)).unwrap();
    assert!(reply.contains("\"x-forwarded-proto\""), "{reply}");
    assert!(rt.block_on(plain_get(tls)).is_err());
}

async fn plain_get(addr: SocketAddr) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    tcp.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    match read {
        Ok(Ok(_)) if text.starts_with("HTTP/1.1 200") => Ok(text),
        other => Err(format!("{other:?}: {text:?}")),
    }
}

#[test]
fn client_certificates_required() {
    let s = setup();
    let alice = s.clients.client("alice", "alice", &["spiffe://weir/alice"]).unwrap();
    let rogue = Pki::new(s.dir.path(), "rogue").unwrap();
    let mallory = rogue.client("mallory", "mallory", &[]).unwrap();
    let clients = format!("client_certificates: {{ trusted_ca: {} }}", s.clients.ca().display());
    let server = start(&yaml(&s, &clients, "1s"));
    let tls = server.listener_addr("tls").unwrap();
    let rt = runtime();
    let ca = s.pki.ca();

    let ok = rt.block_on(get(tls, client_config(ca, &["h2"], Some(&alice)), "a.example")).unwrap();
    assert_eq!(ok.status, 200);
    assert!(rt.block_on(get(tls, client_config(ca, &["h2"], None), "a.example")).is_err(), "no certificate");
    assert!(
        rt.block_on(get(tls, client_config(ca, &["h2"], Some(&mallory)), "a.example")).is_err(),
        "unknown CA"
    );

    let admin = server.admin_addr().unwrap();
    let stats = rt.block_on(admin_get(admin, "/stats/prometheus"));
    let failed = stats
        .lines()
        .find(|l| {
            l.starts_with("weir_downstream_tls_handshake_total{listener=\"tls\"")
                && l.contains("result=\"failed\"")
        })
        .unwrap_or_else(|| panic!("{stats}"));
    assert!(failed.ends_with(" 2"), "{failed}");
}

async fn admin_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tcp.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// Swaps the certificate while clients keep making requests (new connections and
/// keep-alive): no request fails, and new handshakes see the new certificate within 2 s.
#[test]
fn certificates_rotate_under_load_without_a_failed_request() {
    let s = setup();
    let server = start(&yaml(&s, "", "200ms"));
    let tls = server.listener_addr("tls").unwrap();
    let rt = runtime();
    let config = client_config(s.pki.ca(), &["h2"], None);
    // Probes resume no session: a resumed TLS 1.3 session shows the certificate of the
    // handshake it resumes.
    let probe = || {
        let mut fresh = (*client_config(s.pki.ca(), &["h2"], None)).clone();
        fresh.resumption = rustls::client::Resumption::disabled();
        rt.block_on(get(tls, Arc::new(fresh), "a.example")).unwrap().server_cert
    };
    let before = probe();

    let stop = Arc::new(AtomicBool::new(false));
    let (done, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let load = {
        let (stop, done, failed, config) = (stop.clone(), done.clone(), failed.clone(), config.clone());
        rt.spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                match get(tls, config.clone(), "a.example").await {
                    Ok(seen) if seen.status == 200 => done.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        })
    };
    while done.load(Ordering::Relaxed) < 20 {
        std::thread::sleep(Duration::from_millis(10));
    }
    s.pki.server("a", &["a.example"]).unwrap();
    let swapped = Instant::now();
    let after = loop {
        let cert = probe();
        if cert != before {
            break cert;
        }
        assert!(swapped.elapsed() < Duration::from_secs(2), "new handshakes still get the old certificate");
        std::thread::sleep(Duration::from_millis(20));
    };
    // An invalid replacement: refused, the new certificate keeps serving.
    std::fs::write(s.dir.path().join("a.key"), "not a key").unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let still = probe();
    assert_eq!(still, after);
    let served = done.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    rt.block_on(load).unwrap();
    assert_eq!(failed.load(Ordering::Relaxed), 0, "requests failed during rotation ({served} served)");
    // An explicit reload of the same configuration reports the refused files.
    let refused =
        server.reload(Config::parse(&yaml(&s, "", "200ms"), "test").unwrap()).unwrap_err().to_string();
    assert!(refused.contains("a.key"), "{refused}");
}

/// The admin API over mTLS: only a client with a certificate from the configured CA reaches it.
#[test]
fn admin_api_over_mtls() {
    let s = setup();
    let alice = s.clients.client("alice", "alice", &[]).unwrap();
    let d = s.dir.path().display();
    let config = yaml(&s, "", "1s").replace(
        "admin: { address: 127.0.0.1:0 }",
        &format!(
            "admin:\n  address: 127.0.0.1:0\n  tls:\n    certificates: [{{ certificate_chain: {d}/a.pem, private_key: {d}/a.key }}]\n    client_certificates: {{ trusted_ca: {} }}",
            s.clients.ca().display()
        ),
    );
    let server = start(&config);
    let admin = server.admin_addr().unwrap();
    let rt = runtime();
    let ready = |cert: Option<&CertificateFiles>| {
        let config = client_config(s.pki.ca(), &["http/1.1"], cert);
        rt.block_on(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let tcp = tokio::net::TcpStream::connect(admin).await.map_err(|e| e.to_string())?;
            let name = ServerName::try_from("a.example").unwrap();
            let mut tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| e.to_string())?;
            let request = format!("GET /ready HTTP/1.1\r\nhost: {admin}\r\nconnection: close\r\n\r\n");
            tls.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            tls.read_to_end(&mut out).await.map_err(|e| e.to_string())?;
            Ok::<_, String>(String::from_utf8_lossy(&out).into_owned())
        })
    };
    let answer = ready(Some(&alice)).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("LIVE\n"), "{answer}");
    assert!(ready(None).is_err(), "no client certificate");
    assert!(rt.block_on(plain_get(admin)).is_err(), "plaintext");
}
