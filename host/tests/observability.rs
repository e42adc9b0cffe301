//! Stats on the admin port and the access log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use support::{Backend, Client, cluster_yaml, simple_config, weir};

#[test]
fn stats_count_per_listener_route_cluster_and_endpoint() {
    let a = Backend::start("a");
    let server = weir(&simple_config("", &cluster_yaml(&[&a], "")));
    let addr = server.listener_addr("main").unwrap();
    let client = Client::new();
    for _ in 0..3 {
        assert_eq!(client.get(addr, "x", "/", &[]).status, 200);
    }
    let admin = server.admin_addr().unwrap();
    let stats = client.get(admin, &admin.to_string(), "/stats/prometheus", &[]).text();
    for line in [
        "weir_downstream_rq_total{listener=\"main\",code_class=\"2xx\"} 3",
        "weir_route_rq_total{listener=\"main\",route=\"default\",code_class=\"2xx\"} 3",
        "weir_cluster_upstream_rq_total{cluster=\"backends\",code_class=\"2xx\"} 3",
        &format!(
            "weir_endpoint_upstream_rq_total{{cluster=\"backends\",endpoint=\"{}\",code_class=\"2xx\"}} 3",
            a.addr
        ),
        &format!("weir_endpoint_healthy{{cluster=\"backends\",endpoint=\"{}\"}} 1", a.addr),
    ] {
        assert!(stats.contains(line), "missing `{line}` in\n{stats}");
    }
    assert!(stats.contains("weir_downstream_rq_time_seconds_count{listener=\"main\"} 3"), "{stats}");
    let clusters = client.get(admin, &admin.to_string(), "/clusters", &[]).text();
    assert!(clusters.contains(&a.addr.to_string()) && clusters.contains("\"healthy\":true"), "{clusters}");
}

#[test]
fn the_access_log_gets_one_json_line_per_request() {
    let a = Backend::start("a");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let yaml = simple_config("", &cluster_yaml(&[&a], "")).replace(
        "    address: 127.0.0.1:0\n    virtual_hosts",
        // Behind a trusted proxy: the client's x-request-id is kept (and logged).
        &format!(
            "    address: 127.0.0.1:0\n    use_remote_address: false\n    access_log: {}\n    virtual_hosts",
            log.display()
        ),
    );
    let server = weir(&yaml);
    let addr = server.listener_addr("main").unwrap();
    let client = Client::new();
    client.get(addr, "x", "/logged?q=1", &[("user-agent", "weir-test"), ("x-request-id", "req-1")]);
    let mut lines = Vec::new();
    for _ in 0..50 {
        lines = std::fs::read_to_string(&log).unwrap_or_default().lines().map(String::from).collect();
        if !lines.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(lines.len(), 1, "{lines:?}");
    let entry: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(entry["method"], "GET");
    assert_eq!(entry["path"], "/logged?q=1");
    assert_eq!(entry["response_code"], 200);
    assert_eq!(entry["response_code_details"], "via_upstream");
    assert_eq!(entry["route_name"], "default");
    assert_eq!(entry["upstream_cluster"], "backends");
    assert_eq!(entry["upstream_host"], a.addr.to_string());
    assert_eq!(entry["request_id"], "req-1");
    assert_eq!(entry["user_agent"], "weir-test");
}
