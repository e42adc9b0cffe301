//! weir-rls against a real Redis: the decision is exact under concurrency, several
//! descriptors are decided together, shadow mode and `hits_addend` count as envoyproxy/
//! ratelimit's do, bad calls are refused, a Redis outage fails calls within the timeout (and
//! they work again once Redis is back), and `SIGHUP` reloads the limits or keeps them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use envoy_types::pb::envoy::extensions::common::ratelimit::v3::RateLimitDescriptor;
use envoy_types::pb::envoy::extensions::common::ratelimit::v3::rate_limit_descriptor::Entry;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_service_client::RateLimitServiceClient;
use envoy_types::pb::envoy::service::ratelimit::v3::{RateLimitRequest, RateLimitResponse};
use tonic::transport::Channel;
use weir_testkit::redis::Redis;
use weir_testkit::{Child, Spawn};

const OK: i32 = 1;
const OVER: i32 = 2;

const LIMITS: &str = r#"
domain: edge
descriptors:
  - key: user
    rate_limit: {unit: hour, requests_per_unit: 100}
  - key: one
    rate_limit: {unit: hour, requests_per_unit: 1}
  - key: five
    rate_limit: {unit: hour, requests_per_unit: 5}
  - key: shadow
    rate_limit: {unit: hour, requests_per_unit: 1}
    shadow_mode: true
  - key: free
    rate_limit: {unlimited: true}
"#;

struct Rls {
    child: Child,
    config: tempfile::NamedTempFile,
    client: RateLimitServiceClient<Channel>,
    admin: std::net::SocketAddr,
}

async fn start(redis: &Redis, limits: &str) -> Rls {
    let config = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    std::fs::write(config.path(), limits).unwrap();
    let (child, line) = Spawn::new("weir-rls", env!("CARGO_BIN_EXE_weir-rls"))
        .arg("--config")
        .arg(config.path())
        .args(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--redis-timeout", "300ms", "--redis"])
        .arg(redis.url())
        .start_reading_line(Duration::from_secs(20))
        .unwrap();
    let addr = |name: &str| -> std::net::SocketAddr {
        let start = line.find(&format!("\"{name}\":\"")).unwrap() + name.len() + 4;
        line[start..].split('"').next().unwrap().parse().unwrap()
    };
    let client = RateLimitServiceClient::connect(format!("http://{}", addr("grpc"))).await.unwrap();
    Rls { child, config, client, admin: addr("admin") }
}

fn request(domain: &str, descriptors: &[&[(&str, &str)]], hits: u32) -> RateLimitRequest {
    RateLimitRequest {
        domain: domain.into(),
        descriptors: descriptors
            .iter()
            .map(|d| RateLimitDescriptor {
                entries: d.iter().map(|(k, v)| Entry { key: (*k).into(), value: (*v).into() }).collect(),
                ..RateLimitDescriptor::default()
            })
            .collect(),
        hits_addend: hits,
    }
}

async fn ask(rls: &Rls, descriptors: &[&[(&str, &str)]], hits: u32) -> RateLimitResponse {
    rls.client.clone().should_rate_limit(request("edge", descriptors, hits)).await.unwrap().into_inner()
}

/// Waits for the next hour if fewer than `need` seconds are left in this one, so a burst is
/// decided in one window.
async fn one_window(need: u64) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let left = 3600 - now % 3600;
    if left < need {
        tokio::time::sleep(Duration::from_secs(left + 1)).await;
    }
}

fn metrics(admin: std::net::SocketAddr) -> String {
    weir_testkit::http::admin_get(admin, "/metrics").unwrap().body
}

fn metric(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_1000_concurrent_calls_exactly_the_limit_are_allowed() {
    let redis = Redis::start().unwrap();
    let rls = start(&redis, LIMITS).await;
    one_window(60).await;
    let mut tasks = Vec::new();
    for _ in 0..1000 {
        let mut client = rls.client.clone();
        tasks.push(tokio::spawn(async move {
            client.should_rate_limit(request("edge", &[&[("user", "alice")]], 0)).await.unwrap().into_inner()
        }));
    }
    let mut allowed = 0;
    for task in tasks {
        let answer = task.await.unwrap();
        let status = &answer.statuses[0];
        assert_eq!(status.current_limit.as_ref().unwrap().requests_per_unit, 100);
        let reset = status.duration_until_reset.as_ref().unwrap().seconds;
        assert!((0..=3600).contains(&reset), "{reset}");
        if answer.overall_code == OK {
            allowed += 1;
        } else {
            assert_eq!((answer.overall_code, status.code, status.limit_remaining), (OVER, OVER, 0));
        }
    }
    assert_eq!(allowed, 100);
    let text = metrics(rls.admin);
    assert_eq!(metric(&text, "weir_rls_hits_total{domain=\"edge\",limit=\"user\"}"), 1000);
    assert_eq!(metric(&text, "weir_rls_over_limit_total{domain=\"edge\",limit=\"user\"}"), 900);
    assert_eq!(metric(&text, "weir_rls_over_limit_responses_total"), 900);
    // Another value has its own counter.
    assert_eq!(ask(&rls, &[&[("user", "bob")]], 0).await.statuses[0].limit_remaining, 99);
    drop(rls.child);
}

#[tokio::test]
async fn descriptors_are_decided_together_and_a_denial_consumes_nothing() {
    let redis = Redis::start().unwrap();
    let rls = start(&redis, LIMITS).await;
    one_window(10).await;
    let both: &[&[(&str, &str)]] =
        &[&[("one", "x")], &[("five", "x")], &[("unknown", "x")], &[("free", "x")]];
    let first = ask(&rls, both, 0).await;
    assert_eq!(first.overall_code, OK);
    let remaining: Vec<u32> = first.statuses.iter().map(|s| s.limit_remaining).collect();
    assert_eq!(remaining, [0, 4, 0, 0]);
    assert!(first.statuses[2].current_limit.is_none() && first.statuses[3].current_limit.is_none());
    let second = ask(&rls, both, 0).await;
    assert_eq!(second.overall_code, OVER);
    let codes: Vec<i32> = second.statuses.iter().map(|s| s.code).collect();
    assert_eq!(codes, [OVER, OK, OK, OK]);
    assert_eq!(second.statuses[1].limit_remaining, 4, "the denied call took nothing from `five`");
    // hits_addend: 4 more fit in `five`, then 1 more does not.
    assert_eq!(ask(&rls, &[&[("five", "x")]], 4).await.statuses[0].limit_remaining, 0);
    assert_eq!(ask(&rls, &[&[("five", "x")]], 1).await.overall_code, OVER);
}

#[tokio::test]
async fn shadow_mode_counts_and_never_denies() {
    let redis = Redis::start().unwrap();
    let rls = start(&redis, LIMITS).await;
    one_window(10).await;
    for _ in 0..3 {
        let answer = ask(&rls, &[&[("shadow", "x")]], 0).await;
        assert_eq!((answer.overall_code, answer.statuses[0].code), (OK, OK));
    }
    let text = metrics(rls.admin);
    assert_eq!(metric(&text, "weir_rls_shadow_mode_total{domain=\"edge\",limit=\"shadow\"}"), 2);
    assert_eq!(metric(&text, "weir_rls_over_limit_total{domain=\"edge\",limit=\"shadow\"}"), 0);
}

#[tokio::test]
async fn bad_calls_are_refused_and_unknown_domains_are_not_limited() {
    let redis = Redis::start().unwrap();
    let rls = start(&redis, LIMITS).await;
    let mut client = rls.client.clone();
    let code = |r: Result<tonic::Response<RateLimitResponse>, tonic::Status>| r.unwrap_err().code();
    let empty_domain = request("", &[&[("user", "a")]], 0);
    assert_eq!(code(client.should_rate_limit(empty_domain).await), tonic::Code::InvalidArgument);
    assert_eq!(code(client.should_rate_limit(request("edge", &[], 0)).await), tonic::Code::InvalidArgument);
    let many: Vec<&[(&str, &str)]> = vec![&[("user", "a")]; 65];
    assert_eq!(code(client.should_rate_limit(request("edge", &many, 0)).await), tonic::Code::InvalidArgument);
    let long = "v".repeat(1025);
    let long_value = request("edge", &[&[("user", &long)]], 0);
    assert_eq!(code(client.should_rate_limit(long_value).await), tonic::Code::InvalidArgument);
    let huge = "v".repeat(70_000);
    let oversized = request(&huge, &[&[("user", "a")]], 0);
    assert_eq!(code(client.should_rate_limit(oversized).await), tonic::Code::OutOfRange);
    let other =
        client.should_rate_limit(request("other", &[&[("user", "a")]], 0)).await.unwrap().into_inner();
    assert_eq!((other.overall_code, other.statuses.len()), (OK, 1));
    let text = metrics(rls.admin);
    assert_eq!(metric(&text, "weir_rls_invalid_requests_total"), 4);
    assert_eq!(metric(&text, "weir_rls_unknown_domain_total"), 1);
}

#[tokio::test]
async fn a_redis_outage_fails_calls_within_the_timeout_and_recovers() {
    let mut redis = Redis::start().unwrap();
    let rls = start(&redis, LIMITS).await;
    one_window(30).await;
    assert_eq!(ask(&rls, &[&[("one", "x")]], 0).await.overall_code, OK);
    redis.kill();
    for _ in 0..3 {
        let started = Instant::now();
        let err =
            rls.client.clone().should_rate_limit(request("edge", &[&[("user", "a")]], 0)).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "a call waited {:?}", started.elapsed());
    }
    redis.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match rls.client.clone().should_rate_limit(request("edge", &[&[("one", "x")]], 0)).await {
            Ok(answer) => {
                assert_eq!(answer.into_inner().overall_code, OK, "the new Redis starts empty");
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "still failing after Redis came back: {e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ask(&rls, &[&[("one", "x")]], 0).await.overall_code, OVER, "limits enforced again");
    assert!(metric(&metrics(rls.admin), "weir_rls_redis_errors_total") >= 3);
}

fn hangup(child: &Child) {
    std::process::Command::new("kill").args(["-HUP", &child.pid().to_string()]).status().unwrap();
}

async fn wait_metric(admin: std::net::SocketAddr, series: &str, want: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(&metrics(admin), series) != want {
        assert!(Instant::now() < deadline, "{series} never reached {want}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[tokio::test]
async fn sighup_reloads_the_limits_and_a_bad_file_keeps_the_running_ones() {
    let redis = Redis::start().unwrap();
    let rls = start(&redis, LIMITS).await;
    one_window(10).await;
    write(
        rls.config.path(),
        "domain: edge\ndescriptors: [{key: user, rate_limit: {unit: hour, requests_per_unit: 7}}]\n",
    );
    hangup(&rls.child);
    wait_metric(rls.admin, "weir_rls_config_loads_total", 2).await;
    let answer = ask(&rls, &[&[("user", "carol")]], 0).await;
    assert_eq!(answer.statuses[0].current_limit.as_ref().unwrap().requests_per_unit, 7);
    write(
        rls.config.path(),
        "domain: edge\ndescriptors: [{key: user, rate_limit: {unit: fortnight, requests_per_unit: 1}}]\n",
    );
    hangup(&rls.child);
    wait_metric(rls.admin, "weir_rls_config_load_errors_total", 1).await;
    let answer = ask(&rls, &[&[("user", "carol")]], 0).await;
    assert_eq!(answer.statuses[0].current_limit.as_ref().unwrap().requests_per_unit, 7, "kept");
    assert!(rls.child.log().contains("descriptors[0].rate_limit.unit: `fortnight`"), "{}", rls.child.log());
    let text = metrics(rls.admin);
    assert!(!text.contains("limit=\"one\""), "series of removed limits are dropped:\n{text}");
}
