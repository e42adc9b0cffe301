//! `--stats-compat envoy` against real Envoy: one Envoy bootstrap served by Envoy 1.40 and by
//! weir (which reads Envoy bootstraps), the same requests to both (answered by the upstream
//! with 200 and 503, and by a direct 404), then every Envoy-named series weir exports must be
//! in Envoy's own `/stats/prometheus`, with the same labels and the same value.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::net::SocketAddr;

use weir_host::config::Config;
use weir_host::process::server::{RunningServer, ServerOptions};
use weir_tests::client;
use weir_tests::echo::EchoServer;
use weir_tests::envoy::Envoy;

fn bootstrap(upstream: SocketAddr) -> String {
    let manager = r#"          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: /missing }
                direct_response: { status: 404 }
              - match: { prefix: / }
                route: { cluster: upstream }"#;
    let cluster = format!("\n{}", weir_tests::e2e::static_cluster("upstream", upstream).trim_end());
    weir_tests::e2e::static_bootstrap(manager, &cluster)
}

/// `name{labels}` (labels sorted) → value, for the `envoy_` series of a Prometheus text.
fn series(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("envoy_")) {
        let Some((key, value)) = line.rsplit_once(' ') else { continue };
        let (name, labels) = key.split_once('{').unwrap_or((key, "}"));
        let mut labels: Vec<&str> =
            labels.trim_end_matches('}').split(',').filter(|l| !l.is_empty()).collect();
        labels.sort();
        out.insert(format!("{name}{{{}}}", labels.join(",")), value.parse().unwrap_or(f64::NAN));
    }
    out
}

/// Whether Envoy has the series `key` with weir's `value`: request-time buckets and sums
/// depend on timing, so for them the series (its name, labels and bucket bounds) must exist.
fn same(key: &str, theirs: Option<&f64>, value: f64) -> bool {
    let timed = key.contains("_rq_time_bucket{") || key.contains("_rq_time_sum{");
    theirs.is_some_and(|theirs| timed || *theirs == value)
}

async fn send_requests(addr: SocketAddr) {
    for (path, headers) in
        [("/", vec![]), ("/a", vec![]), ("/down", vec![("x-echo-status", "503")]), ("/missing", vec![])]
    {
        client::send(addr, client::get(path, &headers)).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoy_named_series_match_envoys_own() {
    weir_tests::envoy_required().unwrap();
    let echo = EchoServer::start().unwrap();
    let yaml = bootstrap(echo.addr());
    // Envoy merges histograms into `/stats/prometheus` at each stats flush (5 s by default).
    let envoy = Envoy::start_with_workers(&format!("stats_flush_interval: 0.1s\n{yaml}"), 1).await.unwrap();
    let config = Config::parse(&yaml, "bootstrap").unwrap();
    let weir = tokio::task::spawn_blocking(move || {
        let options = ServerOptions { stats_compat_envoy: true, ..ServerOptions::with_concurrency(1) };
        RunningServer::start(config, options).unwrap()
    })
    .await
    .unwrap();
    send_requests(envoy.listener("main").await.unwrap()).await;
    send_requests(weir.listener_addr("main").unwrap()).await;

    let stats = |admin: SocketAddr| async move {
        let reply = client::send(admin, client::admin_get(admin, "/stats/prometheus")).await.unwrap();
        series(&reply.text())
    };
    // Both count a request, and a closed connection, a little after answering: poll until
    // every series weir exports agrees with Envoy's, or the deadline.
    let total = "envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix=\"main\"}";
    let agree = |ours: &BTreeMap<String, f64>, theirs: &BTreeMap<String, f64>| {
        ours.iter().all(|(key, value)| same(key, theirs.get(key), *value))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let (ours, theirs) = loop {
        let (ours, theirs) = (stats(weir.admin_addr().unwrap()).await, stats(envoy.admin()).await);
        if (agree(&ours, &theirs) && ours.get(total) == Some(&4.0)) || std::time::Instant::now() > deadline {
            break (ours, theirs);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(ours.len() >= 16, "weir exports the Envoy-named series: {ours:?}");
    for (key, value) in &ours {
        println!("{key} weir {value} envoy {:?}", theirs.get(key));
        assert!(same(key, theirs.get(key), *value), "{key}: weir {value}, Envoy {:?}", theirs.get(key));
    }
    let histogram = "envoy_http_downstream_rq_time_count{envoy_http_conn_manager_prefix=\"main\"}";
    assert_eq!(ours.get(histogram), Some(&4.0), "{ours:?}");
    assert!(ours.keys().any(|k| k.starts_with("envoy_cluster_upstream_rq_time_bucket{")), "{ours:?}");
    assert_eq!(ours.get(total), Some(&4.0));
    drop(weir);
}
