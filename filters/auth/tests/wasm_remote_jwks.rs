//! The built filter in weir with a JWKS fetched by callout from an echo server (which serves
//! the `x-echo-body` header sent with the call as its body).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/filter.rs"]
mod filter;
#[path = "support/sign.rs"]
mod sign;

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use filter::{now, provider};
use serde_json::{Value, json};
use weir_testing::echo::EchoServer;
use weir_testing::{Harness, TestResponse};

fn compact_jwks() -> String {
    serde_json::from_str::<Value>(sign::JWKS).unwrap().to_string()
}

fn start(idp: SocketAddr, call_headers: Value) -> Harness {
    let remote = json!({"cluster": "idp", "uri": "http://idp.test/.well-known/jwks.json", "headers": call_headers, "failed_refetch_ms": 200});
    let config = json!({"jwt": {"providers": [provider(json!({"remote_jwks": remote}))]}});
    Harness::builder(filter::wasm())
        .configuration(&config.to_string())
        .cluster("idp", idp, false)
        .start()
        .expect("weir starts")
}

fn get(h: &Harness) -> TestResponse {
    let t = now();
    let token = sign::rs256(&sign::claims("u-1", t - 5, t + 600));
    h.get("/orders", &[("authorization", &format!("Bearer {token}"))]).unwrap()
}

#[test]
fn requests_wait_for_the_first_jwks() {
    let idp = EchoServer::start().unwrap();
    let h = start(idp.addr(), json!([["x-echo-body", compact_jwks()], ["x-echo-delay-ms", "700"]]));
    let started = Instant::now();
    let r = get(&h);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.upstream.unwrap().header("x-jwt-sub"), Some("u-1"));
    // Cached afterwards: no waiting.
    let started_again = Instant::now();
    assert_eq!(get(&h).status, 200);
    assert!(started_again.elapsed() < Duration::from_millis(500), "cached keys should not wait");
    assert!(started.elapsed() >= Duration::from_millis(400), "the first request waited for the JWKS");
}

#[test]
fn a_failed_fetch_refuses_the_waiting_requests() {
    let idp = EchoServer::start().unwrap();
    let h = start(
        idp.addr(),
        json!([["x-echo-status", "500"], ["x-echo-body", "oops"], ["x-echo-delay-ms", "300"]]),
    );
    let r = get(&h);
    assert_eq!((r.status, r.text().as_str()), (401, "Jwks remote fetch is failed"));
    assert_eq!(filter::challenges(&r), ["Bearer realm=\"example.com\", error=\"invalid_token\""]);
}

#[test]
fn an_unreachable_jwks_server_refuses_requests() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let h = start(closed, json!([]));
    let r = get(&h);
    assert_eq!((r.status, r.text().as_str()), (401, "Jwks remote fetch is failed"));
}

#[test]
fn a_malformed_jwks_is_a_failed_fetch() {
    let idp = EchoServer::start().unwrap();
    let h = start(idp.addr(), json!([["x-echo-body", "{\"keys\": [{\"kty\": \"RSA\"}]}"]]));
    let r = get(&h);
    assert_eq!(r.status, 401);
}
