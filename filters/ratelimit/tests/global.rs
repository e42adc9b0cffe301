//! Global mode in weir against a tonic Rate Limit Service: the filter pauses the request,
//! calls `ShouldRateLimit`, and continues or answers from the service's decision; timeouts and
//! failures follow `failure_mode_deny`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "support/rls.rs"]
mod rls;

use std::net::SocketAddr;

use rls::RlsServer;
use weir_testing::Harness;

fn config(cluster: &str, failure_mode_deny: bool) -> String {
    serde_json::json!({
        "mode": "global",
        "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
        "rate_limits": [{"actions": [
            {"request_headers": {"header_name": "x-user", "descriptor_key": "user"}},
            {"remote_address": {}}
        ]}],
        "global": {"domain": "edge", "cluster": cluster, "timeout": "300ms", "failure_mode_deny": failure_mode_deny}
    })
    .to_string()
}

fn harness(rls: SocketAddr, cluster: &str, failure_mode_deny: bool) -> Harness {
    Harness::builder(common::wasm())
        .configuration(&config(cluster, failure_mode_deny))
        .cluster("rls", rls, true)
        .start()
        .unwrap()
}

#[test]
fn ok_lets_the_request_through_with_the_services_headers() {
    let rls = RlsServer::start();
    let weir = harness(rls.addr(), "rls", false);
    let response = weir.get("/orders", &[("x-user", "alice")]).unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    let upstream = response.upstream.as_ref().expect("forwarded");
    assert_eq!(upstream.header("x-rls-checked"), Some("yes"));
    assert_eq!(response.header("x-rls"), Some("ok"));
    assert_eq!(response.header("x-ratelimit-limit"), Some("100, 100;w=60"));
    assert_eq!(response.header("x-ratelimit-remaining"), Some("42"));
    assert_eq!(response.header("x-ratelimit-reset"), Some("12"));
    let seen = rls.seen();
    assert_eq!(seen.len(), 1);
    let (domain, descriptors, hits) = &seen[0];
    assert_eq!((domain.as_str(), *hits), ("edge", 1));
    let pairs: Vec<(&str, &str)> = descriptors[0].iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(pairs, [("user", "alice"), ("remote_address", "127.0.0.1")]);
    assert_eq!(common::counter(&weir, "ratelimit.allowed"), 1);
}

#[test]
fn over_limit_is_a_429_with_limit_headers_and_the_services_body() {
    let rls = RlsServer::start();
    let weir = harness(rls.addr(), "rls", false);
    let response = weir.get("/orders", &[("x-user", "deny")]).unwrap();
    assert_eq!(response.status, 429);
    assert!(response.upstream.is_none(), "denied requests never reach the upstream");
    assert_eq!(response.text(), "over the limit\n");
    assert_eq!(response.header("x-rls"), Some("over"));
    assert_eq!(response.header("x-ratelimit-limit"), Some("10, 10;w=60"));
    assert_eq!(response.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(response.header("x-ratelimit-reset"), Some("30"));
    assert_eq!(response.header("x-envoy-ratelimited"), Some("true"));
    assert!(response.header("retry-after").is_none(), "Envoy's ratelimit filter sends none");
    assert_eq!(common::counter(&weir, "ratelimit.denied"), 1);
}

#[test]
fn requests_without_descriptors_are_not_sent_to_the_service() {
    let rls = RlsServer::start();
    let weir = harness(rls.addr(), "rls", true);
    let response = weir.get("/orders", &[]).unwrap();
    assert_eq!(response.status, 200);
    assert!(response.header("x-rls").is_none());
    assert!(rls.seen().is_empty());
}

/// Every way the service can fail, with the status each failure mode gives.
fn failures(failure_mode_deny: bool, want: u16) {
    let rls = RlsServer::start();
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let single = |cluster: &str| {
        Harness::builder(common::wasm())
            .configuration(&config(cluster, failure_mode_deny))
            .cluster("rls", rls.addr(), true)
            .cluster("dead", dead, true)
            .start()
            .unwrap()
    };
    let live = single("rls");
    // A decision after the timeout is not waited for: slow-deny would be a 429.
    for user in ["slow-deny", "fail", "unknown"] {
        let response = live.get("/x", &[("x-user", user)]).unwrap();
        assert_eq!(response.status, want, "{user}: {}", response.text());
        assert_eq!(response.upstream.is_some(), want == 200, "{user}");
        assert!(response.header("x-ratelimit-limit").is_none(), "{user}");
    }
    assert_eq!(common::counter(&live, "ratelimit.errors"), 3);
    // A service nobody listens for, and a cluster the host does not know.
    for cluster in ["dead", "no-such-cluster"] {
        let other = single(cluster);
        let response = other.get("/x", &[("x-user", "alice")]).unwrap();
        assert_eq!(response.status, want, "{cluster}: {}", response.text());
        assert_eq!(common::counter(&other, "ratelimit.errors"), 1, "{cluster}");
    }
}

#[test]
fn failures_and_timeouts_let_requests_through_by_default() {
    failures(false, 200);
}

#[test]
fn failure_mode_deny_answers_500() {
    failures(true, 500);
}
