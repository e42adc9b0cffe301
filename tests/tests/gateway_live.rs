//! A live HTTPRoute change under continuous load, through `weir-cp gateway apply`: Envoy and
//! weir each serve their own Gateway (`live/envoy`, `live/weir`; one route attached to both),
//! one client per proxy sends requests back to back while
//!
//! 1. the route sends everything to `blue` (weights 100/0);
//! 2. Service `green` appears and the weights become 50/50 in one apply: both proxies ACK
//!    (time from the apply printed) and split their next 400 requests within ±10% of it;
//! 3. a rule matching header `x-canary: yes` to `green` is added: requests with it all reach
//!    `green`, the others still split;
//!
//! and not one request fails, on either proxy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::ensure;
use weir_tests::client;
use weir_tests::e2e::cp::WeirCp;
use weir_tests::e2e::load::{Load, split};
use weir_tests::e2e::poll;
use weir_tests::echo::EchoServer;
use weir_tests::envoy::Envoy;
use weir_tests::gateway_api::run;
use weir_tests::weir::Weir;

const SAMPLE: usize = 400;

fn service(name: &str, addr: SocketAddr) -> String {
    format!(
        "---\napiVersion: v1\nkind: Service\nmetadata: {{ name: {name}, namespace: live }}\nspec: {{ ports: [ {{ port: 80 }} ] }}\n\
         ---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
         metadata: {{ name: {name}-1, namespace: live, labels: {{ kubernetes.io/service-name: {name} }} }}\n\
         addressType: IPv4\nports: [ {{ port: {} }} ]\nendpoints: [ {{ addresses: [ \"{}\" ] }} ]\n",
        addr.port(),
        addr.ip()
    )
}

fn gateway(name: &str, port: u16) -> String {
    format!(
        "---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{ name: {name}, namespace: live }}\n\
         spec:\n  gatewayClassName: weir\n  addresses: [ {{ value: 127.0.0.1 }} ]\n  listeners: [ {{ name: http, port: {port}, protocol: HTTP }} ]\n"
    )
}

/// Everything, with the route's rules `rules` (indented as `spec.rules` items).
/// With `green: None`, Service `green` does not exist yet.
fn manifests(ports: [u16; 2], blue: SocketAddr, green: Option<SocketAddr>, rules: &str) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {{ name: weir }}\n\
         spec: {{ controllerName: weir.dev/gateway-controller }}\n{}{}{}{}\
         ---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{ name: web, namespace: live }}\n\
         spec:\n  parentRefs: [ {{ name: envoy }}, {{ name: weir }} ]\n  rules:\n{rules}",
        gateway("envoy", ports[0]),
        gateway("weir", ports[1]),
        service("blue", blue),
        green.map(|g| service("green", g)).unwrap_or_default(),
    )
}

fn weights(blue: u32, green: u32) -> String {
    format!(
        "  - backendRefs: [ {{ name: blue, port: 80, weight: {blue} }}, {{ name: green, port: 80, weight: {green} }} ]\n"
    )
}

const CANARY: &str = "  - matches: [ { headers: [ { name: x-canary, value: \"yes\" } ] } ]\n    backendRefs: [ { name: green, port: 80 } ]\n";

/// Applies `text`; waits until both proxies ACKed their Gateway's new resources; prints the
/// time each took from the apply.
async fn apply_and_converge(cp: &WeirCp, dir: &std::path::Path, text: &str) -> anyhow::Result<()> {
    let applied = Instant::now();
    run::apply(cp, dir, text)?;
    for (node, group) in [("envoy-live-gw", "gateway:live:envoy"), ("weir-live-gw", "gateway:live:weir")] {
        run::wait_served(cp, node, group).await?;
        println!("{node}: converged {:?} after the apply", applied.elapsed());
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_httproute_changes_under_load_without_a_failed_request() -> anyhow::Result<()> {
    weir_tests::envoy_required()?;
    let dir = tempfile::tempdir()?;
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let cp = WeirCp::start(&dir.path().join("state.json"), any, any)?;
    let blue = EchoServer::start_tagged(Some("blue".into()))?;
    let green = EchoServer::start_tagged(Some("green".into()))?;
    let ports = [run::free_port()?, run::free_port()?];
    let text = |rules: &str| manifests(ports, blue.addr(), Some(green.addr()), rules);
    // Service green is not deployed yet: its backendRef (weight 0) is not resolved. It comes
    // with the 50/50 weights, in one apply: its cluster and endpoints must reach each proxy
    // before the routes that use them (weir-cp holds listener and route updates until then).
    run::apply(&cp, dir.path(), &manifests(ports, blue.addr(), None, &weights(100, 0)))?;
    let _envoy = Envoy::start(&run::envoy_bootstrap("envoy-live-gw", "live/envoy", cp.xds)).await?;
    let _weir = Weir::start_async(run::weir_config("weir-live-gw", "live/weir", cp.xds), 1).await?;
    let proxies = [
        ("Envoy", SocketAddr::from(([127, 0, 0, 1], ports[0]))),
        ("weir", SocketAddr::from(([127, 0, 0, 1], ports[1]))),
    ];
    for (name, addr) in proxies {
        poll(
            &format!("{name} serving the Gateway"),
            Duration::from_secs(20),
            Duration::from_millis(5),
            || async move {
                Ok(client::send(addr, client::get("/", &[]))
                    .await
                    .ok()
                    .filter(|r| r.status == 200)
                    .map(|_| ()))
            },
        )
        .await?;
    }
    let load = Load::start(&proxies);
    let seen = &load.seen;

    // 1. 100/0.
    for ((name, _), s) in proxies.iter().zip(seen) {
        let shares = split(s, 0, SAMPLE, |tag| tag).await?;
        println!("{name} at 100/0: {shares:?}");
        ensure!(shares.get("blue") == Some(&1.0), "{name}: {shares:?}");
    }
    // 2. 50/50.
    apply_and_converge(&cp, dir.path(), &text(&weights(50, 50))).await?;
    for ((name, _), s) in proxies.iter().zip(seen) {
        let from = s.lock().unwrap().answers.len();
        let shares = split(s, from, SAMPLE, |tag| tag).await?;
        println!("{name} at 50/50: {shares:?}");
        let blue = shares.get("blue").copied().unwrap_or(0.0);
        ensure!((blue - 0.5).abs() <= 0.1, "{name}: {shares:?}");
    }
    // 3. A header match added.
    apply_and_converge(&cp, dir.path(), &text(&format!("{}{CANARY}", weights(50, 50)))).await?;
    for (name, addr) in proxies {
        for _ in 0..50 {
            let reply = client::send(addr, client::get("/", &[("x-canary", "yes")])).await?;
            ensure!(
                reply.header("x-echo-server") == Some("green"),
                "{name}: a canary request reached {:?}",
                reply.header("x-echo-server")
            );
        }
        println!("{name}: 50 requests with x-canary: yes all reached green");
    }
    for ((name, _), s) in proxies.iter().zip(seen) {
        let from = s.lock().unwrap().answers.len();
        let blue = split(s, from, SAMPLE, |tag| tag).await?.get("blue").copied().unwrap_or(0.0);
        ensure!((blue - 0.5).abs() <= 0.1, "{name}: the others no longer split: blue {blue}");
    }
    load.finish().await
}
