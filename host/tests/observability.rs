//! Stats on the admin port and the access log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use support::{Backend, Client, cluster_yaml, simple_config, weir};

/// The simple config over `backend` with `fields` (YAML lines, each indented 4 spaces and
/// ending with a newline) added to its listener.
fn with_listener_fields(backend: &Backend, fields: &str) -> String {
    simple_config("", &cluster_yaml(&[backend], "")).replace(
        "    address: 127.0.0.1:0\n    virtual_hosts",
        &format!("    address: 127.0.0.1:0\n{fields}    virtual_hosts"),
    )
}

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
    // Behind a trusted proxy: the client's x-request-id is kept (and logged).
    let fields = format!("    use_remote_address: false\n    access_log: {}\n", log.display());
    let yaml = with_listener_fields(&a, &fields);
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

/// Lines of `log` once it has at least `n` (or after 5 s).
fn log_lines(log: &std::path::Path, n: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let lines: Vec<String> =
            std::fs::read_to_string(log).unwrap_or_default().lines().map(String::from).collect();
        if lines.len() >= n || std::time::Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_access_log_format_in_envoys_operators_is_written_per_request() {
    let a = Backend::start("a");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let format = "%REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_CLUSTER% %REQ(X-TAG?USER-AGENT):3%\\n";
    let fields = format!("    access_log:\n      path: {}\n      format: \"{format}\"\n", log.display());
    let yaml = with_listener_fields(&a, &fields);
    let server = weir(&yaml);
    let addr = server.listener_addr("main").unwrap();
    let client = Client::new();
    client.get(addr, "x", "/one", &[("x-tag", "abcdef")]);
    client.get(addr, "x", "/two", &[("user-agent", "agent")]);
    assert_eq!(log_lines(&log, 2), ["GET /one 200 - backends abc", "GET /two 200 - backends age"]);
}

#[test]
fn a_bad_access_log_format_is_refused_with_its_field() {
    let yaml = simple_config("", "  - name: backends\n    endpoints: ['127.0.0.1:1']\n").replace(
        "    address: 127.0.0.1:0\n    virtual_hosts",
        "    address: 127.0.0.1:0\n    access_log: { path: '-', format: '%NOPE%' }\n    virtual_hosts",
    );
    let e = weir_host::config::Config::parse(&yaml, "test").unwrap_err().to_string();
    assert!(
        e.contains("listeners[0].access_log.format") && e.contains("unknown command operator `%NOPE%`"),
        "{e}"
    );
}

/// A writer stuck on a full pipe must not make weir hold every line a client makes: 400
/// requests with a 40 KB header logged by `%REQ(..)%` are 16 MB of lines, twice what may wait
/// (`QUEUE_BYTES`, 8 MiB), though far fewer lines than the line count allows (16,384).
#[test]
fn lines_waiting_for_a_stuck_writer_are_capped_in_bytes() {
    let a = Backend::start("a");
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("access.fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    // A reader that never reads: weir's open succeeds, its writes block once the pipe is full.
    let _reader = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new().read(true).custom_flags(0o4000 /* O_NONBLOCK */).open(&fifo).unwrap()
    };
    let fields = format!("    access_log: {{ path: {}, format: \"%REQ(X-BIG)%\\n\" }}\n", fifo.display());
    let yaml = with_listener_fields(&a, &fields);
    let server = weir(&yaml);
    let addr = server.listener_addr("main").unwrap();
    let client = Client::new();
    let big = "b".repeat(40_000);
    let requests = 400;
    for _ in 0..requests {
        assert_eq!(client.get(addr, "x", "/", &[("x-big", big.as_str())]).status, 200);
    }
    let admin = server.admin_addr().unwrap();
    let stats = client.get(admin, &admin.to_string(), "/stats/prometheus", &[]).text();
    let series = format!("weir_access_log_lines_dropped_total{{path=\"{}\"}} ", fifo.display());
    let dropped: u64 = stats
        .lines()
        .find_map(|l| l.strip_prefix(series.as_str()))
        .unwrap_or_else(|| panic!("no `{series}` in\n{stats}"))
        .trim()
        .parse()
        .unwrap();
    // At most 8 MiB queued plus what the pipe took (64 KiB here): the rest was dropped.
    let kept = requests - dropped;
    assert!(kept * 40_001 <= (8 << 20) + (1 << 20), "{dropped} of {requests} lines dropped: {kept} kept");
}

/// A request the listener's `stream_idle_timeout` ends is logged with its 504, Envoy's `SI`
/// flag and why (the exchange ends after its reply is recorded).
#[test]
fn a_timed_out_request_is_logged_with_its_reply() {
    let a = Backend::start("a");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let format = "%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS%\\n";
    let fields = format!(
        "    stream_idle_timeout: 200ms\n    access_log: {{ path: {}, format: \"{format}\" }}\n",
        log.display()
    );
    let yaml = with_listener_fields(&a, &fields);
    let server = weir(&yaml);
    let addr = server.listener_addr("main").unwrap();
    assert_eq!(Client::new().get(addr, "x", "/", &[("x-delay-ms", "2000")]).status, 504);
    assert_eq!(log_lines(&log, 1), ["504 SI stream_idle_timeout"]);
}
