//! Shared by the wasm-level tests: the built filter, a plain blocking HTTP/1.1 client (so
//! several threads can send at once without sharing a runtime), and the filter's counters.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use weir_testing::Harness;

/// `target/filters/ratelimit.wasm`; fails with the command to run when it is missing.
pub fn wasm() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/filters/ratelimit.wasm");
    assert!(path.exists(), "{} is missing: run `cargo xtask build-filters` first", path.display());
    path
}

/// A response from [`get`].
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// First value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// `GET path` on a new connection (`connection: close`), blocking, 10 s limit.
pub fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Result<Reply, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    let mut request = format!("GET {path} HTTP/1.1\r\nhost: example.com\r\nconnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line in {head:?}"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Reply { status, headers })
}

/// The value of `wasmcustom.<name>` in the harness's stats (0 when not defined).
pub fn counter(harness: &Harness, name: &str) -> u64 {
    let mut text = String::new();
    harness.server().state().generation.load().process.guest.metrics.envoy_text(&mut text);
    let prefix = format!("wasmcustom.{name}: ");
    text.lines().find_map(|l| l.strip_prefix(&prefix).and_then(|v| v.parse().ok())).unwrap_or(0)
}
