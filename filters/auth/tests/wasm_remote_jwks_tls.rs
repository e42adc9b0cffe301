//! The built filter in weir fetching its JWKS from an `https://` URI: over the cluster's TLS
//! (a real TLS server with test certificates made at run time), and refused when the cluster
//! has no TLS (weir never sends an `https` call in cleartext).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/filter.rs"]
mod filter;
#[path = "support/sign.rs"]
mod sign;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use filter::{now, provider};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;
use weir_testing::{Harness, TestResponse};
use weir_tls::test_pki::Pki;
use weir_tls::{DownstreamTls, ServerTls, UpstreamTls};

/// A JWKS server over TLS for `idp.test`, counting the connections and requests that reach it.
struct Idp {
    addr: SocketAddr,
    connections: Arc<AtomicU64>,
    served: Arc<AtomicU64>,
    ca: std::path::PathBuf,
    _dir: tempfile::TempDir,
    _runtime: tokio::runtime::Runtime,
}

fn idp() -> Idp {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "idp").unwrap();
    let mut settings = server_settings();
    settings.certificates = vec![pki.server("idp", &["idp.test"]).unwrap().into()];
    let tls = Arc::new(ServerTls::new(&settings, "idp").unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::new(AtomicU64::new(0));
    let connections = Arc::new(AtomicU64::new(0));
    let (count, accepted) = (served.clone(), connections.clone());
    runtime.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            accepted.fetch_add(1, Ordering::Relaxed);
            let (tls, count) = (tls.clone(), count.clone());
            tokio::spawn(async move {
                let Ok((stream, _)) = tls.accept(stream).await else { return };
                let service = service_fn(move |_req| {
                    count.fetch_add(1, Ordering::Relaxed);
                    async {
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                            sign::JWKS.as_bytes(),
                        ))))
                    }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let _ = builder.serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Idp { addr, connections, served, ca: pki.ca().to_path_buf(), _dir: dir, _runtime: runtime }
}

fn server_settings() -> DownstreamTls {
    serde_json::from_value(json!({"certificates": []})).unwrap()
}

fn start(idp: &Idp, tls: Option<UpstreamTls>) -> Harness {
    let remote =
        json!({"cluster": "idp", "uri": "https://idp.test/.well-known/jwks.json", "failed_refetch_ms": 200});
    let config = json!({"jwt": {"providers": [provider(json!({"remote_jwks": remote}))]}});
    Harness::builder(filter::wasm())
        .configuration(&config.to_string())
        .cluster("idp", idp.addr, false)
        .with_cluster(|c| c.tls = tls)
        .start()
        .expect("weir starts")
}

fn get(h: &Harness) -> TestResponse {
    let t = now();
    let token = sign::rs256(&sign::claims("u-1", t - 5, t + 600));
    h.get("/orders", &[("authorization", &format!("Bearer {token}"))]).unwrap()
}

#[test]
fn an_https_jwks_is_fetched_over_the_clusters_tls() {
    let idp = idp();
    let tls = UpstreamTls {
        trusted_ca: Some(idp.ca.clone()),
        sni: Some("idp.test".into()),
        ..UpstreamTls::default()
    };
    let h = start(&idp, Some(tls));
    let r = get(&h);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.upstream.unwrap().header("x-jwt-sub"), Some("u-1"));
    assert!(idp.served.load(Ordering::Relaxed) >= 1);
}

#[test]
fn an_https_jwks_on_a_cluster_without_tls_is_never_fetched() {
    let idp = idp();
    let h = start(&idp, None);
    let r = get(&h);
    assert_eq!((r.status, r.text().as_str()), (401, "Jwks remote fetch is failed"));
    assert_eq!(idp.connections.load(Ordering::Relaxed), 0, "no cleartext call reached the server");
}
