//! Downstream connections: h2c end to end, header limits, malformed requests, slow clients,
//! reload under traffic, SIGTERM drain.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use support::{Backend, Client, cluster_yaml, simple_config, weir};
use weir_host::config::Config;

/// Sends raw bytes and returns what came back until the peer closed (or 3 s passed).
fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let _ = stream.write_all(bytes);
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn h2c_end_to_end() {
    let a = Backend::start("a");
    let clusters = cluster_yaml(&[&a], "    http2: true\n");
    let server = weir(&simple_config("", &clusters));
    let addr = server.listener_addr("main").unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let status = runtime.block_on(async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.unwrap();
        tokio::spawn(conn);
        let mut statuses = Vec::new();
        for _ in 0..3 {
            let request =
                http::Request::get(format!("http://{addr}/h2")).body(Full::new(Bytes::new())).unwrap();
            let response = sender.send_request(request).await.unwrap();
            let backend = response.headers().get("x-backend").cloned();
            let _ = response.into_body().collect().await.unwrap();
            statuses.push((backend.is_some(), 200));
        }
        statuses
    });
    assert_eq!(status, vec![(true, 200); 3]);
}

/// Upstream HTTP/1.1 connections go back to the pool once the response is read, whether the
/// body had data or was empty: sequential requests share one connection.
#[test]
fn upstream_connections_are_reused() {
    let a = Backend::start("a");
    let server = weir(&simple_config("", &cluster_yaml(&[&a], "")));
    let addr = server.listener_addr("main").unwrap();
    let client = Client::new();
    for i in 0..20 {
        let path = if i % 2 == 0 { "/data" } else { "/empty" };
        let reply = client.get(addr, "example.com", path, &[]);
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body.is_empty(), path == "/empty");
    }
    assert_eq!(a.hits(), 20);
    assert_eq!(
        a.connections.load(Ordering::Relaxed),
        1,
        "every request after the first reused the connection"
    );
}

#[test]
fn oversized_and_malformed_requests_get_envoy_statuses() {
    let a = Backend::start("a");
    let yaml = simple_config("", &cluster_yaml(&[&a], "")).replace(
        "    address: 127.0.0.1:0\n    virtual_hosts",
        "    address: 127.0.0.1:0\n    max_request_headers: 20\n    max_request_headers_kb: 16\n    request_headers_timeout: 300ms\n    virtual_hosts",
    );
    let server = weir(&yaml);
    let addr = server.listener_addr("main").unwrap();
    let many: String = (0..40).map(|i| format!("x-h{i}: v\r\n")).collect();
    assert!(
        raw(addr, format!("GET / HTTP/1.1\r\nhost: x\r\n{many}\r\n").as_bytes()).starts_with("HTTP/1.1 431")
    );
    let huge = "y".repeat(32 * 1024);
    assert!(
        raw(addr, format!("GET / HTTP/1.1\r\nhost: x\r\nx-big: {huge}\r\n\r\n").as_bytes())
            .starts_with("HTTP/1.1 431")
    );
    assert!(raw(addr, b"NOT A REQUEST\r\n\r\n").starts_with("HTTP/1.1 400"));
    // A client that never finishes its headers gets 408 and is disconnected, as in Envoy.
    let started = Instant::now();
    let answer = raw(addr, b"GET / HTTP/1.1\r\nhost: x\r\n");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(3), "slow client was cut off by the header timeout");
    // The proxy is still fine.
    assert_eq!(Client::new().get(addr, "x", "/", &[]).status, 200);
}

#[test]
fn the_request_timeout_answers_408() {
    let a = Backend::start("a");
    let yaml = simple_config("", &cluster_yaml(&[&a], "")).replace(
        "    address: 127.0.0.1:0\n    virtual_hosts",
        "    address: 127.0.0.1:0\n    request_timeout: 300ms\n    virtual_hosts",
    );
    let server = weir(&yaml);
    let addr = server.listener_addr("main").unwrap();
    // Headers promise a body that never comes.
    let answer = raw(addr, b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\npartial");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // As Envoy: the timer stops once the whole request is upstream; a slow upstream is the
    // route timeout's business.
    let slow = Client::new().get(addr, "x", "/", &[("x-delay-ms", "600")]);
    assert_eq!(slow.status, 200);
}

#[test]
fn reloads_under_traffic_fail_no_request() {
    let (a, b) = (Backend::start("a"), Backend::start("b"));
    let yaml_for = |backend: &Backend| simple_config("", &cluster_yaml(&[backend], ""));
    let server = support::weir_with(&yaml_for(&a), 2);
    let addr = server.listener_addr("main").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let loaders: Vec<_> = (0..2)
        .map(|_| {
            let (stop, sent, failed) = (stop.clone(), sent.clone(), failed.clone());
            std::thread::spawn(move || {
                let client = Client::new();
                let deadline = Instant::now() + Duration::from_secs(20);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    let ok = client
                        .send(addr, http::Request::get("/").header("host", "x").body(Bytes::new()).unwrap());
                    sent.fetch_add(1, Ordering::Relaxed);
                    if !matches!(ok, Ok(r) if r.status == 200) {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for i in 0..20 {
        let backend = if i % 2 == 0 { &b } else { &a };
        server.reload(Config::parse(&yaml_for(backend), "reload").unwrap()).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    for l in loaders {
        l.join().unwrap();
    }
    assert!(sent.load(Ordering::Relaxed) > 50);
    assert_eq!(failed.load(Ordering::Relaxed), 0, "of {} requests", sent.load(Ordering::Relaxed));
    assert!(a.hits() > 0 && b.hits() > 0);
}

#[test]
fn a_bad_reload_is_refused_and_the_old_config_keeps_serving() {
    let a = Backend::start("a");
    let server = weir(&simple_config("", &cluster_yaml(&[&a], "")));
    let addr = server.listener_addr("main").unwrap();
    let bad = "listeners:\n  - name: main\n    address: 127.0.0.1:0\n    http_filters: [missing]\n    virtual_hosts: []\n";
    assert!(Config::parse(bad, "bad").is_err());
    let mut config = Config::parse(&simple_config("", &cluster_yaml(&[&a], "")), "x").unwrap();
    config.plugins.push(weir_host::config::PluginConfig::new("broken", "/no/such/file.wasm".into()));
    let err = server.reload(config).unwrap_err();
    assert!(err.to_string().contains("/no/such/file.wasm"), "{err}");
    assert_eq!(Client::new().get(addr, "x", "/", &[]).status, 200);
}

#[test]
fn sigterm_drains_requests_in_flight_and_exits_0() {
    let a = Backend::start("a");
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let yaml = simple_config("", &cluster_yaml(&[&a], ""))
        .replace("address: 127.0.0.1:0\n    virtual", &format!("address: 127.0.0.1:{port}\n    virtual"));
    let path = dir.path().join("weir.yaml");
    std::fs::write(&path, yaml).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["--concurrency", "1", "--log-level", "warn", "--drain-timeout", "5s", "-c"])
        .arg(&path)
        .spawn()
        .unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let client = Client::new();
    let ready = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        client.send(addr, http::Request::get("/").header("host", "x").body(Bytes::new()).unwrap()).is_ok()
    });
    assert!(ready, "weir did not start");
    let slow = std::thread::spawn(move || {
        Client::new().send(
            addr,
            http::Request::get("/")
                .header("host", "x")
                .header("x-delay-ms", "1000")
                .body(Bytes::new())
                .unwrap(),
        )
    });
    std::thread::sleep(Duration::from_millis(300));
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let reply = slow.join().unwrap().expect("the request in flight completes");
    assert_eq!(reply.status, 200);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn reloads_add_and_remove_listeners_and_removed_ones_drain() {
    let a = Backend::start("a");
    let one = simple_config("", &cluster_yaml(&[&a], ""));
    // A second listener `extra`, the same routes.
    let listener = one[one.find("  - name: main").unwrap()..one.find("clusters:").unwrap()].to_string();
    let two =
        one.replace("clusters:", &format!("{}clusters:", listener.replace("name: main", "name: extra")));
    let server = support::weir_with(&one, 2);
    assert!(server.listener_addr("extra").is_none());
    server.reload(Config::parse(&two, "two").unwrap()).unwrap();
    let extra = server.listener_addr("extra").expect("the added listener is bound");
    let client = Client::new();
    assert_eq!(client.get(extra, "x", "/", &[]).status, 200);
    // A slow request in flight on `extra` while `extra` is removed: it completes.
    let slow =
        std::thread::spawn(move || Client::new().get(extra, "x", "/", &[("x-delay-ms", "500")]).status);
    std::thread::sleep(Duration::from_millis(150));
    server.reload(Config::parse(&one, "one").unwrap()).unwrap();
    assert!(server.listener_addr("extra").is_none());
    assert_eq!(slow.join().unwrap(), 200, "the request in flight on the removed listener finished");
    // Its sockets close (each worker's, once its accept loop sees the removal): no new
    // connection is accepted there; `main` keeps serving.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(0..20).all(|_| TcpStream::connect(extra).is_err()) {
        assert!(Instant::now() < deadline, "the removed listener's port still accepts");
        std::thread::sleep(Duration::from_millis(10));
    }
    let main = server.listener_addr("main").unwrap();
    assert_eq!(client.get(main, "x", "/", &[]).status, 200);
}

#[test]
fn a_reload_moving_a_listener_to_another_address_rebinds_it() {
    let a = Backend::start("a");
    let one = simple_config("", &cluster_yaml(&[&a], ""));
    let server = support::weir_with(&one, 2);
    let before = server.listener_addr("main").unwrap();
    // Port 0 both times: only the IP changes.
    let moved = one.replace("    address: 127.0.0.1:0", "    address: 127.0.0.2:0");
    server.reload(Config::parse(&moved, "moved").unwrap()).unwrap();
    let after = server.listener_addr("main").unwrap();
    assert_eq!(after.ip().to_string(), "127.0.0.2", "moved from {before}");
    assert_eq!(Client::new().get(after, "x", "/", &[]).status, 200);
}
