//! The path-bypass matrix: every spelling of `/admin` a client may try to walk around a
//! route-level policy with, sent raw (no client normalises it first). A redirect the proxy
//! answers (escaped slashes) is followed once, as a browser would, so the outcome is where
//! the spelling finally lands.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::wat::at::{EMPTY_MAP, TEXT};
use super::wat::Module;
use crate::faults::load::Tally;
use crate::faults::request::Outcome;

/// The spellings, from issue 19.
pub const SPELLINGS: &[&str] = &[
    "/admin",
    "//admin",
    "/./admin",
    "/%61dmin",
    "/x/../admin",
    "/public/../admin",
    "/x/..;/admin",
    "/x/%252e%252e/admin",
    "/x%2f..%2fadmin",
];

/// The status the guard answers on the `/admin` route.
pub const DENIED: u16 = 403;

/// A plugin that answers every request 403 `denied by guard`.
pub fn guard() -> Module {
    let body = b"denied by guard\n";
    Module {
        data: vec![(TEXT, body.to_vec())],
        request_headers: format!(
            "(drop (call $proxy_send_local_response (i32.const {DENIED}) (i32.const 0) (i32.const 0) \
             (i32.const {TEXT}) (i32.const {}) (i32.const {EMPTY_MAP}) (i32.const 4) (i32.const -1)))
    (global.set $replied (i32.const 1))",
            body.len()
        ),
        ..Module::default()
    }
}

/// One raw `GET path`: status, `location` header, body (as text).
async fn get_raw(addr: SocketAddr, path: &str, limit: Duration) -> Option<(u16, Option<String>, String)> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nhost: example.com\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut got = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut got)).await.ok()?.ok()?;
    let text = String::from_utf8_lossy(&got).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let location = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("location").then(|| v.trim().to_string())
    });
    Some((status, location, body.to_string()))
}

/// Where one spelling lands: the final status (after at most one redirect), and what was on
/// the way (`307 → /admin → 403`, or the path the upstream saw when it answered).
pub async fn land(addr: SocketAddr, spelling: &str, limit: Duration) -> (Outcome, String) {
    let Some((status, location, body)) = get_raw(addr, spelling, limit).await else {
        return (Outcome::Reset, "no answer".into());
    };
    let (status, body, trail) = match (status, location) {
        (300..=399, Some(location)) => {
            // An absolute location keeps only its path.
            let path = location.split("://").nth(1).and_then(|r| r.find('/').map(|i| r[i..].to_string()));
            let path = path.unwrap_or(location);
            match get_raw(addr, &path, limit).await {
                Some((second, _, body)) => (second, body, format!("{status} → `{path}` → {second}")),
                None => return (Outcome::Reset, format!("{status} → `{path}` → no answer")),
            }
        }
        (status, _) => (status, body, status.to_string()),
    };
    let seen = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["path"].as_str().map(|p| format!(" (upstream saw `{p}`)")))
        .unwrap_or_default();
    (Outcome::Status(status), format!("{trail}{seen}"))
}

/// Every spelling `rounds` times: the tally of final outcomes and one line per spelling.
pub async fn matrix(addr: SocketAddr, rounds: usize) -> (Tally, Vec<String>) {
    let mut tally = Tally::default();
    let mut lines = Vec::new();
    for spelling in SPELLINGS {
        let mut seen = None;
        for _ in 0..rounds {
            let start = Instant::now();
            let (outcome, trail) = land(addr, spelling, Duration::from_secs(5)).await;
            tally.add(outcome, start.elapsed());
            seen.get_or_insert(trail);
        }
        lines.push(format!("`{spelling}` {}", seen.unwrap_or_default()));
    }
    (tally, lines)
}
