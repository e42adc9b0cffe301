//! OpenTelemetry tracing: the trace a request carries is continued (W3C `traceparent`, B3),
//! weir's span is the upstream's parent, spans (the request's and one per plugin) reach a real
//! OTLP receiver over gRPC, and a collector that is down or hangs costs requests nothing and
//! holds at most `max_queued_spans` spans.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::PathBuf;
use std::time::Duration;

use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind};
use support::{Client, weir};
use weir_testing::echo::{Echo, EchoServer};
use weir_testing::otlp::{Mode, Receiver};

const PARENT_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT_SPAN: &str = "b7ad6b7169203331";

fn config(upstream: std::net::SocketAddr, collector: &str, tracing_extra: &str) -> String {
    let module = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/filters/header-rewrite.wasm");
    assert!(module.exists(), "run `cargo xtask build-filters` first: {}", module.display());
    format!(
        r#"admin: {{ address: 127.0.0.1:0 }}
tracing:
  otlp_endpoint: {collector}
  service_name: edge
  export_interval: 50ms
{tracing_extra}
listeners:
  - name: main
    address: 127.0.0.1:0
    http_filters: [rewrite-a, rewrite-b, rewrite-c]
    virtual_hosts:
      - name: all
        domains: ['*']
        routes:
          - name: default
            match: {{ prefix: / }}
            route: {{ cluster: echo }}
clusters:
  - name: echo
    endpoints: ['{upstream}']
plugins:
  - name: rewrite-a
    wasm: {module}
    configuration: '{{"request_headers_to_set":{{"x-a":"on"}}}}'
  - name: rewrite-b
    wasm: {module}
    configuration: '{{"request_headers_to_set":{{"x-b":"on"}}}}'
  - name: rewrite-c
    wasm: {module}
    configuration: '{{"response_headers_to_set":{{"x-c":"on"}}}}'
"#,
        module = module.display()
    )
}

fn echoed(reply: &support::Reply) -> Echo {
    serde_json::from_slice(&reply.body).unwrap()
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value;
    let value = span.attributes.iter().find(|kv| kv.key == key)?.value.as_ref()?.value.as_ref()?;
    Some(match value {
        Value::StringValue(s) => s.clone(),
        Value::IntValue(i) => i.to_string(),
        other => format!("{other:?}"),
    })
}

#[test]
fn a_request_continues_its_trace_and_its_spans_reach_the_collector() {
    let echo = EchoServer::start().unwrap();
    let collector = Receiver::start().unwrap();
    let server = weir(&config(echo.addr(), &collector.endpoint(), ""));
    let addr = server.listener_addr("main").unwrap();
    let traceparent = format!("00-{PARENT_TRACE}-{PARENT_SPAN}-01");
    let reply =
        Client::new().get(addr, "x", "/traced?q=1", &[("traceparent", &traceparent), ("tracestate", "v=1")]);
    assert_eq!(reply.status, 200);
    let upstream = echoed(&reply);
    // The upstream sees the same trace with weir's span as its parent, and the tracestate.
    let sent = upstream.header("traceparent").unwrap().to_string();
    let parts: Vec<&str> = sent.split('-').collect();
    assert_eq!((parts[0], parts[1], parts[3]), ("00", PARENT_TRACE, "01"), "{sent}");
    assert_ne!(parts[2], PARENT_SPAN);
    assert_eq!(upstream.header("tracestate"), Some("v=1"));
    assert_eq!((upstream.header("x-a"), upstream.header("x-b")), (Some("on"), Some("on")));
    assert_eq!(reply.header("x-c"), Some("on"));

    // One trace: the proxy's span and one span per plugin of the chain.
    let spans = collector.wait_for(4, Duration::from_secs(10));
    assert_eq!(spans.len(), 4, "{spans:?}");
    assert_eq!(collector.received()[0].service, "edge");
    let server_span = spans.iter().find(|s| s.kind == SpanKind::Server as i32).unwrap();
    assert_eq!(hex::encode(&server_span.trace_id), PARENT_TRACE);
    assert_eq!(hex::encode(&server_span.parent_span_id), PARENT_SPAN);
    assert_eq!(hex::encode(&server_span.span_id), parts[2], "the span the upstream was told of");
    assert_eq!(server_span.trace_state, "v=1");
    assert_eq!(server_span.name, "GET default");
    assert_eq!(attribute(server_span, "http.response.status_code").as_deref(), Some("200"));
    assert_eq!(attribute(server_span, "url.path").as_deref(), Some("/traced?q=1"));
    assert_eq!(attribute(server_span, "weir.upstream_cluster").as_deref(), Some("echo"));
    assert!(server_span.end_time_unix_nano >= server_span.start_time_unix_nano);

    let mut names = Vec::new();
    for plugin_span in spans.iter().filter(|s| s.kind == SpanKind::Internal as i32) {
        names.push(plugin_span.name.clone());
        assert_eq!(plugin_span.trace_id, server_span.trace_id);
        assert_eq!(plugin_span.parent_span_id, server_span.span_id);
        assert_ne!(plugin_span.span_id, server_span.span_id);
        let calls: u64 = attribute(plugin_span, "weir.plugin.callbacks").unwrap().parse().unwrap();
        assert!(calls >= 1, "{plugin_span:?}");
        assert!(plugin_span.start_time_unix_nano >= server_span.start_time_unix_nano);
        assert!(plugin_span.end_time_unix_nano <= server_span.end_time_unix_nano);
    }
    names.sort();
    assert_eq!(names, ["plugin rewrite-a", "plugin rewrite-b", "plugin rewrite-c"]);
}

#[test]
fn a_request_without_a_trace_starts_one_and_an_unsampled_one_is_not_exported() {
    let echo = EchoServer::start().unwrap();
    let collector = Receiver::start().unwrap();
    let server = weir(&config(echo.addr(), &collector.endpoint(), ""));
    let addr = server.listener_addr("main").unwrap();
    let client = Client::new();
    let fresh = echoed(&client.get(addr, "x", "/", &[]));
    let fresh = fresh.header("traceparent").unwrap().to_string();
    assert!(fresh.starts_with("00-") && fresh.ends_with("-01") && fresh.len() == 55, "{fresh}");
    let unsampled = format!("00-{PARENT_TRACE}-{PARENT_SPAN}-00");
    let followed = echoed(&client.get(addr, "x", "/", &[("traceparent", &unsampled)]));
    let followed = followed.header("traceparent").unwrap().to_string();
    assert!(followed.starts_with(&format!("00-{PARENT_TRACE}-")) && followed.ends_with("-00"), "{followed}");
    // The first request's 4 spans arrive; the unsampled one's never do.
    let spans = collector.wait_for(4, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    let spans_later = collector.spans();
    assert_eq!(spans.len(), 4);
    assert_eq!(spans_later.len(), 4, "{spans_later:?}");
    assert!(spans_later.iter().all(|s| hex::encode(&s.trace_id) == fresh[3..35]));
}

#[test]
fn b3_headers_are_continued_and_written_when_configured() {
    let echo = EchoServer::start().unwrap();
    let collector = Receiver::start().unwrap();
    let server = weir(&config(echo.addr(), &collector.endpoint(), "  propagation: [b3, tracecontext]"));
    let addr = server.listener_addr("main").unwrap();
    let b3 =
        [("x-b3-traceid", "463ac35c9f6413ad"), ("x-b3-spanid", "a2fb4a1d1a96d312"), ("x-b3-sampled", "1")];
    let upstream = echoed(&Client::new().get(addr, "x", "/", &b3));
    assert_eq!(upstream.header("x-b3-traceid"), Some("0000000000000000463ac35c9f6413ad"));
    let span = upstream.header("x-b3-spanid").unwrap();
    assert_ne!(span, "a2fb4a1d1a96d312");
    assert_eq!(upstream.header("x-b3-sampled"), Some("1"));
    assert_eq!(
        upstream.header("traceparent").map(String::from),
        Some(format!("00-0000000000000000463ac35c9f6413ad-{span}-01"))
    );
    let spans = collector.wait_for(4, Duration::from_secs(10));
    let server_span = spans.iter().find(|s| s.kind == SpanKind::Server as i32).unwrap();
    assert_eq!(hex::encode(&server_span.parent_span_id), "a2fb4a1d1a96d312");
}

fn counter(stats: &str, name: &str) -> u64 {
    stats
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in\n{stats}"))
        .parse()
        .unwrap()
}

/// A collector that never answers: every request is still served at once, and at most
/// `max_queued_spans` spans (plus the batch being sent) wait; the rest are dropped and counted.
/// A collector that refuses: failed exports are counted and their spans dropped.
#[test]
fn a_broken_collector_costs_requests_nothing_and_holds_a_bounded_queue() {
    let echo = EchoServer::start().unwrap();
    let collector = Receiver::start().unwrap();
    collector.set_mode(Mode::Hang);
    let extra = "  max_queued_spans: 20\n  max_export_batch: 10\n  export_timeout: 30s";
    let server = weir(&config(echo.addr(), &collector.endpoint(), extra));
    let addr = server.listener_addr("main").unwrap();
    let admin = server.admin_addr().unwrap();
    let client = Client::new();
    let requests = 100;
    for _ in 0..requests {
        assert_eq!(client.get(addr, "x", "/", &[]).status, 200);
    }
    let stats = client.get(admin, &admin.to_string(), "/stats/prometheus", &[]).text();
    let dropped = counter(&stats, "weir_tracing_spans_dropped_total");
    // 4 spans per request; the queue (20) and one batch (10) may hold 30 of them.
    assert!(dropped >= 4 * requests - 30, "{dropped} dropped\n{stats}");
    assert_eq!(counter(&stats, "weir_tracing_spans_exported_total"), 0);
    drop(server);

    let refusing = Receiver::start().unwrap();
    refusing.set_mode(Mode::Refuse);
    let server = weir(&config(echo.addr(), &refusing.endpoint(), ""));
    let (addr, admin) = (server.listener_addr("main").unwrap(), server.admin_addr().unwrap());
    assert_eq!(client.get(addr, "x", "/", &[]).status, 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let stats = client.get(admin, &admin.to_string(), "/stats/prometheus", &[]).text();
        if counter(&stats, "weir_tracing_export_failures_total") >= 1 {
            assert_eq!(counter(&stats, "weir_tracing_spans_dropped_total"), 4, "{stats}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no failed export counted:\n{stats}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn bad_tracing_config_is_refused_with_its_field() {
    for (extra, field) in [
        ("  sampling_percent: 120", "tracing.sampling_percent"),
        ("  propagation: []", "tracing.propagation"),
        ("  max_queued_spans: 0", "tracing.max_queued_spans"),
    ] {
        let yaml = config("127.0.0.1:1".parse().unwrap(), "http://127.0.0.1:4317", extra);
        let e = weir_host::config::Config::parse(&yaml, "test").unwrap_err().to_string();
        assert!(e.contains(field), "{extra}: {e}");
    }
    let yaml = config("127.0.0.1:1".parse().unwrap(), "https://collector:4317", "");
    let e = weir_host::config::Config::parse(&yaml, "test").unwrap_err().to_string();
    assert!(e.contains("tracing.otlp_endpoint") && e.contains("TLS"), "{e}");
}
