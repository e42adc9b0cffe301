//! HTTP/1.1 upgrades (WebSocket) proxied, against real Envoy: one Envoy bootstrap with
//! `upgrade_configs: [{upgrade_type: websocket}]`, run by Envoy and by `weir -c`. Through
//! each proxy a client asks to switch to WebSocket; the upstream answers 101 and at once sends
//! a greeting, then echoes what it gets; the client's end of stream reaches the upstream, whose
//! own end then reaches the client. Both proxies must show the client and the upstream the
//! same: the 101 with its `upgrade`/`connection` headers and the upstream's own header, the
//! greeting, the echo, the ends of stream; and an upgrade to another protocol is refused (403).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use weir_tests::envoy::Envoy;
use weir_tests::weir::Weir;

const TIMEOUT: Duration = Duration::from_secs(10);

/// The upstream: answers an upgrade with 101 and `hello`, then echoes lines; records the
/// request heads it got (lowercased header lines).
async fn upstream() -> anyhow::Result<(SocketAddr, Arc<Mutex<Vec<Vec<String>>>>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read);
                let mut head = Vec::new();
                loop {
                    let mut line = String::new();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if line == "\r\n" {
                        break;
                    }
                    head.push(line.trim_end().to_ascii_lowercase());
                }
                seen.lock().unwrap().push(head);
                let _ = write
                    .write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nx-up: yes\r\n\r\nhello\n")
                    .await;
                let mut line = String::new();
                while lines.read_line(&mut line).await.unwrap_or(0) > 0 {
                    let _ = write.write_all(line.as_bytes()).await;
                    line.clear();
                }
                let _ = write.shutdown().await;
            });
        }
    });
    Ok((addr, heads))
}

fn bootstrap(upstream: SocketAddr) -> String {
    let manager = r#"          upgrade_configs: [ { upgrade_type: websocket } ]
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes: [ { match: { prefix: / }, route: { cluster: up } } ]"#;
    let cluster = format!("\n{}", weir_tests::e2e::static_cluster("up", upstream).trim_end());
    weir_tests::e2e::static_bootstrap(manager, &cluster)
}

fn request(protocol: &str) -> String {
    format!(
        "GET /chat HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nUpgrade: {protocol}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// What the client sees: the status, the upgrade-related response headers, then the bytes.
async fn exchange(proxy: SocketAddr) -> anyhow::Result<Vec<String>> {
    let socket = TcpStream::connect(proxy).await?;
    let (read, mut write) = socket.into_split();
    let mut reader = BufReader::new(read);
    write.write_all(request("websocket").as_bytes()).await?;
    let mut seen = Vec::new();
    loop {
        let mut line = String::new();
        tokio::time::timeout(TIMEOUT, reader.read_line(&mut line)).await.context("no response head")??;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        let line = line.trim_end().to_ascii_lowercase();
        let keep = line.starts_with("http/1.1")
            || ["upgrade:", "connection:", "x-up:"].iter().any(|h| line.starts_with(h));
        if keep {
            seen.push(line);
        }
    }
    let mut greeting = String::new();
    tokio::time::timeout(TIMEOUT, reader.read_line(&mut greeting)).await.context("no greeting")??;
    seen.push(greeting);
    write.write_all(b"ping\n").await?;
    let mut echo = String::new();
    tokio::time::timeout(TIMEOUT, reader.read_line(&mut echo)).await.context("no echo")??;
    seen.push(echo);
    // Our end of stream reaches the upstream, which ends too.
    write.shutdown().await?;
    let mut rest = String::new();
    tokio::time::timeout(TIMEOUT, reader.read_to_string(&mut rest)).await.context("no end of stream")??;
    seen.push(format!("end after {rest:?}"));
    Ok(seen)
}

/// The status line a proxy answers an upgrade to `protocol` with.
async fn refused(proxy: SocketAddr, protocol: &str) -> anyhow::Result<String> {
    let mut socket = TcpStream::connect(proxy).await?;
    socket.write_all(request(protocol).as_bytes()).await?;
    let mut reader = BufReader::new(socket);
    let mut line = String::new();
    tokio::time::timeout(TIMEOUT, reader.read_line(&mut line)).await.context("no answer")??;
    Ok(line.trim_end().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn websocket_upgrades_are_proxied_as_in_envoy() -> anyhow::Result<()> {
    weir_tests::envoy_required()?;
    let mut results = Vec::new();
    for host in ["envoy", "weir"] {
        let (addr, heads) = upstream().await?;
        let yaml = bootstrap(addr);
        let (seen, refusal) = if host == "envoy" {
            let envoy = Envoy::start(&yaml).await?;
            let proxy = envoy.listener("main").await?;
            (exchange(proxy).await?, refused(proxy, "foo").await?)
        } else {
            let weir = Weir::start_async(yaml, 1).await?;
            let proxy = weir.listener("main")?;
            (exchange(proxy).await?, refused(proxy, "foo").await?)
        };
        // What the upstream got of the upgrade request.
        let head = heads.lock().unwrap().first().cloned().unwrap_or_default();
        let upgrade: Vec<String> = head
            .iter()
            .filter(|l| {
                l.starts_with("get ")
                    || ["upgrade:", "connection:", "sec-websocket-key:"].iter().any(|h| l.starts_with(h))
            })
            .cloned()
            .collect();
        println!("{host}: client saw {seen:?}; upstream got {upgrade:?}; `foo` answered {refusal:?}");
        results.push((seen, upgrade, refusal));
    }
    assert_eq!(results[0].0[0], "http/1.1 101 switching protocols", "Envoy: {:?}", results[0]);
    assert_eq!(results[1], results[0], "weir differs from Envoy");
    Ok(())
}
