//! One global limit across a fleet: 3 weir processes and 1 Envoy run the same ratelimit
//! `.wasm` in global mode against one `weir-rls` on one real Redis (`redis-server`). The
//! limit is 100 requests per minute for a user; 1,000 requests spread over the 4 proxies get
//! exactly 100 answers 200 and 900 answers 429, with the same headers from both hosts and the
//! same headers as Envoy's own `envoy.filters.http.ratelimit` filter (on a second Envoy
//! listener, the behaviour reference). Redis killed: every proxy answers with the filter's
//! `failure_mode_deny` status, none waits past the filter's timeout. Redis back: limits hold
//! again.
//!
//! The window is fixed (a minute from :00): the 1,000 requests are sent in one window (if
//! fewer than 25 s are left in the current minute, the test first waits for the next). Over a
//! window boundary a user could get up to 2 × 100, 100 in each window.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use weir_testkit::bins::{self, Bin, Profile};
use weir_testkit::http::{Response, free_port, request};
use weir_testkit::launch::{self, Started};
use weir_testkit::redis::Redis;
use weir_testkit::twin::{Cluster, Listener, Plugin, Route};
use weir_testkit::{Child, Spawn, Twin, paths};

const LIMITS: &str = "
domain: edge
descriptors:
  - key: user
    rate_limit: {unit: minute, requests_per_unit: 100}
  - key: user
    value: probe
    rate_limit: {unit: hour, requests_per_unit: 2}
";

/// The filter's (and Envoy's native filter's) wait for the service.
const TIMEOUT: &str = "2s";
/// `failure_mode_deny`'s status (Envoy's native filter answers 500).
const FAILED: u16 = 500;

fn plugin_config() -> String {
    json!({
        "mode": "global",
        "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
        "rate_limits": [{"actions": [{"request_headers": {"header_name": "x-user", "descriptor_key": "user"}}]}],
        "global": {"domain": "edge", "cluster": "rls", "timeout": TIMEOUT, "failure_mode_deny": true}
    })
    .to_string()
}

fn twin(upstream: SocketAddr, rls: SocketAddr, admin_port: u16) -> Twin {
    let wasm = paths::filter("ratelimit").unwrap();
    Twin {
        admin_port,
        listeners: vec![
            Listener::new("main", vec![Route::prefix("all", "/").to_cluster("upstream")])
                .chain(&["ratelimit"]),
        ],
        clusters: vec![
            Cluster::new("upstream", upstream),
            Cluster { http2: true, ..Cluster::new("rls", rls) },
        ],
        plugins: vec![Plugin::new("ratelimit", wasm).vm_id("ratelimit").configuration(plugin_config())],
        node: None,
    }
}

/// Envoy's bootstrap for `twin`, plus a listener `native` whose chain is Envoy's own
/// `envoy.filters.http.ratelimit` with the same domain, descriptor, timeout and failure mode.
fn envoy_bootstrap(twin: &Twin, native_port: u16) -> String {
    let native = json!({"name": "envoy.filters.http.ratelimit", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit",
        "domain": "edge", "timeout": TIMEOUT, "failure_mode_deny": true,
        "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
        "rate_limit_service": {"grpc_service": {"envoy_grpc": {"cluster_name": "rls"}}, "transport_api_version": "V3"}}});
    twin.envoy_yaml_with_reference("native", native_port, native, |hcm| {
        for vhost in hcm["route_config"]["virtual_hosts"].as_array_mut().unwrap() {
            vhost["rate_limits"] =
                json!([{"actions": [{"request_headers": {"header_name": "x-user", "descriptor_key": "user"}}]}]);
        }
    })
    .unwrap()
}

fn start_rls(redis: &Redis, dir: &Path) -> (Child, SocketAddr) {
    let limits = dir.join("limits.yaml");
    std::fs::write(&limits, LIMITS).unwrap();
    let (child, line) = Spawn::new("weir-rls", bins::path(Bin::Rls, Profile::Debug).unwrap())
        .arg("--config")
        .arg(&limits)
        .args(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--redis-timeout", "300ms", "--redis"])
        .arg(redis.url())
        .start_reading_line(Duration::from_secs(30))
        .unwrap();
    let value: Value = serde_json::from_str(&line).unwrap();
    (child, value["grpc"].as_str().unwrap().parse().unwrap())
}

fn get(proxy: SocketAddr, user: &str) -> Response {
    request(proxy, "GET", "/", &[("x-user", user)], "").unwrap()
}

/// The headers a rate limit decision sets, in a fixed order (absent ones as `-`); the reset is
/// left out (it counts down), see [`reset`].
fn limit_headers(r: &Response) -> Vec<String> {
    ["x-ratelimit-limit", "x-ratelimit-remaining", "x-envoy-ratelimited"]
        .iter()
        .map(|h| format!("{h}: {}", r.header(h).unwrap_or("-")))
        .collect()
}

fn reset(r: &Response) -> u64 {
    r.header("x-ratelimit-reset").unwrap_or_else(|| panic!("no x-ratelimit-reset: {r:?}")).parse().unwrap()
}

/// Waits for the next minute when fewer than `need` seconds are left in this one.
fn one_window(need: u64) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let left = 60 - now.as_secs() % 60;
    if left < need {
        println!("waiting {left} s for the next one-minute window");
        std::thread::sleep(Duration::from_secs(left) + Duration::from_millis(200));
    }
}

#[test]
fn one_limit_holds_exactly_across_three_weir_and_one_envoy() {
    let redis = Redis::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_rls, rls) = start_rls(&redis, dir.path());
    let (_echo, upstream) =
        launch::start_echo(launch::echo(&bins::path(Bin::Echo, Profile::Debug).unwrap(), None)).unwrap();
    let weir_bin = bins::path(Bin::Weir, Profile::Debug).unwrap();
    let mut weirs: Vec<Started> = Vec::new();
    let mut proxies: Vec<(String, SocketAddr)> = Vec::new();
    for i in 0..3 {
        let admin = free_port().unwrap();
        let listen = free_port().unwrap();
        let mut twin = twin(upstream, rls, admin);
        twin.listeners[0].port = listen;
        let started =
            launch::start_weir(&weir_bin, &twin.weir_yaml().unwrap(), admin, 1, ["--log-level", "warn"])
                .unwrap();
        weirs.push(started);
        proxies.push((format!("weir-{i}"), SocketAddr::from(([127, 0, 0, 1], listen))));
    }
    let (main, native) = (free_port().unwrap(), free_port().unwrap());
    let mut envoy_twin = twin(upstream, rls, 0);
    envoy_twin.listeners[0].port = main;
    let bootstrap = envoy_bootstrap(&envoy_twin, native);
    let _envoy =
        launch::start_envoy(&paths::envoy_binary().unwrap(), &bootstrap, 1, ["-l", "warning"]).unwrap();
    proxies.push(("envoy".into(), SocketAddr::from(([127, 0, 0, 1], main))));
    let native = SocketAddr::from(([127, 0, 0, 1], native));

    // 1,000 requests, round-robin over the 4 proxies, from 8 client threads.
    one_window(25);
    let started = Instant::now();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let proxies = proxies.clone();
            std::thread::spawn(move || {
                (0..125)
                    .map(|i| {
                        let (name, addr) = &proxies[(t * 125 + i) % proxies.len()];
                        (name.clone(), get(*addr, "alice"))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let answers: Vec<(String, Response)> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    println!("1000 requests over 4 proxies in {:?}", started.elapsed());
    let allowed = answers.iter().filter(|(_, r)| r.status == 200).count();
    let denied: Vec<&(String, Response)> = answers.iter().filter(|(_, r)| r.status == 429).collect();
    let other: Vec<(&str, u16)> = answers
        .iter()
        .filter(|(_, r)| r.status != 200 && r.status != 429)
        .map(|(n, r)| (n.as_str(), r.status))
        .collect();
    assert!(other.is_empty(), "answers other than 200/429: {other:?}");
    assert_eq!((allowed, denied.len()), (100, 900));

    // Every 429 carries the same headers, from weir and from Envoy, and from Envoy's own filter.
    let reference = get(native, "alice");
    assert_eq!(reference.status, 429, "Envoy's native filter: {reference:?}");
    for (name, r) in &denied {
        assert_eq!(limit_headers(r), limit_headers(&reference), "{name} vs Envoy's native ratelimit filter");
        assert!(reset(r).abs_diff(reset(&reference)) <= 2 && reset(r) <= 60, "{name}: reset {}", reset(r));
    }
    for host in ["weir-0", "envoy"] {
        assert!(denied.iter().any(|(n, _)| n == host), "{host} answered no 429");
    }

    // Redis gone: every proxy answers failure_mode_deny's status, within the filter's timeout.
    let mut redis = redis;
    redis.kill();
    let everyone: Vec<(String, SocketAddr)> =
        proxies.iter().cloned().chain([("native".to_string(), native)]).collect();
    for (name, addr) in &everyone {
        let asked = Instant::now();
        let r = get(*addr, "alice");
        assert_eq!(r.status, FAILED, "{name} with Redis down: {r:?}");
        let waited = asked.elapsed();
        assert!(waited < Duration::from_secs(5), "{name} waited {waited:?}, past the {TIMEOUT} timeout");
    }

    // Redis back (empty): limits hold again. `probe` may have 2 requests an hour.
    redis.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(proxies[0].1, "warmup").status != 200 {
        assert!(Instant::now() < deadline, "requests still fail 20 s after Redis came back");
        std::thread::sleep(Duration::from_millis(100));
    }
    let statuses: Vec<u16> =
        [&proxies[1], &proxies[3], &proxies[2]].iter().map(|(_, a)| get(*a, "probe").status).collect();
    assert_eq!(statuses, [200, 200, 429], "weir-1, envoy, weir-2");
    assert_eq!(get(native, "probe").status, 429);
    drop(weirs);
}
