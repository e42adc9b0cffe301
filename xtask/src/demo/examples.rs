//! Part 1 of the demo: the example filters, unchanged, in real Envoy and in weir, side by side.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use weir_testkit::bins::{self, Bin, Profile};
use weir_testkit::twin::{Cluster, Listener, Plugin, Route, SafePaths, Twin};
use weir_testkit::{http, launch, paths};

use crate::envoy;

/// Runs part 1.
pub fn run(envoy_bin: &Path, dir: &Path) -> anyhow::Result<()> {
    println!("\n==> part 1: the example filters (require-header, header-rewrite) in both hosts");
    let (_echo, echo) =
        launch::start_echo(launch::echo(&bins::existing(Bin::Echo, Profile::Debug), None).announce())?;
    let ports = Ports {
        weir: http::free_port()?,
        weir_admin: http::free_port()?,
        envoy: http::free_port()?,
        envoy_admin: http::free_port()?,
    };
    let filters_dir = paths::filters_dir();
    std::fs::write(
        dir.join("weir.yaml"),
        twin(ports.weir, ports.weir_admin, echo, &filters_dir).weir_yaml()?,
    )?;
    let envoy_yaml = twin(ports.envoy, ports.envoy_admin, echo, &filters_dir).envoy_yaml(&SafePaths)?;
    std::fs::write(dir.join("envoy.yaml"), envoy_yaml)?;

    let weir_bin = bins::existing(Bin::Weir, Profile::Debug);
    let mut weir = launch::weir(&weir_bin, &dir.join("weir.yaml"), 1, None)
        .args(["--log-level", "warn"])
        .announce()
        .start()?;
    let mut envoy = launch::envoy(envoy_bin, &dir.join("envoy.yaml"), 1, None)
        .args(["-l", "error"])
        .announce()
        .start()?;
    let local = |port| SocketAddr::from(([127, 0, 0, 1], port));
    weir.wait_ready(local(ports.weir_admin), Duration::from_secs(30)).context("weir")?;
    envoy.wait_ready(local(ports.envoy_admin), Duration::from_secs(60)).context("envoy")?;
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
        let e = http::request(local(ports.envoy), "GET", path, headers, "")?;
        let w = http::request(local(ports.weir), "GET", path, headers, "")?;
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

#[derive(Clone, Copy)]
struct Ports {
    weir: u16,
    weir_admin: u16,
    envoy: u16,
    envoy_admin: u16,
}

/// What a response shows of the filters' work.
fn summary(r: &http::Response) -> String {
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

/// Both proxies' config: listener `main` on `port` running require-header then
/// header-rewrite, every path to the echo upstream; admin on `admin`.
fn twin(port: u16, admin: u16, echo: SocketAddr, filters: &Path) -> Twin {
    let route = Route::prefix("default", "/").to_cluster("upstream");
    let mut listener = Listener::new("main", vec![route]).chain(&["require-header", "header-rewrite"]);
    listener.port = port;
    let plugin = |name: &str, config: &str| {
        Plugin::new(name, filters.join(format!("{name}.wasm"))).configuration(config)
    };
    Twin {
        admin_port: admin,
        listeners: vec![listener],
        clusters: vec![Cluster::new("upstream", echo)],
        plugins: vec![plugin("require-header", REQUIRE), plugin("header-rewrite", REWRITE)],
        node: None,
    }
}
