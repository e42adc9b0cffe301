//! Health checks, outlier ejection, retries and circuit breakers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use support::{Backend, Client, cluster_yaml, simple_config, weir};

/// Polls `f` every 50 ms until it holds (at most `limit`).
fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn health_checks_eject_and_restore_endpoints() {
    let (a, b) = (Backend::start("a"), Backend::start("b"));
    let hc = "    health_check: { path: /healthz, interval: 50ms, timeout: 200ms, unhealthy_threshold: 2, healthy_threshold: 1 }\n";
    let server = weir(&simple_config("", &cluster_yaml(&[&a, &b], hc)));
    let addr = server.listener_addr("main").unwrap();
    let client = Client::new();
    b.healthy.store(false, Ordering::Relaxed);
    assert!(eventually(Duration::from_secs(5), || {
        let before = b.hits();
        (0..10).all(|_| client.get(addr, "x", "/", &[]).header("x-backend") == Some("a"))
            && b.hits() == before
    }));
    b.healthy.store(true, Ordering::Relaxed);
    assert!(eventually(Duration::from_secs(5), || {
        (0..4).any(|_| client.get(addr, "x", "/", &[]).header("x-backend") == Some("b"))
    }));
}

#[test]
fn consecutive_5xx_eject_an_endpoint() {
    let (a, b) = (Backend::start("a"), Backend::start("b"));
    b.failing.store(true, Ordering::Relaxed);
    let od =
        "    outlier_detection: { consecutive_5xx: 3, base_ejection_time: 30s, max_ejection_percent: 50 }\n";
    let server = weir(&simple_config("", &cluster_yaml(&[&a, &b], od)));
    let addr = server.listener_addr("main").unwrap();
    let client = Client::new();
    let failures = (0..20).filter(|_| client.get(addr, "x", "/", &[]).status == 503).count();
    assert_eq!(failures, 3, "b is ejected after 3 failures in a row");
    assert_eq!(b.hits(), 3);
}

#[test]
fn retries_on_5xx_hide_a_failing_endpoint() {
    let (a, b) = (Backend::start("a"), Backend::start("b"));
    b.failing.store(true, Ordering::Relaxed);
    let route = ", retry_policy: { retry_on: 5xx, num_retries: 2 }";
    let server = weir(&simple_config(route, &cluster_yaml(&[&a, &b], "")));
    let addr = server.listener_addr("main").unwrap();
    let client = Client::new();
    for _ in 0..10 {
        let r = client.get(addr, "x", "/", &[]);
        assert_eq!((r.status, r.header("x-backend")), (200, Some("a")));
    }
    assert!(b.hits() >= 4, "b was tried and retried away from");
    let mut stats = String::new();
    server.state().generation.load().process.stats.encode(&mut stats);
    let retries = stats
        .lines()
        .find(|l| l.starts_with("weir_cluster_upstream_rq_retry_total{cluster=\"backends\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok());
    assert_eq!(retries, Some(b.hits()), "{stats}");
}

#[test]
fn retries_on_connect_failure() {
    let a = Backend::start("a");
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let clusters = format!("  - name: backends\n    endpoints: ['{dead}', '{}']\n", a.addr);
    let server =
        weir(&simple_config(", retry_policy: { retry_on: connect-failure, num_retries: 1 }", &clusters));
    let addr = server.listener_addr("main").unwrap();
    let client = Client::new();
    for _ in 0..6 {
        assert_eq!(client.get(addr, "x", "/", &[]).status, 200);
    }
}

#[test]
fn the_requests_breaker_refuses_overflow_with_503() {
    let a = Backend::start("a");
    let cb = "    circuit_breakers: { max_requests: 1, max_connections: 8, max_pending_requests: 8 }\n";
    let server = weir(&simple_config("", &cluster_yaml(&[&a], cb)));
    let addr = server.listener_addr("main").unwrap();
    let slow = std::thread::spawn(move || Client::new().get(addr, "x", "/", &[("x-delay-ms", "800")]).status);
    let client = Client::new();
    assert!(eventually(Duration::from_secs(2), || a.hits() == 1));
    let r = client.get(addr, "x", "/", &[]);
    assert_eq!(r.status, 503);
    assert!(r.text().contains("overflow"), "{}", r.text());
    assert_eq!(slow.join().unwrap(), 200);
    assert_eq!(client.get(addr, "x", "/", &[]).status, 200);
    let mut stats = String::new();
    server.state().generation.load().process.stats.encode(&mut stats);
    assert!(stats.contains("weir_cluster_upstream_rq_overflow_total{cluster=\"backends\"} 1"), "{stats}");
}
