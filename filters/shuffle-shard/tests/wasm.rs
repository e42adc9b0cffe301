//! The compiled filter (`target/filters/shuffle-shard.wasm`, built by `cargo xtask
//! build-filters`) inside weir, through `weir_testing::Harness`: the headers the
//! upstream sees match the native algorithm, runtime values take effect without a restart,
//! and bad input is handled as documented.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use serde_json::json;
use weir_filter_shuffle_shard::assign;
use weir_filter_shuffle_shard::headers::hosts_list;
use weir_testing::{Harness, TestResponse};

fn wasm() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/filters/shuffle-shard.wasm");
    assert!(path.exists(), "{} is missing: run `cargo xtask build-filters` first", path.display());
    path
}

fn start(config: &str) -> Harness {
    Harness::builder(wasm()).configuration(config).vm_id("shard").start().expect("weir starts")
}

/// What the native algorithm says for this request: (cluster, hosts).
fn expected(customer: &str, path: &str, total: u32, size: u32) -> (String, String) {
    let a = assign(customer.as_bytes(), path.as_bytes(), 0, total, size).unwrap();
    (format!("shard-{}", a.host), hosts_list(a.shard.ranked()))
}

/// Asserts the upstream saw (and the response carries) the headers of the native algorithm.
fn assert_routed(r: &TestResponse, customer: &str, path: &str, total: u32, size: u32, config: &str) {
    assert_eq!(r.status, 200, "{}", r.text());
    let up = r.upstream.as_ref().expect("forwarded");
    let (cluster, hosts) = expected(customer, path, total, size);
    assert_eq!(up.header("x-shard-cluster"), Some(cluster.as_str()));
    assert_eq!(up.header("x-shard-hosts"), Some(hosts.as_str()));
    assert_eq!(up.header("x-shard-config"), Some(config));
    assert_eq!(r.header("x-shard-cluster"), Some(cluster.as_str()));
    assert_eq!(r.header("x-shard-hosts"), Some(hosts.as_str()));
    assert_eq!(r.header("x-shard-config"), Some(config));
}

#[test]
fn runtime_values_take_effect_without_restart() {
    let h = start(r#"{"total_hosts": 4, "shard_size": 2}"#);
    let r = h.get("/orders", &[("x-customer-id", "customer-A")]).unwrap();
    assert_routed(&r, "customer-A", "/orders", 4, 2, "total=4;size=2;source=config;total_source=config");

    h.set_runtime(&[
        ("shuffle_sharding.total_hosts", json!(10)),
        ("shuffle_sharding.default_shard_size", json!(3)),
    ]);
    let r = h.get("/orders", &[("x-customer-id", "customer-A")]).unwrap();
    assert_routed(&r, "customer-A", "/orders", 10, 3, "total=10;size=3;source=runtime;total_source=runtime");
    assert_eq!(r.upstream.unwrap().header("x-shard-hosts"), Some("0,1,7"), "the README's worked example");

    h.set_runtime(&[
        ("shuffle_sharding.total_hosts", json!(10)),
        ("shuffle_sharding.default_shard_size", json!(3)),
        ("shuffle_sharding.customer.customer-B.shard_size", json!("5")),
    ]);
    let r = h.get("/orders", &[("x-customer-id", "customer-B")]).unwrap();
    assert_routed(&r, "customer-B", "/orders", 10, 5, "total=10;size=5;source=customer;total_source=runtime");
    let r = h.get("/orders", &[("x-customer-id", "customer-A")]).unwrap();
    assert_routed(&r, "customer-A", "/orders", 10, 3, "total=10;size=3;source=runtime;total_source=runtime");
}

#[test]
fn same_path_same_host_and_client_headers_are_replaced() {
    let h = start(r#"{"total_hosts": 20, "shard_size": 4}"#);
    let headers =
        [("x-customer-id", "customer-C"), ("x-shard-cluster", "shard-999"), ("x-shard-hosts", "1,2,3")];
    let config = "total=20;size=4;source=config;total_source=config";
    for _ in 0..3 {
        let r = h.get("/items/42?page=2", &headers).unwrap();
        // The query string does not take part (hash_query is false by default).
        assert_routed(&r, "customer-C", "/items/42", 20, 4, config);
    }
}

#[test]
fn missing_customer_is_rejected_with_400() {
    let h = start(r#"{"total_hosts": 3}"#);
    for headers in [&[][..], &[("x-customer-id", "  ")][..]] {
        let r = h.get("/orders", headers).unwrap();
        assert_eq!(r.status, 400);
        assert!(r.upstream.is_none(), "must not reach the upstream");
        assert!(r.text().contains("missing_customer_id"), "{}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("x-shard-cluster"), None);
    }
}

#[test]
fn missing_customer_uses_the_default_customer() {
    let h = start(
        r#"{"total_hosts": 10, "shard_size": 3, "on_missing_customer": "default",
            "default_customer": "anonymous", "header": "X-Tenant"}"#,
    );
    let r = h.get("/", &[]).unwrap();
    assert_routed(&r, "anonymous", "/", 10, 3, "total=10;size=3;source=config;total_source=config");
    let r = h.get("/", &[("x-tenant", "customer-A")]).unwrap();
    assert_routed(&r, "customer-A", "/", 10, 3, "total=10;size=3;source=config;total_source=config");
}

#[test]
fn invalid_runtime_values_fall_back_or_clamp() {
    let h = start(r#"{"total_hosts": 6, "shard_size": 2}"#);
    h.set_runtime(&[
        ("shuffle_sharding.total_hosts", json!("lots")),
        ("shuffle_sharding.default_shard_size", json!(0)),
        ("shuffle_sharding.customer.customer-A.shard_size", json!(-1)),
    ]);
    let r = h.get("/x", &[("x-customer-id", "customer-A")]).unwrap();
    assert_routed(&r, "customer-A", "/x", 6, 2, "total=6;size=2;source=config;total_source=config");

    h.set_runtime(&[
        ("shuffle_sharding.total_hosts", json!(3)),
        ("shuffle_sharding.default_shard_size", json!(7)),
    ]);
    let r = h.get("/x", &[("x-customer-id", "customer-A")]).unwrap();
    assert_routed(
        &r,
        "customer-A",
        "/x",
        3,
        3,
        "total=3;size=3;source=runtime;total_source=runtime;clamped=true",
    );
}

#[test]
fn per_route_rules_and_custom_names() {
    let h = start(
        r#"{"total_hosts": 8, "shard_size": 2, "cluster_header": "x-route-to", "hosts_header": "",
            "rules": [{"match": {"path_prefix": "/admin"}, "config": {"cluster_pattern": "admin-{index}"}}]}"#,
    );
    let r = h.get("/admin/users", &[("x-customer-id", "customer-A")]).unwrap();
    let a = assign(b"customer-A", b"/admin/users", 0, 8, 2).unwrap();
    let up = r.upstream.expect("forwarded");
    assert_eq!(up.header("x-route-to"), Some(format!("admin-{}", a.host).as_str()));
    assert_eq!(up.header("x-shard-hosts"), None, "disabled by an empty name");
    let r = h.get("/shop", &[("x-customer-id", "customer-A")]).unwrap();
    let a = assign(b"customer-A", b"/shop", 0, 8, 2).unwrap();
    assert_eq!(r.upstream.unwrap().header("x-route-to"), Some(format!("shard-{}", a.host).as_str()));
}

#[test]
fn bad_configuration_is_refused_at_start() {
    for bad in [
        r#"{"shard_size": 0}"#,
        r#"{"total_hosts": 3, "shard_size": 4}"#,
        r#"{"cluster_pattern": "shard"}"#,
        r#"{"on_missing_customer": "default"}"#,
        r#"{"header": "bad header"}"#,
        r#"{"totl_hosts": 3}"#,
        r#"{"rules": [{"match": {"path_prefix": "/"}, "config": {"total_hosts": 0}}]}"#,
        "not json",
    ] {
        let started = Harness::builder(wasm()).configuration(bad).start();
        let err = started.expect_err(bad).to_string();
        assert!(err.contains("proxy_on_configure returned false"), "{bad}: {err}");
    }
}
