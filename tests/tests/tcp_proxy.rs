//! TCP listeners (`envoy.filters.network.tcp_proxy`) with a proxy-wasm network filter in
//! front, checked against real Envoy: one Envoy bootstrap, run by Envoy and by `weir -c`, must
//! give the client and the upstreams the same bytes. The filter (`tests/filters/tcp-router`,
//! written with the `proxy-wasm` crate, and the same written with weir-sdk,
//! `tests/filters/tcp-router-sdk`) routes by Envoy's `envoy.tcp_proxy.cluster` filter
//! state, holds data until a whole line (Pause, the data growing in the connection's read
//! buffer), rewrites both directions, and closes a connection on request; half-closes pass
//! through (the upstream answers after the client's FIN); an unknown cluster closes the client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use weir_tests::client;
use weir_tests::envoy::Envoy;
use weir_tests::weir::Weir;

/// A line upstream: answers each line with `<name>:<line>`, and `bye` after the client's end
/// of stream; records what it received.
struct Upstream {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<u8>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    async fn start(name: &'static str) -> anyhow::Result<Upstream> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read);
                    let mut line = Vec::new();
                    while lines.read_until(b'\n', &mut line).await.unwrap_or(0) > 0 {
                        log.lock().unwrap().extend_from_slice(&line);
                        let mut reply = format!("{name}:").into_bytes();
                        reply.extend_from_slice(&line);
                        if write.write_all(&reply).await.is_err() {
                            return;
                        }
                        line.clear();
                    }
                    let _ = write.write_all(b"bye\n").await;
                    let _ = write.shutdown().await;
                });
            }
        });
        Ok(Upstream { addr, received, task })
    }

    fn received(&self) -> String {
        String::from_utf8_lossy(&self.received.lock().unwrap()).into_owned()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn bootstrap(wasm: &str, a: SocketAddr, b: SocketAddr) -> String {
    let listener = |name: &str, routes_to: &str| {
        format!(
            r#"
  - name: {name}
    address: {{socket_address: {{address: 127.0.0.1, port_value: 0}}}}
    filter_chains:
    - filters:
      - name: router_{name}
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm
          config:
            name: router_{name}
            vm_config: {{vm_id: tcp, runtime: envoy.wasm.runtime.v8, code: {{local: {{filename: {wasm}}}}}}}
            configuration: {{"@type": type.googleapis.com/google.protobuf.StringValue, value: "{routes_to}"}}
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: {name}
          cluster: a
          idle_timeout: 30s"#
        )
    };
    let cluster = |name: &str, addr: SocketAddr| {
        format!(
            r#"
  - name: {name}
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: {name}
      endpoints:
      - lb_endpoints:
        - endpoint: {{address: {{socket_address: {{address: 127.0.0.1, port_value: {}}}}}}}"#,
            addr.port()
        )
    };
    format!(
        "admin:\n  address: {{socket_address: {{address: 127.0.0.1, port_value: 0}}}}\nstatic_resources:\n  listeners:{}{}{}\n  clusters:{}{}\n",
        listener("routed", "b"),
        listener("plain", ""),
        listener("nowhere", "nope"),
        cluster("a", a),
        cluster("b", b),
    )
}

/// A proxy under test: its listeners and its `/stats`.
struct Proxy {
    admin: SocketAddr,
    routed: SocketAddr,
    plain: SocketAddr,
    nowhere: SocketAddr,
}

impl Proxy {
    async fn stat(&self, name: &str) -> anyhow::Result<u64> {
        let text = client::send(self.admin, client::admin_get(self.admin, "/stats")).await?.text();
        let prefix = format!("wasmcustom.{name}: ");
        Ok(text
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0))
    }

    /// Waits (bounded) until the counter reaches `at_least`.
    async fn wait_stat(&self, name: &str, at_least: u64) -> anyhow::Result<u64> {
        for _ in 0..200 {
            let n = self.stat(name).await?;
            if n >= at_least {
                return Ok(n);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let text = client::send(self.admin, client::admin_get(self.admin, "/stats")).await?.text();
        anyhow::bail!("{name} never reached {at_least}; /stats:\n{text}")
    }
}

/// What one proxy does with the scripted connections: `(what the client read, per check)`.
async fn exercise(proxy: &Proxy, a: &Upstream, b: &Upstream) -> anyhow::Result<Vec<String>> {
    let mut seen = Vec::new();
    let timeout = Duration::from_secs(10);
    // Routed to b by the filter; the line is held until its newline arrives.
    let held = proxy.stat("tcp_router.held").await?;
    let mut c = TcpStream::connect(proxy.routed).await?;
    c.write_all(b"ab").await?;
    proxy.wait_stat("tcp_router.held", held + 1).await?;
    c.write_all(b"\nxyz\n").await?;
    c.shutdown().await?;
    let mut out = String::new();
    tokio::time::timeout(timeout, c.read_to_string(&mut out)).await.context("routed: no end of stream")??;
    seen.push(out);
    // Not routed by the filter: the listener's cluster a.
    let mut c = TcpStream::connect(proxy.plain).await?;
    c.write_all(b"hello\n").await?;
    c.shutdown().await?;
    let mut out = String::new();
    tokio::time::timeout(timeout, c.read_to_string(&mut out)).await.context("plain: no end of stream")??;
    seen.push(out);
    // The filter closes the connection: what came before arrives, then the end.
    let mut c = TcpStream::connect(proxy.plain).await?;
    c.write_all(b"one\n").await?;
    let mut line = vec![0u8; 8];
    tokio::time::timeout(timeout, c.read_exact(&mut line)).await.context("close: no reply")??;
    c.write_all(b"close\n").await?;
    let mut rest = String::new();
    tokio::time::timeout(timeout, c.read_to_string(&mut rest)).await.context("close: not closed")??;
    seen.push(format!("{}|{rest}", String::from_utf8_lossy(&line)));
    // A cluster that does not exist: closed without a byte.
    let mut c = TcpStream::connect(proxy.nowhere).await?;
    let _ = c.write_all(b"lost\n").await;
    let mut out = String::new();
    let read =
        tokio::time::timeout(timeout, c.read_to_string(&mut out)).await.context("nowhere: not closed")?;
    // Closed without flushing: an end of stream, or a reset when `lost` was still unread.
    let _ = read;
    seen.push(format!("{out}|closed"));
    seen.push(format!("a={} b={}", a.received(), b.received()));
    Ok(seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn tcp_proxy_with_a_network_filter_behaves_as_in_envoy() -> anyhow::Result<()> {
    // The same filter written with the `proxy-wasm` crate and with weir-sdk.
    for filter in ["tcp-router", "tcp-router-sdk"] {
        let wasm = weir_testkit::paths::filter(filter)?;
        let mut results = Vec::new();
        for host in ["envoy", "weir"] {
            let (a, b) = (Upstream::start("a").await?, Upstream::start("b").await?);
            let yaml = bootstrap(&wasm.display().to_string(), a.addr, b.addr);
            // Each proxy is kept until its counters are read.
            let (proxy, _envoy, _weir) = if host == "envoy" {
                let envoy = Envoy::start(&yaml).await?;
                let proxy = Proxy {
                    admin: envoy.admin(),
                    routed: envoy.listener("routed").await?,
                    plain: envoy.listener("plain").await?,
                    nowhere: envoy.listener("nowhere").await?,
                };
                (proxy, Some(envoy), None)
            } else {
                let weir = Weir::start_async(yaml, 1).await?;
                let proxy = Proxy {
                    admin: weir.admin()?,
                    routed: weir.listener("routed")?,
                    plain: weir.listener("plain")?,
                    nowhere: weir.listener("nowhere")?,
                };
                (proxy, None, Some(weir))
            };
            let seen = exercise(&proxy, &a, &b).await?;
            let closed = proxy.wait_stat("tcp_router.closed", 4).await?;
            let logged = proxy.wait_stat("tcp_router.logged", 4).await?;
            println!("{filter} in {host}: {seen:?} closed={closed} logged={logged}");
            results.push((seen, closed, logged));
        }
        let expected = vec![
            // `ab` held (Pause) until `\nxyz\n` came: one callback then saw all of it.
            "B:2:AB\nB:XYZ\nBYE\n".to_string(),
            "A:1:HELLO\nBYE\n".to_string(),
            "A:1:ONE\n|".to_string(),
            "|closed".to_string(),
            "a=1:HELLO\n1:ONE\n b=2:AB\nXYZ\n".to_string(),
        ];
        assert_eq!(results[0].0, expected, "{filter} in Envoy");
        assert_eq!(results[1], results[0], "{filter}: weir differs from Envoy");
    }
    Ok(())
}

/// A filter that never lets data go on cannot make weir hold more than the listener's
/// `buffer_limit_bytes` (plus one read) of a client's data: reading stops there. Without the
/// cap, weir would take all 32 MiB the client sends. The connection then goes at its
/// `idle_timeout`, and its access log line says so, with the bytes it took.
#[tokio::test(flavor = "multi_thread")]
async fn held_data_is_capped_at_the_buffer_limit() -> anyhow::Result<()> {
    const LIMIT: u64 = 64 * 1024;
    const SENT: usize = 32 * 1024 * 1024;
    let wasm = weir_testkit::paths::filter("tcp-router")?;
    let a = Upstream::start("a").await?;
    let logs = tempfile::tempdir()?;
    let log = logs.path().join("tcp.log");
    let yaml = format!(
        r#"
admin: {{ address: 127.0.0.1:0 }}
listeners:
  - name: tcp
    address: 127.0.0.1:0
    access_log: {}
    buffer_limit_bytes: {LIMIT}
    network_filters: [router]
    tcp_proxy: {{ cluster: a, idle_timeout: 2s }}
clusters:
  - {{ name: a, endpoints: [{}] }}
plugins:
  - {{ name: router, wasm: {} }}
"#,
        log.display(),
        a.addr,
        wasm.display()
    );
    let weir = Weir::start_async(yaml, 1).await?;
    let proxy = Proxy {
        admin: weir.admin()?,
        routed: weir.listener("tcp")?,
        plain: weir.listener("tcp")?,
        nowhere: weir.listener("tcp")?,
    };
    let client = TcpStream::connect(proxy.routed).await?;
    let written = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let progress = written.clone();
    let writer = tokio::spawn(async move {
        let mut client = client;
        let chunk = vec![b'x'; 16 * 1024];
        while progress.load(std::sync::atomic::Ordering::Relaxed) < SENT {
            if client.write_all(&chunk).await.is_err() {
                break;
            }
            progress.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed);
        }
        client
    });
    proxy.wait_stat("tcp_router.largest", LIMIT).await?;
    // Steady state: the client has sent everything, or its writes stopped moving (the kernel's
    // buffers full because weir stopped reading).
    let mut last = 0;
    for _ in 0..400 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = written.load(std::sync::atomic::Ordering::Relaxed);
        if now >= SENT || now == last {
            break;
        }
        last = now;
    }
    let largest = proxy.stat("tcp_router.largest").await?;
    let sent = written.load(std::sync::atomic::Ordering::Relaxed);
    println!("client wrote {sent} bytes; the filter was shown at most {largest}");
    assert!(largest <= LIMIT + 16 * 1024, "weir held {largest} bytes (limit {LIMIT})");
    assert!(sent < SENT, "the client could write all {SENT} bytes: weir kept reading");
    // The connection ends at its idle timeout; its access log line says so.
    let line = weir_tests::e2e::poll(
        "the connection's access log line",
        Duration::from_secs(15),
        Duration::from_millis(50),
        || {
            let log = log.clone();
            async move { Ok(std::fs::read_to_string(&log).ok().filter(|t| t.ends_with('\n'))) }
        },
    )
    .await?;
    println!("access log: {line}");
    let entry: serde_json::Value = serde_json::from_str(line.trim())?;
    assert_eq!(
        (entry["protocol"].as_str(), entry["response_code_details"].as_str()),
        (Some("TCP"), Some("idle_timeout"))
    );
    assert_eq!(entry["upstream_cluster"], "a");
    let received = entry["bytes_received"].as_u64().unwrap_or(0);
    assert!((LIMIT..=LIMIT + 16 * 1024).contains(&received), "{entry}");
    writer.abort();
    Ok(())
}
