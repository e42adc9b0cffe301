//! Global mode in real Envoy (the same `.wasm`, the same tonic RLS as `global.rs`). Needs Envoy
//! (`cargo xtask envoy`, which `cargo xtask test` runs first); fails, never skips, without it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "support/rls.rs"]
mod rls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use weir_testing::EchoServer;

/// Envoy started by this test; killed (by its PID) on drop.
struct Envoy {
    child: Child,
    dir: PathBuf,
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn bootstrap(listen: u16, upstream: SocketAddr, rls: SocketAddr, configuration: &str) -> String {
    let wasm = common::wasm();
    let cluster = |name: &str, addr: SocketAddr, http2: bool| {
        let mut c = serde_json::json!({
            "name": name, "type": "STATIC", "connect_timeout": "1s",
            "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": {"address":
                {"socket_address": {"address": "127.0.0.1", "port_value": addr.port()}}}}]}]}
        });
        if http2 {
            c["typed_extension_protocol_options"] = serde_json::json!({
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                    "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                    "explicit_http_config": {"http2_protocol_options": {}}}});
        }
        c
    };
    serde_json::json!({"static_resources": {
        "listeners": [{"name": "main", "address": {"socket_address": {"address": "127.0.0.1", "port_value": listen}},
            "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": "main",
                "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"],
                    "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "upstream"}}]}]},
                "http_filters": [
                    {"name": "ratelimit", "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                        "config": {"name": "ratelimit",
                            "vm_config": {"vm_id": "ratelimit", "runtime": "envoy.wasm.runtime.v8",
                                "code": {"local": {"filename": wasm}}},
                            "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": configuration}}}},
                    {"name": "envoy.filters.http.router", "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}]}]}],
        "clusters": [cluster("upstream", upstream, false), cluster("ratelimit", rls, true)]}})
    .to_string()
}

fn start_envoy(config: &str, listen: u16) -> (Envoy, SocketAddr) {
    let binary =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/envoy/envoy-path"))
            .expect("Envoy is not installed: run `cargo xtask envoy`");
    let dir = std::env::temp_dir().join(format!("weir-ratelimit-envoy-{}-{listen}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("envoy.json"), config).unwrap();
    let log = std::fs::File::create(dir.join("envoy.log")).unwrap();
    let child = Command::new(binary.trim())
        .arg("-c")
        .arg(dir.join("envoy.json"))
        .args([
            "--disable-hot-restart",
            "--concurrency",
            "1",
            "-l",
            "warning",
            "--admin-address-path",
            "/dev/null",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let envoy = Envoy { child, dir };
    let addr = SocketAddr::from(([127, 0, 0, 1], listen));
    let deadline = Instant::now() + Duration::from_secs(60);
    while common::get(addr, "/", &[]).is_err() {
        let log = std::fs::read_to_string(envoy.dir.join("envoy.log")).unwrap_or_default();
        assert!(Instant::now() < deadline, "Envoy did not start:\n{log}");
        std::thread::sleep(Duration::from_millis(200));
    }
    (envoy, addr)
}

fn run(failure_mode_deny: bool, failed: u16) {
    let rls = rls::RlsServer::start();
    let echo = EchoServer::start().unwrap();
    let configuration = serde_json::json!({
        "mode": "global", "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
        "rate_limits": [{"actions": [{"request_headers": {"header_name": "x-user", "descriptor_key": "user"}}, {"remote_address": {}}]}],
        "global": {"domain": "edge", "cluster": "ratelimit", "timeout": "300ms", "failure_mode_deny": failure_mode_deny}
    })
    .to_string();
    let listen = free_port();
    let (_envoy, addr) = start_envoy(&bootstrap(listen, echo.addr(), rls.addr(), &configuration), listen);
    let alice = common::get(addr, "/x", &[("x-user", "alice")]).unwrap();
    assert_eq!(
        (alice.status, alice.header("x-rls"), alice.header("x-ratelimit-remaining")),
        (200, Some("ok"), Some("42"))
    );
    let denied = common::get(addr, "/x", &[("x-user", "deny")]).unwrap();
    assert_eq!(
        (denied.status, denied.header("x-ratelimit-reset"), denied.header("x-ratelimit-limit")),
        (429, Some("30"), Some("10, 10;w=60"))
    );
    for user in ["slow-deny", "fail", "unknown"] {
        assert_eq!(common::get(addr, "/x", &[("x-user", user)]).unwrap().status, failed, "{user}");
    }
    let seen = rls.seen();
    assert_eq!(
        seen[0].1[0],
        [("user".to_string(), "alice".to_string()), ("remote_address".into(), "127.0.0.1".into())]
    );
}

#[test]
fn envoy_fails_open_by_default() {
    run(false, 200);
}

#[test]
fn envoy_fails_closed_with_failure_mode_deny() {
    run(true, 500);
}
