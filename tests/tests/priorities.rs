//! Priority levels and panic, against real Envoy: one Envoy bootstrap, run by Envoy and by
//! `weir -c`, with active health checks finding dead endpoints. Both proxies must split the
//! same 2,000 requests alike (within 5 points of Envoy's arithmetic):
//!
//! - `/s1`: P0 = {a, dead}, P1 = {b}: P0 is 50% healthy, its health 70 (overprovisioning 1.4),
//!   so 70% to `a`, 30% to `b`;
//! - `/s2`: P0 = {a, 4 dead}, P1 = {b, dead}: healths 28 and 70, normalized total 98, so
//!   29/71 (the rounding remainder to P0); P0, 20% healthy, is in panic (under 50%) and
//!   balances over all five: ~6% to `a`, ~23% fail (503); P1 (50%: not in panic) sends 71% to
//!   `b`;
//! - `/s3`: P0 = {a, 2 dead}, P1 = {b, 2 dead}: both in panic (total panic), the load by
//!   endpoint count (50/50) over every endpoint: ~17% `a`, ~17% `b`, ~67% fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use weir_tests::client;
use weir_tests::e2e::poll;
use weir_tests::echo::EchoServer;
use weir_tests::envoy::Envoy;
use weir_tests::weir::Weir;

const REQUESTS: usize = 2000;

fn endpoint(addr: SocketAddr) -> String {
    format!(
        "{{ endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {} }} }} }} }}",
        addr.port()
    )
}

fn cluster(name: &str, p0: &[SocketAddr], p1: &[SocketAddr]) -> String {
    let list = |addrs: &[SocketAddr]| addrs.iter().map(|a| endpoint(*a)).collect::<Vec<_>>().join(", ");
    format!(
        r#"
  - name: {name}
    type: STATIC
    connect_timeout: 1s
    health_checks:
    - {{ timeout: 1s, interval: 0.2s, unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: {{ path: /health }} }}
    load_assignment:
      cluster_name: {name}
      endpoints:
      - {{ priority: 0, lb_endpoints: [ {} ] }}
      - {{ priority: 1, lb_endpoints: [ {} ] }}"#,
        list(p0),
        list(p1)
    )
}

fn bootstrap(a: SocketAddr, b: SocketAddr) -> String {
    let d = |n: usize| (0..n).map(|_| dead()).collect::<Vec<_>>();
    let with = |first: SocketAddr, dead: usize| [vec![first], d(dead)].concat();
    let routes = r#"          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - { match: { prefix: /s1 }, route: { cluster: s1 } }
              - { match: { prefix: /s2 }, route: { cluster: s2 } }
              - { match: { prefix: /s3 }, route: { cluster: s3 } }"#;
    let clusters = [
        cluster("s1", &with(a, 1), &[b]),
        cluster("s2", &with(a, 4), &with(b, 1)),
        cluster("s3", &with(a, 2), &with(b, 2)),
    ];
    weir_tests::e2e::static_bootstrap(routes, &clusters.concat())
}

/// Who answered: the echo server's tag, or the status.
async fn who(addr: SocketAddr, path: &str) -> String {
    match client::send(addr, client::get(path, &[])).await {
        Ok(r) => r.header("x-echo-server").map_or_else(|| r.status.to_string(), str::to_string),
        Err(e) => format!("error: {e}"),
    }
}

/// Shares in percent over `REQUESTS` requests to `path`.
async fn split(addr: SocketAddr, path: &str) -> BTreeMap<String, f64> {
    let mut counts = BTreeMap::<String, usize>::new();
    for _ in 0..REQUESTS {
        *counts.entry(who(addr, path).await).or_default() += 1;
    }
    counts.into_iter().map(|(k, n)| (k, 100.0 * n as f64 / REQUESTS as f64)).collect()
}

fn near(shares: &BTreeMap<String, f64>, want: &[(&str, f64)], host: &str) {
    for (who, percent) in want {
        let got = shares.get(*who).copied().unwrap_or(0.0);
        assert!((got - percent).abs() <= 5.0, "{host}: {who} got {got}% (want {percent}%): {shares:?}");
    }
}

/// A port nothing listens on.
fn dead() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn priority_levels_and_panic_split_as_in_envoy() -> anyhow::Result<()> {
    weir_tests::envoy_required()?;
    let a = EchoServer::start_tagged(Some("a".into()))?;
    let b = EchoServer::start_tagged(Some("b".into()))?;
    let yaml = bootstrap(a.addr(), b.addr());
    let envoy = Envoy::start(&yaml).await?;
    let weir = Weir::start_async(yaml, 1).await?;
    // weir's health checks have found every dead endpoint (Envoy's first round of checks is
    // done before it is ready).
    let admin = weir.admin()?;
    let live = [a.addr().to_string(), b.addr().to_string()];
    poll("weir: every dead endpoint unhealthy", Duration::from_secs(20), Duration::from_millis(20), || {
        let live = live.clone();
        async move {
            let reply = client::send(admin, client::admin_get(admin, "/clusters")).await?;
            let clusters: serde_json::Value = serde_json::from_slice(&reply.body)?;
            let pending = clusters
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|c| c["endpoints"].as_array().into_iter().flatten())
                .any(|e| {
                    !live.contains(&e["address"].as_str().unwrap_or_default().to_string())
                        && e["healthy"] == true
                });
            Ok((!pending).then_some(()))
        }
    })
    .await?;
    for (host, addr) in [("Envoy", envoy.listener("main").await?), ("weir", weir.listener("main")?)] {
        // Health checks found the dead endpoint of s1: 50 answers in a row from a or b.
        let good = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        poll(
            &format!("{host}: s1's dead endpoint found unhealthy"),
            Duration::from_secs(20),
            Duration::from_millis(1),
            || {
                let good = good.clone();
                async move {
                    use std::sync::atomic::Ordering::Relaxed;
                    if who(addr, "/s1").await == "503" {
                        good.store(0, Relaxed);
                    }
                    Ok((good.fetch_add(1, Relaxed) + 1 >= 50).then_some(()))
                }
            },
        )
        .await?;
        let s1 = split(addr, "/s1").await;
        let s2 = split(addr, "/s2").await;
        let s3 = split(addr, "/s3").await;
        println!("{host}: s1 {s1:?}, s2 {s2:?}, s3 {s3:?}");
        near(&s1, &[("a", 70.0), ("b", 30.0)], host);
        near(&s2, &[("a", 29.0 / 5.0), ("503", 29.0 * 4.0 / 5.0), ("b", 71.0)], host);
        near(&s3, &[("a", 50.0 / 3.0), ("503", 200.0 / 3.0), ("b", 50.0 / 3.0)], host);
    }
    Ok(())
}
