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

/// `envoy-configs/shuffle-shard.yaml` served by weir (ECDS and RTDS on streams of their own,
/// the rtds-bridge taken as weir's own runtime publisher, the admin runtime layer) answers as
/// `examples/shuffle-shard/weir.yaml` served by weir, both fed by one weir-cp: at start, after
/// a runtime push and after an ECDS change.
#[tokio::test(flavor = "multi_thread")]
async fn the_shuffle_shard_bootstrap_serves_as_its_weir_yaml() -> anyhow::Result<()> {
    use weir_tests::e2e::{self, cp::WeirCp};
    const NODE: &str = "weir-from-envoy-yaml";
    let dir = tempfile::tempdir()?;
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let cp = WeirCp::start(&dir.path().join("state.json"), any, any)?;
    let wasm = weir_testkit::paths::filter("shuffle-shard")?.display().to_string();
    let ecds = |size: u32| format!(r#"{{"total_hosts": 8, "shard_size": {size}}}"#);
    let set_ecds = |size: u32| {
        cp.ok(&["ecds", "set", "shuffle-shard", "--wasm", &wasm, "--vm-id", "shard", "--config", &ecds(size)])
    };
    set_ecds(2)?;
    let echo = EchoServer::start()?;
    let envoy_yaml = e2e::envoy_config(cp.xds, echo.addr())?;
    assert!(envoy_yaml.contains("id: envoy-1 "), "the config's node id moved");
    let (_a, from_envoy) = serve(envoy_yaml.replace("id: envoy-1 ", &format!("id: {NODE} "))).await?;
    let (_b, from_weir) = serve(e2e::weir_config(cp.xds, echo.addr())?).await?;
    let customers = ["customer-A", "customer-B", "customer-C", "customer-D"];
    let alike = |size: usize| async move {
        let what = format!("both answering shards of {size}");
        e2e::poll(&what, std::time::Duration::from_secs(20), std::time::Duration::from_millis(10), || async {
            let mut all = Vec::new();
            for customer in customers {
                let (a, b) = (e2e::ask(from_envoy, customer).await?, e2e::ask(from_weir, customer).await?);
                if a != b || a.status != 200 || a.shard_size() != size {
                    return Ok(None);
                }
                all.push(a);
            }
            Ok(Some(all))
        })
        .await
    };
    println!("at start: {:?}", alike(2).await?);
    cp.ok(&["set", "shuffle_sharding.customer.customer-A.shard_size=5"])?;
    e2e::poll(
        "customer-A at 5 hosts in both",
        std::time::Duration::from_secs(20),
        std::time::Duration::from_millis(10),
        || async {
            let (a, b) =
                (e2e::ask(from_envoy, "customer-A").await?, e2e::ask(from_weir, "customer-A").await?);
            Ok((a == b && a.shard_size() == 5).then_some(()))
        },
    )
    .await?;
    cp.ok(&["set", "shuffle_sharding.customer.customer-A.shard_size="])?;
    set_ecds(3)?;
    println!("after an ECDS change: {:?}", alike(3).await?);
    // weir took RTDS and ECDS on streams of their own, as the bootstrap says.
    let status = cp.status().await?;
    let streams = e2e::node(&status, NODE).map(|n| n["streams"].clone());
    assert_eq!(streams, Some(serde_json::json!(2)), "{status:#}");
    Ok(())
}
