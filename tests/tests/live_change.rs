//! Live change under continuous load: a real `weir-cp` serves clusters (CDS), endpoints (EDS)
//! and a route configuration (RDS) to a real Envoy and to weir. While one client per proxy
//! sends requests back to back:
//!
//! 1. the route splits 90/10 between clusters `blue` and `green`: over 2,000 requests each
//!    proxy's split is within ±3% of it;
//! 2. the weights change to 10/90: both proxies ACK the new routes (time from the push
//!    printed) and their next 2,000 requests split within ±3% of 10/90;
//! 3. one of `blue`'s two endpoints is removed (EDS): both ACK and stop using it, and keep
//!    `green`'s endpoints, which the (state-of-the-world: partial) response did not carry;
//! 4. a listener `extra` is added (LDS, routes from RDS): it warms until its routes arrive, so
//!    its first answer is already the upstream's; both serve on it; a slow request is
//!    sent there and the listener removed while it is in flight: it completes, and the port
//!    stops accepting;
//!
//!    a listener whose routes never come starts after weir's `initial_fetch_timeout`,
//!    answering 404;
//! 5. a TCP listener (`tcp_proxy`) from LDS: both proxy through it;
//! 6. a route weir cannot run (`request_mirror_policies`) and a TCP listener setting it lacks
//!    (`max_connect_attempts`): weir NACKs each naming the field, and keeps serving what it had;
//!
//! and not one request fails, on either proxy. Once over state-of-the-world ADS, once over
//! delta.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use weir_tests::client;
use weir_tests::e2e::cp::WeirCp;
use weir_tests::e2e::load::{Load, split};
use weir_tests::e2e::{self, XdsMode, acked, poll};
use weir_tests::echo::EchoServer;
use weir_tests::envoy::Envoy;
use weir_tests::weir::Weir;

const LIMIT: Duration = Duration::from_secs(20);
const SAMPLE: usize = 2_000;

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn envoy_yaml(xds: SocketAddr, delta: bool) -> String {
    let routes =
        "          rds: { route_config_name: main, config_source: { ads: {}, resource_api_version: V3 } }";
    let mode = if delta { XdsMode::DELTA } else { XdsMode::SOTW };
    e2e::envoy_xds_bootstrap("envoy-live", xds, mode, routes)
        .replace("  cds_config:", "  lds_config: { ads: {}, resource_api_version: V3 }\n  cds_config:")
}

fn weir_yaml(xds: SocketAddr, delta: bool) -> String {
    format!(
        r#"
admin: {{ address: "127.0.0.1:0" }}
listeners:
  - {{ name: main, address: "127.0.0.1:0", rds: main }}
clusters:
  - {{ name: weir-cp, endpoints: ["{xds}"], http2: true, connect_timeout: 1s }}
xds: {{ cluster: weir-cp, cds: true, lds: true, api_type: {api}, initial_fetch_timeout: 1s }}
node: {{ id: weir-live, cluster: edge }}
"#,
        api = if delta { "DELTA_GRPC" } else { "GRPC" }
    )
}

fn endpoint(addr: SocketAddr) -> String {
    format!(
        "{{ endpoint: {{ address: {{ socket_address: {{ address: {}, port_value: {} }} }} }} }}",
        addr.ip(),
        addr.port()
    )
}

/// Listener `extra` (port 0), routed by RDS `extra` ([`EXTRA_ROUTES`]), as an LDS resource.
const EXTRA: &str = r#"
listeners:
- name: extra
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
  filter_chains:
  - filters:
    - name: envoy.filters.network.http_connection_manager
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
        stat_prefix: extra
        rds: { route_config_name: extra, config_source: { ads: {}, resource_api_version: V3 } }
        http_filters:
        - name: envoy.filters.http.router
          typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
"#;

/// Route configuration `extra` (everything to `green`), appended to a fleet's `routes`.
const EXTRA_ROUTES: &str = r#"- name: extra
  virtual_hosts:
  - name: all
    domains: ["*"]
    routes: [ { match: { prefix: / }, route: { cluster: green } } ]
"#;

/// The fleet: `blue` and `green` (EDS, endpoints `blue` and `green`), and route `main`
/// splitting `blue_weight`/`100 - blue_weight`. A change of `blue`'s endpoints alone reaches
/// state-of-the-world nodes as a response carrying `blue`'s assignment alone: both proxies
/// must keep `green`'s.
fn fleet(blue: &[SocketAddr], green: SocketAddr, blue_weight: u32) -> String {
    let blue: Vec<String> = blue.iter().map(|a| endpoint(*a)).collect();
    format!(
        r#"
clusters:
- name: blue
  type: EDS
  connect_timeout: 1s
  eds_cluster_config: {{ eds_config: {{ ads: {{}}, resource_api_version: V3 }} }}
- name: green
  type: EDS
  connect_timeout: 1s
  eds_cluster_config: {{ eds_config: {{ ads: {{}}, resource_api_version: V3 }} }}
endpoints:
- cluster_name: blue
  endpoints: [ {{ lb_endpoints: [ {blue} ] }} ]
- cluster_name: green
  endpoints: [ {{ lb_endpoints: [ {green} ] }} ]
routes:
- name: main
  virtual_hosts:
  - name: all
    domains: ["*"]
    routes:
    - match: {{ prefix: / }}
      route: {{ weighted_clusters: {{ clusters: [ {{ name: blue, weight: {bw} }}, {{ name: green, weight: {gw} }} ] }} }}
"#,
        blue = blue.join(", "),
        green = endpoint(green),
        bw = blue_weight,
        gw = 100 - blue_weight
    )
}

/// The version of each type after `weir-cp apply -f` of `text`.
fn apply(cp: &WeirCp, dir: &Path, text: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let out = cp.apply(dir, text)?;
    // `routes: version 3` / `clusters: unchanged (version 1)`
    Ok(out
        .lines()
        .filter_map(|l| {
            let (what, rest) = l.split_once(": ")?;
            Some((what.to_string(), rest.rsplit(' ').next()?.trim_end_matches(')').to_string()))
        })
        .collect())
}

/// Waits until both nodes ACKed `version` of `kind`; prints how long after `pushed`.
async fn both_acked(cp: &WeirCp, kind: &str, version: &str, pushed: Instant) -> anyhow::Result<()> {
    for id in ["envoy-live", "weir-live"] {
        poll(&format!("{id} ACKing {kind} {version}"), LIMIT, Duration::from_millis(2), || async {
            Ok(acked(&cp.status().await?, id, kind, version).then_some(()))
        })
        .await?;
        println!("{id}: {kind} version {version} ACKed {:?} after the push", pushed.elapsed());
    }
    Ok(())
}

fn within(share: &BTreeMap<String, f64>, tag: &str, want: f64) -> anyhow::Result<()> {
    let got = share.get(tag).copied().unwrap_or(0.0);
    ensure!((got - want).abs() <= 0.03, "{tag}: {got:.3} of the requests, want {want:.2} ± 0.03 ({share:?})");
    Ok(())
}

async fn run(delta: bool) -> anyhow::Result<()> {
    let _serial = SERIAL.lock().await;
    weir_tests::envoy_required()?;
    let dir = tempfile::tempdir()?;
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let cp = WeirCp::start(&dir.path().join("state.json"), any, any)?;
    let blue_a = EchoServer::start_tagged(Some("blue-a".into()))?;
    let blue_b = EchoServer::start_tagged(Some("blue-b".into()))?;
    let green = EchoServer::start_tagged(Some("green".into()))?;
    let blues = [blue_a.addr(), blue_b.addr()];
    apply(&cp, dir.path(), &fleet(&blues, green.addr(), 90))?;
    let envoy = Envoy::start(&envoy_yaml(cp.xds, delta)).await?;
    let weir = Weir::start_async(weir_yaml(cp.xds, delta), 1).await?;
    let proxies = [("Envoy", envoy.listener("main").await?), ("weir", weir.listener("main")?)];
    for (name, addr) in proxies {
        poll(&format!("{name} serving"), LIMIT, Duration::from_millis(5), || async move {
            Ok((client::send(addr, client::get("/", &[])).await?.status == 200).then_some(()))
        })
        .await?;
    }
    let load = Load::start(&proxies);
    let seen = &load.seen;

    // 1. 90/10.
    for ((name, _), s) in proxies.iter().zip(seen) {
        let share = split(s, 0, SAMPLE, |tag| tag.split('-').next().unwrap_or("?")).await?;
        println!("{name} at 90/10: {share:?}");
        within(&share, "blue", 0.90)?;
    }
    // 2. 10/90.
    let pushed = Instant::now();
    let versions = apply(&cp, dir.path(), &fleet(&blues, green.addr(), 10))?;
    both_acked(&cp, "rds", &versions["routes"], pushed).await?;
    for ((name, _), s) in proxies.iter().zip(seen) {
        let from = s.lock().unwrap().answers.len();
        let share = split(s, from, SAMPLE, |tag| tag.split('-').next().unwrap_or("?")).await?;
        println!("{name} at 10/90: {share:?}");
        within(&share, "green", 0.90)?;
    }
    // 3. blue-b removed.
    let pushed = Instant::now();
    let versions = apply(&cp, dir.path(), &fleet(&blues[..1], green.addr(), 10))?;
    both_acked(&cp, "eds", &versions["endpoints"], pushed).await?;
    for ((name, _), s) in proxies.iter().zip(seen) {
        let from = s.lock().unwrap().answers.len();
        within(&split(s, from, SAMPLE, |tag| tag.split('-').next().unwrap_or("?")).await?, "green", 0.90)?;
        let seen = s.lock().unwrap();
        let after = &seen.answers[from..from + SAMPLE];
        ensure!(!after.iter().any(|t| t == "blue-b"), "{name} still uses the removed endpoint");
        println!("{name}: no request to the removed endpoint in the {SAMPLE} after the ACK");
    }
    // 4. Listener `extra` added before its routes: weir ACKs it and keeps it warming (not
    // listening) as long as its routes are missing; they come, it starts. Then it is removed
    // with a request in flight.
    let base = fleet(&blues[..1], green.addr(), 10);
    let versions = apply(&cp, dir.path(), &format!("{base}{EXTRA}"))?;
    both_acked(&cp, "lds", &versions["listeners"], Instant::now()).await?;
    ensure!(weir.listener("extra").is_err(), "weir started listener extra before its routes arrived");
    let pushed = Instant::now();
    apply(&cp, dir.path(), &format!("{base}{EXTRA_ROUTES}{EXTRA}"))?;
    let extra = [
        poll("Envoy's listener extra", LIMIT, Duration::from_millis(5), || async {
            Ok(envoy.listener("extra").await.ok())
        })
        .await
        .with_context(|| format!("weir-cp status: {}", cp.ok(&["status"]).unwrap_or_default()))?,
        poll("weir's listener extra", LIMIT, Duration::from_millis(5), || async {
            Ok(weir.listener("extra").ok())
        })
        .await?,
    ];
    // The listener warmed until its routes arrived (as in Envoy): its first answer is the
    // upstream's, never a 404.
    for ((name, _), addr) in proxies.iter().zip(extra) {
        let first = client::send(addr, client::get("/", &[])).await?;
        ensure!(first.status == 200, "{name}: the first answer on listener extra was {}", first.status);
        println!("{name}: listener extra serving {:?} after the push", pushed.elapsed());
    }
    let slow: Vec<_> = extra
        .iter()
        .map(|addr| tokio::spawn(client::send(*addr, client::get("/", &[("x-echo-delay-ms", "400")]))))
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    apply(&cp, dir.path(), &format!("{base}listeners: []\n"))?;
    for (((name, _), addr), slow) in proxies.iter().zip(extra).zip(slow) {
        let reply = slow.await??;
        ensure!(
            reply.status == 200,
            "{name}: the request in flight on the removed listener got {}",
            reply.status
        );
        poll(&format!("{name} closing extra"), LIMIT, Duration::from_millis(5), || async move {
            Ok(tokio::net::TcpStream::connect(addr).await.is_err().then_some(()))
        })
        .await?;
        println!("{name}: listener extra removed; its request in flight completed");
    }
    // A listener whose routes never come starts after weir's initial_fetch_timeout (1s)
    // without them, answering 404 (Envoy waits its own 15s default, not awaited here).
    let pushed = Instant::now();
    apply(
        &cp,
        dir.path(),
        &format!("{base}{}", EXTRA.replace("route_config_name: extra", "route_config_name: never")),
    )?;
    let late =
        poll("weir starting a listener without its routes", LIMIT, Duration::from_millis(20), || async {
            Ok(weir.listener("extra").ok())
        })
        .await?;
    let answer = client::send(late, client::get("/", &[])).await?;
    ensure!(answer.status == 404, "a listener without routes answered {}", answer.status);
    println!("weir: listener without routes started {:?} after the push, answering 404", pushed.elapsed());
    ensure!(pushed.elapsed() >= Duration::from_secs(1), "it did not wait for its routes");
    apply(&cp, dir.path(), &format!("{base}listeners: []\n"))?;
    // 5, 6. A TCP listener, and what weir refuses: NACKed by name, the last good kept.
    let mirror = base.replace(
        "route: { weighted_clusters:",
        "route: { request_mirror_policies: [ { cluster: green } ], weighted_clusters:",
    );
    let versions = apply(&cp, dir.path(), &mirror)?;
    let reason = cp.wait_nack("weir-live", "rds", &versions["routes"]).await?;
    println!("weir NACKed rds version {}: {reason}", versions["routes"]);
    ensure!(reason.contains("request_mirror_policies"), "{reason}");
    // A TCP listener (tcp_proxy) from LDS: both serve it (HTTP to green through it).
    let tcp = format!(
        "{base}listeners:\n- name: tcp\n  address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}\n  filter_chains: [ {{ filters: [ {{ name: envoy.filters.network.tcp_proxy, typed_config: {{ \"@type\": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: t, cluster: green }} }} ] }} ]\n"
    );
    let versions = apply(&cp, dir.path(), &tcp)?;
    both_acked(&cp, "lds", &versions["listeners"], Instant::now()).await?;
    let tcp_listeners = [
        poll("Envoy's listener tcp", LIMIT, Duration::from_millis(5), || async {
            Ok(envoy.listener("tcp").await.ok())
        })
        .await?,
        poll("weir's listener tcp", LIMIT, Duration::from_millis(5), || async {
            Ok(weir.listener("tcp").ok())
        })
        .await?,
    ];
    for ((name, _), addr) in proxies.iter().zip(tcp_listeners) {
        let reply = client::send(addr, client::get("/", &[])).await?;
        ensure!(reply.status == 200, "{name}: HTTP through the TCP listener got {}", reply.status);
        println!("{name}: TCP listener from LDS proxies to green");
    }
    // One TcpProxy setting weir lacks: NACKed by name, the listener keeps serving.
    let attempts = tcp.replace("cluster: green }", "cluster: green, max_connect_attempts: 3 }");
    let versions = apply(&cp, dir.path(), &attempts)?;
    let reason = cp.wait_nack("weir-live", "lds", &versions["listeners"]).await?;
    println!("weir NACKed lds version {}: {reason}", versions["listeners"]);
    ensure!(reason.contains("max_connect_attempts"), "{reason}");
    ensure!(
        client::send(tcp_listeners[1], client::get("/", &[])).await?.status == 200,
        "weir stopped serving tcp"
    );
    let from = seen[1].lock().unwrap().answers.len();
    within(&split(&seen[1], from, SAMPLE, |tag| tag.split('-').next().unwrap_or("?")).await?, "green", 0.90)?;
    load.finish().await
}

#[tokio::test(flavor = "multi_thread")]
async fn weights_and_endpoints_change_under_load() -> anyhow::Result<()> {
    run(false).await
}

#[tokio::test(flavor = "multi_thread")]
async fn weights_and_endpoints_change_under_load_over_delta() -> anyhow::Result<()> {
    run(true).await
}
