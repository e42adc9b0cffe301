//! Tracing against real Envoy: Envoy 1.40 with its OpenTelemetry tracer and weir with
//! `tracing`, each exporting to an OTLP receiver of its own, are sent the same requests. Both
//! must continue the caller's W3C trace, tell the upstream of their own span (same trace, a new
//! span id, the caller's sampling decision), and export a server span whose parent is the
//! caller's span and whose id is the one the upstream was told.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::net::SocketAddr;
use std::time::Duration;

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use weir_testing::otlp::Receiver;
use weir_tests::client;
use weir_tests::echo::EchoServer;
use weir_tests::envoy::Envoy;
use weir_tests::weir::Weir;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER: &str = "00f067aa0ba902b7";

fn envoy_bootstrap(upstream: SocketAddr, collector: SocketAddr) -> String {
    let manager = r#"          tracing:
            provider:
              name: envoy.tracers.opentelemetry
              typed_config:
                "@type": type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig
                grpc_service: { envoy_grpc: { cluster_name: otel } }
                service_name: edge
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - name: default
                match: { prefix: / }
                route: { cluster: upstream }"#;
    let otel = format!(
        "  - name: otel\n    type: STATIC\n    connect_timeout: 1s\n    typed_extension_protocol_options:\n      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:\n        \"@type\": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions\n        explicit_http_config: {{ http2_protocol_options: {{}} }}\n    load_assignment:\n      cluster_name: otel\n      endpoints: [ {{ lb_endpoints: [ {{ endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {} }} }} }} }} ] }} ]\n",
        collector.port()
    );
    let clusters = format!(
        "\n{}\n{}",
        weir_tests::e2e::static_cluster("upstream", upstream).trim_end(),
        otel.trim_end()
    );
    // Envoy's exporter flushes every 5 s or every 5 spans by default: at once here.
    let runtime = "layered_runtime:\n  layers:\n  - name: static\n    static_layer:\n      tracing.opentelemetry.flush_interval_ms: 50\n      tracing.opentelemetry.min_flush_spans: 1\n";
    format!("{runtime}{}", weir_tests::e2e::static_bootstrap(manager, &clusters))
}

fn weir_config(upstream: SocketAddr, collector: &Receiver) -> String {
    format!(
        "admin: {{ address: 127.0.0.1:0 }}\ntracing: {{ otlp_endpoint: '{}', service_name: edge, export_interval: 50ms }}\nlisteners:\n  - name: main\n    address: 127.0.0.1:0\n    virtual_hosts:\n      - name: all\n        domains: ['*']\n        routes:\n          - name: default\n            match: {{ prefix: / }}\n            route: {{ cluster: upstream }}\nclusters:\n  - name: upstream\n    endpoints: ['{upstream}']\n",
        collector.endpoint()
    )
}

/// What a host did with one traced request: the upstream's `traceparent` and the server span.
async fn traced(
    addr: SocketAddr,
    collector: &Receiver,
    sampled: bool,
) -> (String, Option<(String, String, String)>) {
    let flags = if sampled { "01" } else { "00" };
    let traceparent = format!("00-{TRACE}-{CALLER}-{flags}");
    let reply = client::send(addr, client::get("/traced", &[("traceparent", &traceparent)])).await.unwrap();
    assert_eq!(reply.status, 200);
    let echo: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    let sent = echo["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pair| pair[0] == "traceparent")
        .map(|pair| pair[1].as_str().unwrap().to_string())
        .unwrap_or_default();
    if !sampled {
        return (sent, None);
    }
    let spans = tokio::task::block_in_place(|| collector.wait_for(1, Duration::from_secs(10)));
    let server = spans.iter().find(|s| s.kind == SpanKind::Server as i32);
    let server =
        server.map(|s| (hex::encode(&s.trace_id), hex::encode(&s.span_id), hex::encode(&s.parent_span_id)));
    (sent, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weir_continues_a_w3c_trace_as_envoy_does() {
    weir_tests::envoy_required().unwrap();
    let echo = EchoServer::start().unwrap();
    let (envoy_collector, weir_collector) = (Receiver::start().unwrap(), Receiver::start().unwrap());
    let envoy = Envoy::start(&envoy_bootstrap(echo.addr(), envoy_collector.addr())).await.unwrap();
    let weir = Weir::start_async(weir_config(echo.addr(), &weir_collector), 1).await.unwrap();
    let (envoy_addr, weir_addr) = (envoy.listener("main").await.unwrap(), weir.listener("main").unwrap());

    for (host, addr, collector) in
        [("envoy", envoy_addr, &envoy_collector), ("weir", weir_addr, &weir_collector)]
    {
        let (sent, server) = traced(addr, collector, true).await;
        println!("{host}: upstream traceparent {sent}, server span {server:?}");
        let parts: Vec<&str> = sent.split('-').collect();
        assert_eq!(parts.len(), 4, "{host}: {sent}");
        assert_eq!((parts[0], parts[1], parts[3]), ("00", TRACE, "01"), "{host}: {sent}");
        assert_ne!(parts[2], CALLER, "{host}: a span of its own");
        let (trace, span, parent) = server.unwrap_or_else(|| panic!("{host}: no server span"));
        assert_eq!(trace, TRACE, "{host}");
        assert_eq!(parent, CALLER, "{host}: the caller's span is the parent");
        assert_eq!(span, parts[2], "{host}: the upstream is told of the exported span");

        let (sent, _) = traced(addr, collector, false).await;
        println!("{host}: unsampled, upstream traceparent {sent}");
        assert!(sent.starts_with(&format!("00-{TRACE}-")) && sent.ends_with("-00"), "{host}: {sent}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (host, collector) in [("envoy", &envoy_collector), ("weir", &weir_collector)] {
        let servers = collector.spans().iter().filter(|s| s.kind == SpanKind::Server as i32).count();
        assert_eq!(servers, 1, "{host}: the unsampled request exported nothing");
        assert!(collector.received().iter().all(|r| r.service == "edge"), "{host}");
    }
}
