//! Part 1 of the demo: the example filters, unchanged, in real Envoy and in weir, side by side.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use super::procs::Procs;
use crate::{bootstrap, envoy, util};

/// Runs part 1.
pub fn run(envoy_bin: &Path, dir: &Path) -> anyhow::Result<()> {
    println!("\n==> part 1: the example filters (require-header, header-rewrite) in both hosts");
    let bin = util::target().join("debug");
    let mut procs = Procs::new();
    let echo = procs.start_echo(&bin.join("weir-echo"))?;
    let ports = Ports {
        weir: util::free_port()?,
        weir_admin: util::free_port()?,
        envoy: util::free_port()?,
        envoy_admin: util::free_port()?,
    };
    let filters_dir = util::target().join("filters");
    std::fs::write(dir.join("weir.yaml"), weir_yaml(&ports, echo, &filters_dir))?;
    std::fs::write(dir.join("envoy.yaml"), envoy_yaml(&ports, echo, &filters_dir))?;

    procs.spawn(
        "weir",
        Command::new(bin.join("weir"))
            .args(["--concurrency", "1", "--log-level", "warn", "-c"])
            .arg(dir.join("weir.yaml"))
            .stdout(Stdio::null()),
    )?;
    procs.spawn(
        "envoy",
        Command::new(envoy_bin)
            .args(["--disable-hot-restart", "--concurrency", "1", "-l", "error", "-c"])
            .arg(dir.join("envoy.yaml"))
            .stdout(Stdio::null()),
    )?;
    let local = |port| SocketAddr::from(([127, 0, 0, 1], port));
    util::wait_http(local(ports.weir_admin), "/ready", "LIVE", Duration::from_secs(30)).context("weir")?;
    util::wait_http(local(ports.envoy_admin), "/ready", "LIVE", Duration::from_secs(60)).context("envoy")?;
    println!("\n==> same .wasm filters, same requests: Envoy {} vs weir", envoy::VERSION);
    type Demo<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);
    let requests: [Demo; 3] = [
        ("GET /hello without x-api-key", "/hello", &[]),
        ("GET /hello with x-api-key", "/hello", &[("x-api-key", "k1")]),
        (
            "GET /hello with x-api-key and x-internal",
            "/hello",
            &[("x-api-key", "k1"), ("x-internal", "secret")],
        ),
    ];
    let mut all_equal = true;
    for (label, path, headers) in requests {
        println!("\n-- {label}");
        let e = util::http(local(ports.envoy), "GET", path, headers, "")?;
        let w = util::http(local(ports.weir), "GET", path, headers, "")?;
        let (es, ws) = (summary(&e), summary(&w));
        println!("   envoy: {es}");
        println!("   weir:  {ws}");
        all_equal &= es == ws;
    }
    println!();
    if !all_equal {
        bail!("Envoy and weir answered differently");
    }
    println!("==> both hosts behaved identically");
    Ok(())
}

struct Ports {
    weir: u16,
    weir_admin: u16,
    envoy: u16,
    envoy_admin: u16,
}

/// What a response shows of the filters' work.
fn summary(r: &util::Response) -> String {
    let mut parts = vec![format!("{}", r.status)];
    for name in ["x-denied-by", "x-powered-by"] {
        if let Some(v) = r.header(name) {
            parts.push(format!("{name}: {v}"));
        }
    }
    if r.header("x-echo").is_some() {
        let seen: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
        let headers = seen["headers"].as_array().cloned().unwrap_or_default();
        let has = |n: &str| headers.iter().any(|h| h[0] == n);
        parts.push(format!(
            "upstream saw x-example={} x-internal={}",
            if has("x-example") { "yes" } else { "no" },
            if has("x-internal") { "yes" } else { "no" }
        ));
    } else {
        parts.push(format!("body {:?}", r.body.trim()));
    }
    parts.join(", ")
}

const REWRITE: &str = r#"{"request_headers_to_set":{"x-example":"header-rewrite"},"request_headers_to_remove":["x-internal"],"response_headers_to_set":{"x-powered-by":"weir-demo"}}"#;
const REQUIRE: &str = r#"{"header":"x-api-key","status":403,"body":"missing x-api-key\n"}"#;

fn weir_yaml(p: &Ports, echo: SocketAddr, filters: &Path) -> String {
    format!(
        r#"admin:
  address: 127.0.0.1:{admin}
listeners:
  - name: main
    address: 127.0.0.1:{port}
    http_filters: [require-header, header-rewrite]
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - name: default
            match: {{ prefix: / }}
            route: {{ cluster: upstream }}
clusters:
  - name: upstream
    endpoints: ["{echo}"]
plugins:
  - name: require-header
    wasm: {filters}/require-header.wasm
    configuration: '{REQUIRE}'
  - name: header-rewrite
    wasm: {filters}/header-rewrite.wasm
    configuration: '{REWRITE}'
"#,
        admin = p.weir_admin,
        port = p.weir,
        filters = filters.display(),
    )
}

fn envoy_yaml(p: &Ports, echo: SocketAddr, filters: &Path) -> String {
    let http_filters = bootstrap::wasm_filter("require-header", None, filters, REQUIRE)
        + &bootstrap::wasm_filter("header-rewrite", None, filters, REWRITE);
    let clusters = bootstrap::static_cluster("upstream", echo);
    bootstrap::envoy(p.envoy_admin, p.envoy, "route: { cluster: upstream }", &http_filters, &clusters)
}
