//! The admin API against local users and browser pages: cross-site requests, DNS rebinding,
//! missing or wrong tokens, browser content types, huge bodies, secrets in views, and a flood of
//! self-declared node ids.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::json;
use weir_admin_guard::Token;
use weir_cp::{ControlPlane, ServerConfig};
use weir_xds::types::RUNTIME;

const TOKEN: &str = "hostile-test-token-0123456789";

struct Reply {
    status: u16,
    body: String,
    challenge: Option<String>,
}

/// Sends one raw request: `headers` exactly as given (no default `Host`).
async fn send(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
    let mut request = http::Request::builder().method(method).uri(path);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let request = request.body(Full::new(Bytes::from(body))).unwrap();
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let challenge = response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string());
    let body =
        String::from_utf8_lossy(&response.into_body().collect().await.unwrap().to_bytes()).into_owned();
    Reply { status, body, challenge }
}

/// The status of a request that declares a `len`-byte body and sends none of it: a body over
/// the cap is refused from the declared length, before any of it is read. (Sending the bytes
/// races the early answer: the server closes while the client is still writing.)
async fn declared(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], len: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\ncontent-length: {len}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before answering: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&answer[9..12]).parse().unwrap()
}

async fn start(token: bool) -> (ControlPlane, SocketAddr, String) {
    let mut config = ServerConfig::local();
    if token {
        config = config.with_token(Token::new(TOKEN, "test").unwrap());
    }
    let cp = ControlPlane::start(config).await.unwrap();
    let admin = cp.admin_addr().unwrap();
    (cp, admin, admin.to_string())
}

/// `base` with `changes` applied: a header replaced, added, or removed (an empty value).
fn headers<'a>(base: &[(&'a str, &'a str)], changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all: Vec<(&str, &str)> =
        base.iter().filter(|(k, _)| !changes.iter().any(|(c, _)| c == k)).copied().collect();
    all.extend(changes.iter().filter(|(_, v)| !v.is_empty()).copied());
    all
}

#[tokio::test]
async fn browsers_foreign_hosts_and_anonymous_changes_are_refused() {
    let (cp, addr, host) = start(true).await;
    let bearer = format!("Bearer {TOKEN}");
    let good =
        [("host", host.as_str()), ("authorization", bearer.as_str()), ("content-type", "application/json")];
    let put = |changes: &[(&'static str, &str)]| {
        let h: Vec<(String, String)> =
            headers(&good, changes).into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        async move {
            let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            send(addr, "PUT", "/runtime/rtds/a.b", &h, b"5".to_vec()).await
        }
    };

    // A cross-site request from a page (it carries Origin), even with the token.
    let r = put(&[("origin", "https://evil.example")]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("Origin"), "{}", r.body);
    // DNS rebinding: the page's own name in Host, reads included.
    let evil_host = format!("evil.example:{}", addr.port());
    let r = put(&[("host", &evil_host)]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = send(addr, "GET", "/status", &[("host", &evil_host)], vec![]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // No token, a wrong one, another scheme.
    let r = put(&[("authorization", "")]).await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.challenge.as_deref(), Some("Bearer realm=\"weir-cp admin\""));
    for wrong in ["Bearer hostile-test-token-0123456780", "Basic YWRtaW46YWRtaW4="] {
        let r = put(&[("authorization", wrong)]).await;
        assert_eq!(r.status, 401, "{wrong}: {}", r.body);
    }
    // Bodies a browser form can send.
    for browser in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
        let r = put(&[("content-type", browser)]).await;
        assert_eq!(r.status, 415, "{browser}: {}", r.body);
    }
    assert_eq!(declared(addr, "POST", "/runtime/big", &good, 2 << 20).await, 413);
    // None of it changed anything; the token over a good request does.
    assert!(cp.store().snapshot().runtime.resources["rtds"].value.as_object().unwrap().is_empty());
    let r = put(&[]).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Without a token configured, changes over TCP are off and the answer says how to enable them.
    let (_cp, addr, host) = start(false).await;
    let r = send(addr, "DELETE", "/runtime/rtds", &[("host", host.as_str())], vec![]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("--token-file") && r.body.contains("--admin-socket"), "{}", r.body);
    let r = send(addr, "GET", "/runtime", &[("host", &format!("localhost:{}", addr.port()))], vec![]).await;
    assert_eq!(r.status, 200, "reads need no token: {}", r.body);
}

#[tokio::test]
async fn ecds_views_hide_plugin_secrets() {
    let (cp, addr, host) = start(true).await;
    let secret = json!({"api_keys": [{"key": "sk-live-SECRET-1234"}], "hmac": "HMAC-SECRET-5678"});
    let config = weir_cp::EcdsConfig {
        wasm: "/filters/auth.wasm".into(),
        remote: None,
        vm_id: "auth".into(),
        root_id: String::new(),
        configuration: secret.clone(),
        failure_policy: None,
    };
    cp.store().put_ecds("auth", config).unwrap();
    let bearer = format!("Bearer {TOKEN}");
    for path in ["/ecds", "/ecds/auth"] {
        let r = send(addr, "GET", path, &[("host", &host)], vec![]).await;
        assert_eq!(r.status, 200);
        assert!(!r.body.contains("SECRET"), "{path} leaks: {}", r.body);
        assert!(r.body.contains("\"redacted\": true") && r.body.contains("sha256"), "{}", r.body);
        let r = send(addr, "GET", &format!("{path}?show_secrets=true"), &[("host", &host)], vec![]).await;
        assert_eq!(r.status, 401, "anonymous show_secrets: {}", r.body);
        let auth = [("host", host.as_str()), ("authorization", bearer.as_str())];
        let r = send(addr, "GET", &format!("{path}?show_secrets=true"), &auth, vec![]).await;
        assert!(r.status == 200 && r.body.contains("sk-live-SECRET-1234"), "{}", r.body);
    }
}

#[tokio::test]
async fn a_flood_of_node_ids_stays_within_the_cap() {
    let mut config = ServerConfig::local();
    config.max_nodes = 5;
    let cp = ControlPlane::start(config).await.unwrap();
    for i in 0..60 {
        let mut client =
            common::Client::open(cp.xds_addr(), common::Service::Ads, &format!("fake-{i}")).await.unwrap();
        client.send(RUNTIME, &["rtds"], "", "", None).await;
        client.recv().await.unwrap();
    }
    wait(&cp, |c| c.disconnects == 60).await;
    let mut live = common::Client::open(cp.xds_addr(), common::Service::Ads, "live").await.unwrap();
    live.send(RUNTIME, &["rtds"], "", "", None).await;
    live.recv().await.unwrap();
    let status = cp.status();
    assert_eq!(status.nodes.len(), 5);
    assert!(status.nodes.iter().any(|n| n.id == "live" && n.connected), "{status:?}");
    let c = status.counters;
    assert!(c.evicted > 0 && c.evicted + c.untracked == 56, "{c:?}");
}

/// Waits until the counters satisfy `check`, checking the cap all along.
async fn wait(cp: &ControlPlane, check: impl Fn(&weir_cp::status::Counters) -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let status = cp.status();
        assert!(status.nodes.len() <= 5, "{} nodes", status.nodes.len());
        if check(&status.counters) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{:?}", status.counters);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
