//! Access log formats against real Envoy: one Envoy bootstrap whose connection manager logs
//! to a file in a text format and then in a JSON format (Envoy's command operators), served by
//! Envoy 1.40 and by weir (which reads Envoy bootstraps); the same requests to both must give
//! the same lines. The operators are those whose value is the same in both hosts for the same
//! exchange (no times, request ids or upstream timings).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use weir_host::config::Config;
use weir_host::process::server::{RunningServer, ServerOptions};
use weir_tests::client;
use weir_tests::echo::EchoServer;
use weir_tests::envoy::Envoy;

const TEXT: &str = "%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL% %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %BYTES_RECEIVED% %BYTES_SENT% \\\"%REQ(USER-AGENT)%\\\" %REQ(X-MISSING?USER-AGENT):4% %REQ(X-ABSENT)% %REQ(:AUTHORITY)% %RESP(CONTENT-TYPE)% %UPSTREAM_CLUSTER% %ROUTE_NAME% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%\\n";

const JSON: &str = r#"{ method: "%REQ(:METHOD)%", path: "%REQ(:PATH)%", code: "%RESPONSE_CODE%", flags: "%RESPONSE_FLAGS%", details: "%RESPONSE_CODE_DETAILS%", received: "%BYTES_RECEIVED%", sent: "%BYTES_SENT%", absent: "%REQ(X-ABSENT)%", mixed: "code=%RESPONSE_CODE% absent=%REQ(X-ABSENT)%", cluster: "%UPSTREAM_CLUSTER%", route: "%ROUTE_NAME%", nested: { agent: "%REQ(USER-AGENT):6%", literal: "weir", number: 7 } }"#;

fn bootstrap(upstream: SocketAddr, log: &Path, format: &str) -> String {
    let manager = format!(
        r#"          access_log:
          - name: envoy.access_loggers.file
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: {}
              log_format: {format}
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - name: missing
                match: {{ prefix: /missing }}
                direct_response: {{ status: 404, body: {{ inline_string: gone }} }}
              - match: {{ prefix: /none }}
                direct_response: {{ status: 204 }}
              - name: proxied
                match: {{ prefix: /up }}
                route: {{ cluster: upstream }}"#,
        log.display()
    );
    let cluster = format!("\n{}", weir_tests::e2e::static_cluster("upstream", upstream).trim_end());
    weir_tests::e2e::static_bootstrap(&manager, &cluster)
}

async fn send_requests(addr: SocketAddr) {
    for (path, headers) in [
        (
            "/up/a?b=1",
            vec![("user-agent", "weir-test/1.0"), ("x-echo-status", "201"), ("x-echo-body", "hello")],
        ),
        ("/missing", vec![("user-agent", "agent")]),
        ("/none", vec![]),
        ("/elsewhere", vec![("user-agent", "x")]),
    ] {
        client::send(addr, client::get(path, &headers)).await.unwrap();
    }
}

/// The lines of `log` once it has `n` (or after a deadline).
async fn lines(log: &Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(String::from).collect();
        if lines.len() >= n || Instant::now() > deadline {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn both_write(format: &str) -> (Vec<String>, Vec<String>) {
    let echo = EchoServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (envoy_log, weir_log) = (dir.path().join("envoy.log"), dir.path().join("weir.log"));
    // Envoy flushes its access log files every 10 s by default.
    let flush = ["--file-flush-interval-msec", "50"];
    let envoy = Envoy::start_with_args(&bootstrap(echo.addr(), &envoy_log, format), 1, &flush).await.unwrap();
    let config = Config::parse(&bootstrap(echo.addr(), &weir_log, format), "bootstrap").unwrap();
    let weir = tokio::task::spawn_blocking(move || {
        RunningServer::start(config, ServerOptions::with_concurrency(1)).unwrap()
    })
    .await
    .unwrap();
    send_requests(envoy.listener("main").await.unwrap()).await;
    send_requests(weir.listener_addr("main").unwrap()).await;
    let out = (lines(&envoy_log, 4).await, lines(&weir_log, 4).await);
    drop(weir);
    drop(envoy);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_lines_are_envoys() {
    weir_tests::envoy_required().unwrap();
    let (envoy, weir) =
        both_write(&format!("{{ text_format_source: {{ inline_string: \"{TEXT}\" }} }}")).await;
    for line in &envoy {
        println!("envoy: {line}");
    }
    assert_eq!(envoy.len(), 4, "{envoy:?}");
    assert_eq!(weir, envoy);
    assert!(envoy[0].starts_with("GET /up/a?b=1 HTTP/1.1 201 - via_upstream 0 5 "), "{}", envoy[0]);
    assert!(envoy[3].contains(" 404 NR route_not_found "), "{}", envoy[3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_are_envoys() {
    weir_tests::envoy_required().unwrap();
    let (envoy, weir) = both_write(&format!("{{ json_format: {JSON} }}")).await;
    for line in &envoy {
        println!("envoy: {line}");
    }
    assert_eq!(envoy.len(), 4, "{envoy:?}");
    let parse = |lines: &[String]| -> Vec<serde_json::Value> {
        lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    assert_eq!(parse(&weir), parse(&envoy));
    // Byte for byte too: keys sorted, no spaces, as Envoy writes them.
    assert_eq!(weir, envoy);
    let first = &parse(&envoy)[0];
    assert_eq!(first["code"], 201);
    assert_eq!(first["absent"], serde_json::Value::Null);
    assert_eq!(first["mixed"], "code=201 absent=-");
}
