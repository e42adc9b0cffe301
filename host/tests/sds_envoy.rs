//! The SDS comparison with real Envoy: Envoy's listener with
//! `tls_certificate_sds_secret_configs: [{name: web, sds_config: {ads: {}}}]` and weir's with
//! `certificates: [{sds: web}]`, both fed by the same weir-cp, present the same certificate,
//! and both switch to the replaced one. Envoy is the one `cargo xtask envoy` installed
//! (`target/envoy/envoy-path`); the test fails, never skips, without it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/sds.rs"]
mod sds_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sds_support::{Setup, client, der, get, secret, setup};
use weir_host::config::Config;
use weir_host::process::{RunningServer, ServerOptions};

/// Envoy, killed on drop.
struct Envoy {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Envoy {
    /// The last lines of Envoy's log.
    fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("envoy.log")).unwrap_or_default();
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| !l.contains("statically linked extensions") && !l.contains("server.cc:467"))
            .collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

fn envoy_binary() -> PathBuf {
    let pointer = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/envoy/envoy-path");
    let text = std::fs::read_to_string(&pointer)
        .unwrap_or_else(|e| panic!("{}: {e}: run `cargo xtask envoy`", pointer.display()));
    PathBuf::from(text.trim())
}

fn bootstrap(xds: SocketAddr) -> String {
    format!(
        r#"
node: {{ id: envoy-sds, cluster: tests }}
admin: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }} }}
dynamic_resources:
  ads_config:
    api_type: GRPC
    transport_api_version: V3
    grpc_services: [{{ envoy_grpc: {{ cluster_name: xds }} }}]
static_resources:
  listeners:
    - name: tls
      address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
      filter_chains:
        - transport_socket:
            name: envoy.transport_sockets.tls
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
              common_tls_context:
                tls_certificate_sds_secret_configs:
                  - {{ name: web, sds_config: {{ ads: {{}}, resource_api_version: V3 }} }}
          filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: in
                route_config:
                  virtual_hosts:
                    - {{ name: all, domains: ["*"], routes: [{{ match: {{ prefix: / }}, direct_response: {{ status: 200 }} }}] }}
                http_filters:
                  - name: envoy.filters.http.router
                    typed_config: {{ "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }}
  clusters:
    - name: xds
      type: STATIC
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          explicit_http_config: {{ http2_protocol_options: {{}} }}
      load_assignment:
        cluster_name: xds
        endpoints: [{{ lb_endpoints: [{{ endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {port} }} }} }} }}] }}]
"#,
        port = xds.port()
    )
}

/// `GET path` on Envoy's admin, the body (de-chunked).
fn admin_get(admin: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut tcp = TcpStream::connect(admin)?;
    tcp.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(tcp, "GET {path} HTTP/1.1\r\nhost: {admin}\r\nconnection: close\r\n\r\n")?;
    let mut out = String::new();
    tcp.read_to_string(&mut out)?;
    let (head, mut body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    if !head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        return Ok(body.to_string());
    }
    let mut text = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        text.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    Ok(text)
}

/// Starts Envoy and returns it with its TLS listener's address (once the listener is up,
/// which for Envoy means its secret arrived).
fn start_envoy(xds: SocketAddr) -> (Envoy, SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("envoy.yaml");
    std::fs::write(&config, bootstrap(xds)).unwrap();
    let admin_path = dir.path().join("admin-address");
    let log = std::fs::File::create(dir.path().join("envoy.log")).unwrap();
    let child = Command::new(envoy_binary())
        .arg("-c")
        .arg(&config)
        .args(["--disable-hot-restart", "--concurrency", "1", "-l", "info"])
        .arg("--admin-address-path")
        .arg(&admin_path)
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let mut envoy = Envoy { child, dir };
    let started = Instant::now();
    let mut last = String::new();
    loop {
        assert!(envoy.child.try_wait().unwrap().is_none(), "Envoy exited:\n{}", envoy.log());
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "Envoy's listener not up ({last}):\n{}",
            envoy.log()
        );
        let admin =
            std::fs::read_to_string(&admin_path).ok().and_then(|t| t.trim().parse::<SocketAddr>().ok());
        if let Some(admin) = admin
            && let Ok(body) = admin_get(admin, "/listeners?format=json").inspect(|b| last.clone_from(b))
            && let Ok(json) = serde_json::from_str::<serde_json::Value>(&body)
            && let Some(sock) = json["listener_statuses"]
                .as_array()
                .and_then(|l| l.iter().find(|s| s["name"] == "tls"))
                .map(|s| s["local_address"]["socket_address"].clone())
            && let Some(port) = sock["port_value"].as_u64().filter(|p| *p != 0)
        {
            let addr = SocketAddr::from(([127, 0, 0, 1], u16::try_from(port).unwrap()));
            return (envoy, addr);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls `addr` until it presents `expected` (within `limit`).
fn wait_for_cert(s: &Setup, addr: SocketAddr, expected: &[u8], who: &str, limit: Duration) {
    let tls = client(s.pki.ca());
    let started = Instant::now();
    loop {
        let seen = s.rt.block_on(get(addr, tls.clone()));
        if matches!(&seen, Ok((200, cert)) if cert == expected) {
            return;
        }
        assert!(started.elapsed() < limit, "{who} does not present the expected certificate: {seen:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn envoy_and_weir_present_the_same_sds_certificate() {
    let s = setup();
    s.cp.store().put_secret("web", secret(&s.a, &s.a), true).unwrap();
    let yaml = format!(
        r#"
node: {{ id: weir-sds-envoy, cluster: tests }}
listeners:
  - name: tls
    address: 127.0.0.1:0
    tls: {{ certificates: [{{ sds: web }}] }}
    virtual_hosts:
      - {{ name: all, domains: ["*"], routes: [{{ name: r, match: {{ prefix: / }}, direct_response: {{ status: 200 }} }}] }}
clusters:
  - {{ name: control-plane, endpoints: ["{cp}"], http2: true }}
xds: {{ cluster: control-plane, initial_fetch_timeout: 5s }}
"#,
        cp = s.cp.xds_addr()
    );
    let weir =
        RunningServer::start(Config::parse(&yaml, "test").unwrap(), ServerOptions::with_concurrency(1))
            .unwrap();
    let weir_addr = weir.listener_addr("tls").unwrap();
    let (envoy, envoy_addr) = start_envoy(s.cp.xds_addr());
    let short = Duration::from_secs(10);
    wait_for_cert(&s, envoy_addr, &der(&s.a), "Envoy", short);
    wait_for_cert(&s, weir_addr, &der(&s.a), "weir", short);

    s.cp.store().put_secret("web", secret(&s.b, &s.b), true).unwrap();
    wait_for_cert(&s, weir_addr, &der(&s.b), "weir", Duration::from_secs(2));
    wait_for_cert(&s, envoy_addr, &der(&s.b), "Envoy", Duration::from_secs(5));
    drop(envoy);
}
