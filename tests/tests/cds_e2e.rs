//! End to end, clusters and endpoints from the control plane: a real `weir-cp` serves CDS and
//! EDS (from `weir-cp apply -f fleet.yaml`, Envoy's shape) to a real Envoy and to weir, each
//! with one static listener whose route names cluster `api`, which only xDS defines. Over
//! ADS and over a stream per type (CDS and EDS services), each in state of the world and delta.
//!
//! 1. Before any cluster: both answer 503 (cluster unknown).
//! 2. `api` (type EDS) and its endpoints (upstream `one`): both route to `one`.
//! 3. The endpoints change to upstream `two`: both follow; then to none: both answer 503
//!    (the cluster stays, without endpoints), and back to `two`. Then `one` with weight 1 and
//!    `two` with weight 3: both send 75% ± 5% of 400 requests to `two`.
//!    A node group selecting weir alone gets other endpoints for `api` (weir answers `one`,
//!    Envoy `two`) until the group is removed.
//! 4. A cluster weir cannot run (an unsupported field): weir NACKs it naming the field, and
//!    keeps serving `two`; weir-cp's status shows the NACK.
//! 5. The cluster is removed: both answer 503 again.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use weir_tests::client;
use weir_tests::e2e::cp::WeirCp;
use weir_tests::e2e::{self, XdsMode, poll};
use weir_tests::echo::EchoServer;
use weir_tests::envoy::Envoy;
use weir_tests::weir::Weir;

const LIMIT: Duration = Duration::from_secs(20);
const EVERY: Duration = Duration::from_millis(5);

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn envoy_yaml(xds: SocketAddr, mode: XdsMode) -> String {
    let routes = r#"          route_config:
            validate_clusters: false
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes: [ { match: { prefix: / }, route: { cluster: api } } ]"#;
    e2e::envoy_xds_bootstrap("envoy-cds", xds, mode, routes)
}

fn weir_yaml(xds: SocketAddr, mode: XdsMode) -> String {
    let settings = mode.weir_xds(&["cds", "eds"]);
    format!(
        r#"
admin: {{ address: "127.0.0.1:0" }}
listeners:
  - name: main
    address: 127.0.0.1:0
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes: [ {{ match: {{ prefix: / }}, route: {{ cluster: api }} }} ]
clusters:
  - {{ name: weir-cp, endpoints: ["{xds}"], http2: true, connect_timeout: 1s }}
xds: {{ cluster: weir-cp, cds: true, {settings}, initial_fetch_timeout: 1s }}
node: {{ id: weir-cds, cluster: edge }}
"#
    )
}

/// A fleet file: cluster `api` (EDS in `mode`, with `extra` spliced into it) and, if given,
/// its endpoints.
fn fleet(mode: XdsMode, extra: &str, endpoints: Option<SocketAddr>) -> String {
    let mut text = format!(
        "clusters:\n- name: api\n  type: EDS\n  connect_timeout: 1s\n  eds_cluster_config: {{ eds_config: {} }}\n{extra}",
        mode.source()
    );
    if let Some(addr) = endpoints {
        text.push_str(&format!(
            "endpoints:\n- cluster_name: api\n  endpoints: [ {{ lb_endpoints: [ {{ endpoint: {{ address: {{ socket_address: {{ address: {}, port_value: {} }} }} }} }} ] }} ]\n",
            addr.ip(),
            addr.port()
        ));
    }
    text
}

/// An `lb_endpoints` item for `addr` with `weight`.
fn weighted_endpoint(addr: SocketAddr, weight: u32) -> String {
    format!(
        "{{ endpoint: {{ address: {{ socket_address: {{ address: {}, port_value: {} }} }} }}, load_balancing_weight: {weight} }}",
        addr.ip(),
        addr.port()
    )
}

/// Which upstream answered (`x-echo-server`), or the status when none did.
async fn who(addr: SocketAddr) -> String {
    match client::send(addr, client::get("/", &[])).await {
        Ok(r) => r.header("x-echo-server").map_or_else(|| r.status.to_string(), str::to_string),
        Err(e) => format!("error: {e}"),
    }
}

/// Waits until both proxies answer `want`; returns how long each took.
async fn both(envoy: SocketAddr, weir: SocketAddr, want: &str) -> anyhow::Result<()> {
    let start = Instant::now();
    for (name, addr) in [("Envoy", envoy), ("weir", weir)] {
        poll(&format!("{name} answering {want}"), LIMIT, EVERY, || async move {
            Ok((who(addr).await == want).then_some(()))
        })
        .await?;
        println!("{name}: {want} after {:?}", start.elapsed());
    }
    Ok(())
}

async fn run(mode: XdsMode) -> anyhow::Result<()> {
    let _serial = SERIAL.lock().await;
    weir_tests::envoy_required()?;
    let dir = tempfile::tempdir()?;
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let cp = WeirCp::start(&dir.path().join("state.json"), any, any)?;
    let one = EchoServer::start_tagged(Some("one".into()))?;
    let two = EchoServer::start_tagged(Some("two".into()))?;
    let envoy = Envoy::start(&envoy_yaml(cp.xds, mode)).await?;
    let weir = Weir::start_async(weir_yaml(cp.xds, mode), 1).await?;
    let (e, w) = (envoy.listener("main").await?, weir.listener("main")?);

    // 1. No cluster yet.
    both(e, w, "503").await?;
    // 2. The cluster and its endpoints.
    let out = cp.apply(dir.path(), &fleet(mode, "", Some(one.addr())))?;
    println!("{out}");
    both(e, w, "one").await?;
    // weir holds the streams the mode asks for: one ADS stream, or a CDS and an EDS stream.
    let status = cp.status().await?;
    let streams = e2e::node(&status, "weir-cds").map(|n| n["streams"].clone());
    assert_eq!(streams, Some(serde_json::json!(if mode.per_type { 2 } else { 1 })), "{status:#}");
    // 3. New endpoints; then none (the cluster stays, as in Envoy: 503), then back.
    cp.apply(dir.path(), &fleet(mode, "", Some(two.addr())))?;
    both(e, w, "two").await?;
    cp.apply(dir.path(), &format!("{}endpoints:\n- cluster_name: api\n", fleet(mode, "", None)))?;
    both(e, w, "503").await?;
    cp.apply(dir.path(), &fleet(mode, "", Some(two.addr())))?;
    both(e, w, "two").await?;
    // 3b. Weighted endpoints (one 1, two 3): both proxies send three quarters to `two`.
    let weighted = format!(
        "{}endpoints:\n- cluster_name: api\n  endpoints: [ {{ lb_endpoints: [ {}, {} ] }} ]\n",
        fleet(mode, "", None),
        weighted_endpoint(one.addr(), 1),
        weighted_endpoint(two.addr(), 3)
    );
    let version = cp.apply(dir.path(), &weighted)?;
    let version = version
        .lines()
        .find_map(|l| l.strip_prefix("endpoints: version "))
        .context("eds version")?
        .to_string();
    for id in ["envoy-cds", "weir-cds"] {
        poll(&format!("{id} ACKing eds {version}"), LIMIT, EVERY, || async {
            Ok(e2e::acked(&cp.status().await?, id, "eds", &version).then_some(()))
        })
        .await?;
    }
    for (name, addr) in [("Envoy", e), ("weir", w)] {
        let mut to_two = 0;
        for _ in 0..400 {
            to_two += usize::from(who(addr).await == "two");
        }
        println!("{name}: {to_two} of 400 requests to the endpoint of weight 3");
        assert!((280..=320).contains(&to_two), "{name}: {to_two} of 400 to the weight-3 endpoint");
    }
    cp.apply(dir.path(), &fleet(mode, "", Some(two.addr())))?;
    both(e, w, "two").await?;
    // 3c. A node group for weir alone: its `api` goes to `one`, everyone else's stays `two`;
    // the group removed, weir is back on `two`.
    let group = format!(
        "{}group: {{ name: weir-only, nodes: {{ ids: [weir-cds] }} }}\n",
        fleet(mode, "", Some(one.addr()))
    );
    println!("{}", cp.apply(dir.path(), &group)?);
    poll("weir on its group's endpoints", LIMIT, EVERY, || async {
        Ok((who(w).await == "one").then_some(()))
    })
    .await?;
    for _ in 0..20 {
        assert_eq!(who(e).await, "two", "Envoy is not in the group");
    }
    let status = cp.ok(&["status"])?;
    assert!(status.contains("(group weir-only)"), "{status}");
    let groups = cp.ok(&["group", "get"])?;
    assert!(groups.contains("weir-only") && groups.contains("weir-cds"), "{groups}");
    cp.ok(&["group", "delete", "weir-only"])?;
    both(e, w, "two").await?;
    // 4. A cluster weir cannot run: NACKed with the field, the last good one kept.
    let out =
        cp.apply(dir.path(), &fleet(mode, "  per_connection_buffer_limit_bytes: 4096\n", Some(two.addr())))?;
    let version =
        out.lines().find_map(|l| l.strip_prefix("clusters: version ")).context("cds version")?.to_string();
    let reason = cp.wait_nack("weir-cds", "cds", &version).await?;
    println!("weir NACKed cds version {version}: {reason}");
    assert!(reason.contains("per_connection_buffer_limit_bytes"), "{reason}");
    for _ in 0..20 {
        assert_eq!(who(w).await, "two", "weir keeps the last good cluster");
    }
    // 5. No clusters: both answer 503 again.
    cp.apply(dir.path(), "clusters: []\nendpoints: []\n")?;
    both(e, w, "503").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn clusters_and_endpoints_from_weir_cp() -> anyhow::Result<()> {
    run(XdsMode::SOTW).await
}

#[tokio::test(flavor = "multi_thread")]
async fn clusters_and_endpoints_from_weir_cp_over_delta() -> anyhow::Result<()> {
    run(XdsMode::DELTA).await
}

#[tokio::test(flavor = "multi_thread")]
async fn clusters_and_endpoints_from_weir_cp_on_per_type_streams() -> anyhow::Result<()> {
    run(XdsMode { delta: false, per_type: true }).await
}

#[tokio::test(flavor = "multi_thread")]
async fn clusters_and_endpoints_from_weir_cp_on_per_type_delta_streams() -> anyhow::Result<()> {
    run(XdsMode { delta: true, per_type: true }).await
}
