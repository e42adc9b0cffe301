//! `weir -c envoy.yaml`: every example's Envoy bootstrap (`examples/*/envoy.yaml`), served by
//! weir directly, answers exactly as the example's `weir.yaml` served by weir — same status,
//! headers and body for the same requests (request ids, dates and upstream times aside). Ports are made
//! ephemeral, the upstream is an echo server and module paths absolute; nothing else changes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::net::SocketAddr;

use anyhow::Context;
use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use serde_json::Value;
use weir_tests::client;
use weir_tests::echo::EchoServer;
use weir_tests::weir::Weir;

const EXAMPLES: [&str; 3] = ["header-rewrite", "body-rewrite", "require-header"];

fn requests() -> Vec<Request<Full<Bytes>>> {
    let get = |path: &str, headers: &[(&str, &str)]| client::get(path, headers);
    vec![
        get("/", &[]),
        get("/a/b?c=d", &[("x-internal", "secret"), ("x-api-key", "k")]),
        get("/a//b/../c", &[("x-api-key", "k")]),
        get("/a%2Fb", &[("x-api-key", "k")]),
        Request::post("/echo")
            .header("x-api-key", "k")
            .header("content-type", "text/plain")
            .body(Full::new(Bytes::from_static(b"hello world, hello weir")))
            .unwrap(),
    ]
}

/// Status, headers and body, without what differs per request.
fn normalized(reply: &client::Reply) -> Value {
    let volatile = |name: &str| {
        matches!(name, "date" | "x-request-id" | "content-length" | "x-envoy-upstream-service-time")
    };
    let headers: Vec<(String, String)> =
        reply.headers.iter().filter(|(k, _)| !volatile(k)).cloned().collect();
    let mut body =
        serde_json::from_slice::<Value>(&reply.body).unwrap_or_else(|_| Value::String(reply.text()));
    if let Some(h) = body.get_mut("headers").and_then(Value::as_array_mut) {
        h.retain(|pair| !volatile(pair[0].as_str().unwrap_or_default()));
    }
    serde_json::json!({"status": reply.status, "headers": headers, "body": body})
}

async fn answers(addr: SocketAddr) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    for request in requests() {
        out.push(normalized(&client::send(addr, request).await?));
    }
    Ok(out)
}

async fn serve(yaml: String) -> anyhow::Result<(Weir, SocketAddr)> {
    let weir = Weir::start_async(yaml, 1).await?;
    let addr = weir.listener("main")?;
    Ok((weir, addr))
}

#[tokio::test(flavor = "multi_thread")]
async fn example_bootstraps_serve_as_their_weir_yaml() -> anyhow::Result<()> {
    let root = weir_testkit::paths::workspace();
    let filters = root.join("target/filters");
    for name in EXAMPLES {
        weir_testkit::paths::filter(name)?;
        let echo = EchoServer::start()?;
        let port = echo.addr().port().to_string();
        let dir = root.join("examples").join(name);
        let envoy = std::fs::read_to_string(dir.join("envoy.yaml"))?
            .replace("port_value: 9901", "port_value: 0")
            .replace("port_value: 10000", "port_value: 0")
            .replace("port_value: 8080", &format!("port_value: {port}"))
            .replace("filename: target/filters/", &format!("filename: {}/", filters.display()));
        let weir = std::fs::read_to_string(dir.join("weir.yaml"))?
            .replace("127.0.0.1:9901", "127.0.0.1:0")
            .replace("127.0.0.1:10000", "127.0.0.1:0")
            .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
            .replace("../../target/filters/", &format!("{}/", filters.display()));
        let (_a, from_envoy) = serve(envoy).await.with_context(|| format!("{name}/envoy.yaml"))?;
        let (_b, from_weir) = serve(weir).await.with_context(|| format!("{name}/weir.yaml"))?;
        let (a, b) = (answers(from_envoy).await?, answers(from_weir).await?);
        for (i, (a, b)) in a.iter().zip(&b).enumerate() {
            assert_eq!(a, b, "{name}: request {i} answered differently (envoy.yaml, then weir.yaml)");
        }
        let statuses: Vec<&Value> = a.iter().map(|v| &v["status"]).collect();
        assert!(statuses.contains(&&Value::from(200)), "{name}: the upstream answered none: {statuses:?}");
        println!("{name}: envoy.yaml and weir.yaml answer {} requests alike ({statuses:?})", a.len());
    }
    Ok(())
}
