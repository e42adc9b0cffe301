//! Clusters with TLS, against a real TLS upstream (hyper behind weir-tls's `ServerTls`, test
//! certificates made at run time): HTTP/1.1 and HTTP/2 (by the cluster or by ALPN), a wrong
//! CA and a SAN mismatch as connect failures with Envoy's 503, client certificates, and the
//! errors of a bad `tls` section.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use support::{Client, simple_config, weir};
use weir_host::config::Config;
use weir_tls::test_pki::Pki;
use weir_tls::{ClientCertificates, DownstreamTls, ServerTls};

/// Envoy 1.40's body for an upstream TLS failure: the same as for a refused TCP connection
/// (the TLS reason is only in the response details and logs).
const CONNECT_FAILURE: &str =
    "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure";

struct Pkis {
    dir: tempfile::TempDir,
    servers: Pki,
    clients: Pki,
}

fn pkis() -> Pkis {
    let dir = tempfile::tempdir().unwrap();
    let servers = Pki::new(dir.path(), "servers").unwrap();
    let clients = Pki::new(dir.path(), "clients").unwrap();
    Pkis { dir, servers, clients }
}

/// An HTTPS upstream for `upstream.test`, answering with what it saw: `x-version`,
/// `x-alpn`, `x-sni`, `x-client` (the client certificate's subject); a request with `x-close`
/// gets its connection closed after the answer.
struct TlsBackend {
    addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

impl TlsBackend {
    fn start(p: &Pkis, require_client_cert: bool) -> TlsBackend {
        let mut settings = serde_norway::from_str::<DownstreamTls>("certificates: []").unwrap();
        settings.certificates = vec![p.servers.server("upstream", &["upstream.test"]).unwrap().into()];
        if require_client_cert {
            settings.client_certificates = Some(ClientCertificates::new(p.clients.ca().to_path_buf()));
        }
        let tls = Arc::new(ServerTls::new(&settings, "backend").unwrap());
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let tls = tls.clone();
                tokio::spawn(async move {
                    let Ok((stream, info)) = tls.accept(stream).await else { return };
                    let info = Arc::new(info);
                    let service = service_fn(move |req: Request<Incoming>| {
                        let info = info.clone();
                        async move {
                            let alpn = info.alpn.clone().map(|a| String::from_utf8_lossy(&a).into_owned());
                            let client = info.peer.as_ref().map(|p| p.subject.clone());
                            let mut response = Response::builder();
                            if req.headers().contains_key("x-close") {
                                response = response.header("connection", "close");
                            }
                            let response = response
                                .header("x-version", format!("{:?}", req.version()))
                                .header("x-alpn", alpn.unwrap_or_default())
                                .header("x-sni", info.server_name.clone().unwrap_or_default())
                                .header("x-client", client.unwrap_or_default())
                                .body(Full::new(Bytes::from_static(b"secure")))
                                .unwrap();
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        TlsBackend { addr, _runtime: runtime }
    }
}

/// A config with the cluster `backends` on `backend` and this `tls` section (YAML lines).
fn config(backend: &TlsBackend, cluster_extra: &str, tls: &str) -> String {
    let clusters =
        format!("  - name: backends\n    endpoints: ['{}']\n{cluster_extra}    tls:\n{tls}", backend.addr);
    simple_config("", &clusters)
}

fn trusting(p: &Pkis) -> String {
    format!("      trusted_ca: {}\n      sni: upstream.test\n", p.servers.ca().display())
}

/// [`trusting`] plus a client certificate (mTLS).
fn presenting(p: &Pkis, files: &weir_tls::CertificateFiles) -> String {
    format!(
        "{}      client_certificate:\n        certificate_chain: {}\n        private_key: {}\n",
        trusting(p),
        files.certificate_chain.display(),
        files.private_key.display()
    )
}

fn connect_failures(server: &weir_host::process::server::RunningServer, client: &Client) -> String {
    let admin = server.admin_addr().unwrap();
    let stats = client.get(admin, &admin.to_string(), "/stats/prometheus", &[]).text();
    stats
        .lines()
        .find(|l| l.starts_with("weir_cluster_upstream_cx_connect_fail_total{"))
        .unwrap_or("")
        .to_string()
}

#[test]
fn https_upstream_over_http1_and_http2() {
    let p = pkis();
    let backend = TlsBackend::start(&p, false);
    let client = Client::new();
    for (extra, tls, version) in [
        ("", trusting(&p), "HTTP/1.1"),
        ("    http2: true\n", trusting(&p), "HTTP/2.0"),
        ("", format!("{}      alpn_protocols: [h2, http/1.1]\n", trusting(&p)), "HTTP/2.0"),
    ] {
        let server = weir(&config(&backend, extra, &tls));
        let addr = server.listener_addr("main").unwrap();
        for _ in 0..3 {
            let reply = client.get(addr, "x", "/", &[]);
            assert_eq!((reply.status, reply.text().as_str()), (200, "secure"), "{tls}");
            assert_eq!(reply.header("x-version"), Some(version), "{extra}{tls}");
            assert_eq!(reply.header("x-sni"), Some("upstream.test"));
        }
    }
}

#[test]
fn a_wrong_ca_is_a_connect_failure_with_envoys_503() {
    let p = pkis();
    let backend = TlsBackend::start(&p, false);
    let other = Pki::new(p.dir.path(), "other").unwrap();
    let tls = format!("      trusted_ca: {}\n      sni: upstream.test\n", other.ca().display());
    let server = weir(&config(&backend, "", &tls));
    let client = Client::new();
    let reply = client.get(server.listener_addr("main").unwrap(), "x", "/", &[]);
    assert_eq!((reply.status, reply.text().as_str()), (503, CONNECT_FAILURE));
    assert!(connect_failures(&server, &client).ends_with(" 1"), "{}", connect_failures(&server, &client));
}

#[test]
fn subject_alt_names_are_verified() {
    let p = pkis();
    let backend = TlsBackend::start(&p, false);
    let client = Client::new();
    let ca = p.servers.ca().display().to_string();
    // No `sni` and an IP endpoint: the certificate must name the IP, and does not.
    let server = weir(&config(&backend, "", &format!("      trusted_ca: {ca}\n")));
    let reply = client.get(server.listener_addr("main").unwrap(), "x", "/", &[]);
    assert_eq!((reply.status, reply.text().as_str()), (503, CONNECT_FAILURE));
    // A SAN list replaces the name check: the right name passes, another is refused.
    let server = weir(&config(
        &backend,
        "",
        &format!("      trusted_ca: {ca}\n      verify_subject_alt_name: [upstream.test]\n"),
    ));
    let reply = client.get(server.listener_addr("main").unwrap(), "x", "/", &[]);
    assert_eq!((reply.status, reply.header("x-sni")), (200, Some("")), "no SNI for an IP endpoint");
    let server = weir(&config(
        &backend,
        "",
        &format!("{}      verify_subject_alt_name: [other.test]\n", trusting(&p)),
    ));
    let reply = client.get(server.listener_addr("main").unwrap(), "x", "/", &[]);
    assert_eq!((reply.status, reply.text().as_str()), (503, CONNECT_FAILURE));
    assert!(connect_failures(&server, &client).ends_with(" 1"));
}

#[test]
fn a_client_certificate_for_an_upstream_that_requires_one() {
    let p = pkis();
    let backend = TlsBackend::start(&p, true);
    let client = Client::new();
    let files = p.clients.client("weir", "weir-proxy", &["spiffe://weir.test/proxy"]).unwrap();
    let mtls = presenting(&p, &files);
    let server = weir(&config(&backend, "", &mtls));
    let reply = client.get(server.listener_addr("main").unwrap(), "x", "/", &[]);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-client"), Some("O=weir-tests,CN=weir-proxy"));
    let server = weir(&config(&backend, "", &trusting(&p)));
    let reply = client.get(server.listener_addr("main").unwrap(), "x", "/", &[]);
    assert_eq!(reply.status, 503, "{}", reply.text());
}

/// The client certificate's files are swapped while weir runs: new connections present the
/// new one (checked every second), and a broken replacement is refused while the last good
/// one keeps working.
#[test]
fn a_rotated_client_certificate_is_used_by_new_connections() {
    let p = pkis();
    let backend = TlsBackend::start(&p, true);
    let client = Client::new();
    let files = p.clients.client("weir", "weir-proxy", &[]).unwrap();
    let mtls = presenting(&p, &files);
    let server = weir(&config(&backend, "", &mtls));
    let listener = server.listener_addr("main").unwrap();
    let subject = || {
        let reply = client.get(listener, "x", "/", &[("x-close", "1")]);
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.header("x-client").unwrap_or_default().to_string()
    };
    assert_eq!(subject(), "O=weir-tests,CN=weir-proxy");
    p.clients.client("weir", "weir-rotated", &[]).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while subject() != "O=weir-tests,CN=weir-rotated" {
        assert!(std::time::Instant::now() < deadline, "the rotated certificate was never used");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // A key that does not parse: refused, the rotated certificate stays in use.
    weir_tls::test_pki::write_atomically(&files.private_key, "not a key").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(subject(), "O=weir-tests,CN=weir-rotated");
}

#[test]
fn bad_tls_settings_are_refused_with_the_field() {
    let p = pkis();
    let backend = TlsBackend::start(&p, false);
    let missing = config(&backend, "", "      trusted_ca: /nonexistent/ca.pem\n");
    let error = Config::parse(&missing, "t").unwrap_err().to_string();
    assert!(error.contains("clusters[0].tls.trusted_ca: cannot read /nonexistent/ca.pem"), "{error}");
    let versions = config(
        &backend,
        "",
        &format!("{}      min_version: TLSv1_3\n      max_version: TLSv1_2\n", trusting(&p)),
    );
    let error = Config::parse(&versions, "t").unwrap_err().to_string();
    assert!(error.contains("clusters[0].tls.min_version: is above max_version"), "{error}");
    let unknown = config(&backend, "", "      verify_subject_alt_names: [a]\n");
    assert!(Config::parse(&unknown, "t").is_err(), "unknown fields are refused");
}

#[test]
fn filters_see_the_upstream_connections_tls() {
    let p = pkis();
    let backend = TlsBackend::start(&p, true);
    let files = p.clients.client("weir", "weir-proxy", &["spiffe://weir.test/proxy"]).unwrap();
    let wasm = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/filters/abi-probe.wasm");
    assert!(wasm.exists(), "{} missing: run `cargo xtask build-filters`", wasm.display());
    let get =
        |name: &str| format!(r#"{{"op": "get_property", "path": ["upstream", "{name}"], "id": "{name}"}}"#);
    let program = format!(
        r#"{{"response_headers": [{}, {}, {}, {}, {}]}}"#,
        get("tls_version"),
        get("subject_peer_certificate"),
        get("dns_san_peer_certificate"),
        get("subject_local_certificate"),
        get("uri_san_local_certificate"),
    );
    let yaml = format!(
        "admin:\n  address: 127.0.0.1:0\nlisteners:\n  - name: main\n    address: 127.0.0.1:0\n    http_filters: [probe]\n    \
         virtual_hosts:\n      - name: all\n        domains: ['*']\n        routes:\n          - match: {{ prefix: / }}\n            \
         route: {{ cluster: backends }}\nplugins:\n  - name: probe\n    wasm: {}\n    configuration: '{program}'\nclusters:\n  \
         - name: backends\n    endpoints: ['{}']\n    tls:\n{}",
        wasm.display(),
        backend.addr,
        presenting(&p, &files),
    );
    let server = weir(&yaml);
    let reply = Client::new().get(server.listener_addr("main").unwrap(), "x", "/", &[]);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-probe-tls_version"), Some("TLSv1.3"));
    assert_eq!(reply.header("x-probe-subject_peer_certificate"), Some("CN=upstream"));
    assert_eq!(reply.header("x-probe-dns_san_peer_certificate"), Some("upstream.test"));
    assert_eq!(reply.header("x-probe-subject_local_certificate"), Some("O=weir-tests,CN=weir-proxy"));
    assert_eq!(reply.header("x-probe-uri_san_local_certificate"), Some("spiffe://weir.test/proxy"));
}

#[test]
fn health_checks_use_the_clusters_tls() {
    let p = pkis();
    let backend = TlsBackend::start(&p, false);
    let other = Pki::new(p.dir.path(), "other").unwrap();
    let client = Client::new();
    let checks =
        "    health_check: { path: /healthz, interval: 50ms, timeout: 1s, unhealthy_threshold: 1 }\n";
    let healthy = |server: &weir_host::process::server::RunningServer| {
        let admin = server.admin_addr().unwrap();
        let stats = client.get(admin, &admin.to_string(), "/stats/prometheus", &[]).text();
        let line = format!("weir_endpoint_healthy{{cluster=\"backends\",endpoint=\"{}\"}} ", backend.addr);
        stats.lines().find_map(|l| l.strip_prefix(line.as_str())).unwrap_or("?").to_string()
    };
    // Over TLS and HTTP/2 (ALPN h2 only): the checks pass and the endpoint stays healthy.
    let good = weir(&config(&backend, &format!("    http2: true\n{checks}"), &trusting(&p)));
    // With a CA that does not sign the upstream's certificate: the checks fail.
    let tls = format!("      trusted_ca: {}\n      sni: upstream.test\n", other.ca().display());
    let bad = weir(&config(&backend, checks, &tls));
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(healthy(&good), "1");
    assert_eq!(healthy(&bad), "0");
}
