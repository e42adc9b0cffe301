//! weir-cp against real Envoy (RTDS): values set with the CLI reach Envoy's runtime, an invalid
//! layer pushed unchecked is NACKed and shown by `weir-cp status` while Envoy keeps its values,
//! and a killed weir-cp restarted on the same ports with the same state file is reconnected to.
//! Each scenario runs over the RTDS service and over ADS, each in state-of-the-world and in
//! delta form.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use weir_tests::e2e;
use weir_tests::e2e::cp::{WeirCp, envoy_runtime, wait_envoy_runtime};
use weir_tests::envoy::Envoy;

const KEY: &str = "shuffle_sharding.total_hosts";

/// How Envoy reaches weir-cp.
#[derive(Clone, Copy, Debug)]
enum Transport {
    /// `rtds_config.api_config_source` on the RTDS service.
    Rtds,
    /// `dynamic_resources.ads_config` and `rtds_config: {ads: {}}`.
    Ads,
}

fn bootstrap(node: &str, cp: SocketAddr, transport: Transport, api_type: &str) -> String {
    let (rtds_config, dynamic) = match transport {
        Transport::Rtds => (
            format!(
                "api_config_source:
          api_type: {api_type}
          transport_api_version: V3
          grpc_services: [{{envoy_grpc: {{cluster_name: weir-cp}}}}]"
            ),
            String::new(),
        ),
        Transport::Ads => (
            "ads: {}".to_string(),
            format!(
                "dynamic_resources:
  ads_config:
    api_type: {api_type}
    transport_api_version: V3
    grpc_services: [{{envoy_grpc: {{cluster_name: weir-cp}}}}]
"
            ),
        ),
    };
    format!(
        r#"node: {{id: {node}, cluster: weir-tests}}
admin:
  address: {{socket_address: {{address: 127.0.0.1, port_value: 0}}}}
{dynamic}layered_runtime:
  layers:
  - name: static_layer
    static_layer: {{{KEY}: 3}}
  - name: rtds_layer
    rtds_layer:
      name: rtds
      rtds_config:
        resource_api_version: V3
        {rtds_config}
  - name: admin_layer
    admin_layer: {{}}
static_resources:
  clusters:
{cluster}"#,
        cluster = e2e::envoy_cp_cluster(cp)
    )
}

fn rtds_acked(node: &serde_json::Value, version: &str) -> bool {
    node["connected"] == true && node["types"]["rtds"]["acked"]["version"] == version
}

/// Envoy's `control_plane.connected_state` gauge (1 while its xDS stream is up; prefixed
/// `runtime.` for a standalone RTDS subscription).
async fn envoy_connected(envoy: &Envoy) -> anyhow::Result<bool> {
    let stats = envoy.stats().await?;
    Ok(stats.lines().any(|l| l.trim().ends_with("control_plane.connected_state: 1")))
}

async fn scenario(transport: Transport, api_type: &str) -> anyhow::Result<()> {
    weir_tests::envoy_required()?;
    let node = format!("envoy-{transport:?}-{api_type}").to_lowercase().replace('_', "-");
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("weir-cp.json");
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut cp = WeirCp::start(&state, any, any)?;
    let envoy = Envoy::start(&bootstrap(&node, cp.xds, transport, api_type)).await?;
    let result = steps(&mut cp, &envoy, &node, &state).await;
    if result.is_err() {
        eprintln!("--- weir-cp log ---\n{}\n--- Envoy log ---\n{}", cp.log(), envoy.log_tail());
    }
    result
}

async fn steps(cp: &mut WeirCp, envoy: &Envoy, node: &str, state: &std::path::Path) -> anyhow::Result<()> {
    // The empty `rtds` layer (version 1) was ACKed at start; the static layer shows through.
    cp.wait_rtds(node, "the first ACK", |n| rtds_acked(n, "1")).await?;
    assert_eq!(envoy_runtime(envoy.admin(), KEY).await?.as_deref(), Some("3"));

    // `weir-cp set` reaches Envoy's runtime.
    let set_at = Instant::now();
    cp.ok(&["set", &format!("{KEY}=10"), "feature.enabled=true"])?;
    wait_envoy_runtime(envoy.admin(), KEY, "10").await?;
    println!("[{node}] weir-cp set -> visible in Envoy /runtime: {:?}", set_at.elapsed());
    assert_eq!(envoy_runtime(envoy.admin(), "feature.enabled").await?.as_deref(), Some("true"));
    cp.wait_rtds(node, "the ACK of 2", |n| rtds_acked(n, "2")).await?;

    // A layer with a list, pushed unchecked: Envoy NACKs it and keeps its values.
    let bad = state.with_file_name("bad.yaml");
    std::fs::write(&bad, format!("{KEY}: 20\nzones: [a, b]\n"))?;
    cp.ok(&["apply", "-f", bad.to_str().context("path")?, "--unchecked"])?;
    let n = cp.wait_rtds(node, "the NACK of 3", |n| n["types"]["rtds"]["nack"]["version"] == "3").await?;
    let reason = n["types"]["rtds"]["nack"]["reason"].as_str().unwrap_or_default().to_string();
    println!("[{node}] Envoy's NACK: {reason}");
    assert!(reason.contains("zones"), "the reason names the key: {reason}");
    assert_eq!(n["types"]["rtds"]["acked"]["version"], "2");
    assert_eq!(n["types"]["rtds"]["nack"]["kept_version"], "2");
    let table = cp.ok(&["status"])?;
    println!("{table}");
    assert!(table.contains(node) && table.contains("version 3") && table.contains("zones"), "{table}");
    assert_eq!(envoy_runtime(envoy.admin(), KEY).await?.as_deref(), Some("10"));

    // A valid layer again.
    let good = state.with_file_name("good.yaml");
    std::fs::write(&good, format!("{KEY}: 12\nfeature:\n  enabled: false\n"))?;
    cp.ok(&["apply", "-f", good.to_str().context("path")?])?;
    wait_envoy_runtime(envoy.admin(), KEY, "12").await?;
    cp.wait_rtds(node, "the ACK of 4", |n| rtds_acked(n, "4")).await?;

    // Kill weir-cp: Envoy notices and keeps its values.
    let (xds, admin) = (cp.xds, cp.admin);
    println!("[{node}] killing weir-cp (pid {})", cp.pid());
    let killed = Instant::now();
    cp.kill();
    let deadline = Instant::now() + Duration::from_secs(30);
    while envoy_connected(envoy).await? {
        if Instant::now() > deadline {
            bail!("Envoy still reports a connected control plane 30s after weir-cp was killed");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(envoy_runtime(envoy.admin(), KEY).await?.as_deref(), Some("12"));
    assert_eq!(envoy_runtime(envoy.admin(), "feature.enabled").await?.as_deref(), Some("false"));

    // Restart on the same ports with the same state file: Envoy reconnects and ACKs version 4.
    let restarted = Instant::now();
    *cp = WeirCp::start(state, xds, admin)?;
    cp.wait_rtds(node, "the ACK of 4 after the restart", |n| rtds_acked(n, "4")).await?;
    println!(
        "[{node}] weir-cp restarted -> Envoy reconnected and ACKed: {:?} ({:?} after the kill)",
        restarted.elapsed(),
        killed.elapsed()
    );
    assert_eq!(envoy_runtime(envoy.admin(), KEY).await?.as_deref(), Some("12"));

    // And it keeps working.
    cp.ok(&["set", &format!("{KEY}=14")])?;
    wait_envoy_runtime(envoy.admin(), KEY, "14").await?;
    cp.wait_rtds(node, "the ACK of 5", |n| rtds_acked(n, "5")).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtds_service_with_envoy() -> anyhow::Result<()> {
    scenario(Transport::Rtds, "GRPC").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ads_with_envoy() -> anyhow::Result<()> {
    scenario(Transport::Ads, "GRPC").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_rtds_service_with_envoy() -> anyhow::Result<()> {
    scenario(Transport::Rtds, "DELTA_GRPC").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_ads_with_envoy() -> anyhow::Result<()> {
    scenario(Transport::Ads, "DELTA_GRPC").await
}
