//! The path-bypass matrix: every spelling of `/admin` a client may try to walk around a
//! route-level policy with, sent raw (no client normalises it first). A redirect the proxy
//! answers (escaped slashes) is followed once, as a browser would, so the outcome is where
//! the spelling finally lands: the guard's 403, or (the double-encoded one) the upstream,
//! with the path exactly as sent.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::wat::Module;
use super::wat::at::{EMPTY_MAP, TEXT};
use crate::faults::load::Tally;
use crate::faults::request::Outcome;

/// Where a spelling must land.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landing {
    /// On the `/admin` route's decision (its guard's 403), maybe through a redirect.
    Guard,
    /// Routed and forwarded as sent: once decoded it is `/x/%2e%2e/admin`, whose `%2e%2e` is a
    /// segment name and not a dot segment, so no host decodes it into `/admin` (as Envoy;
    /// only a filter that checks every reading of the path, as the auth filter does, may
    /// refuse it).
    AsSent,
}

/// The spellings, from issue 19, and where each must land.
pub const SPELLINGS: &[(&str, Landing)] = &[
    ("/admin", Landing::Guard),
    ("//admin", Landing::Guard),
    ("/./admin", Landing::Guard),
    ("/%61dmin", Landing::Guard),
    ("/x/../admin", Landing::Guard),
    ("/public/../admin", Landing::Guard),
    ("/x/..;/admin", Landing::Guard),
    ("/x/%252e%252e/admin", Landing::AsSent),
    ("/x%2f..%2fadmin", Landing::Guard),
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
    let request = format!("GET {path} HTTP/1.1\r\nhost: example.com\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let (status, head, body) = super::http1::response(&mut stream, limit).await?;
    let location = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("location").then(|| v.trim().to_string())
    });
    Some((status, location, String::from_utf8_lossy(&body).into_owned()))
}

/// Where one spelling lands: the final status (after at most one redirect), the path the
/// upstream saw if it answered, and what happened on the way (`307 → /admin → 403`).
pub async fn land(addr: SocketAddr, spelling: &str, limit: Duration) -> (Outcome, Option<String>, String) {
    let Some((status, location, body)) = get_raw(addr, spelling, limit).await else {
        return (Outcome::Reset, None, "no answer".into());
    };
    let (status, body, trail) = match (status, location) {
        (300..=399, Some(location)) => {
            // An absolute location keeps only its path.
            let path = location.split("://").nth(1).and_then(|r| r.find('/').map(|i| r[i..].to_string()));
            let path = path.unwrap_or(location);
            match get_raw(addr, &path, limit).await {
                Some((second, _, body)) => (second, body, format!("{status} → `{path}` → {second}")),
                None => return (Outcome::Reset, None, format!("{status} → `{path}` → no answer")),
            }
        }
        (status, _) => (status, body, status.to_string()),
    };
    let seen = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["path"].as_str().map(ToString::to_string));
    let trail = match &seen {
        Some(p) => format!("{trail} (upstream saw `{p}`)"),
        None => trail,
    };
    (Outcome::Status(status), seen, trail)
}

/// Every spelling `rounds` times: the tally of final outcomes, one line per spelling, and
/// the spellings that did not land where they must.
pub async fn matrix(addr: SocketAddr, rounds: usize) -> (Tally, Vec<String>, Vec<String>) {
    let mut tally = Tally::default();
    let (mut lines, mut astray) = (Vec::new(), Vec::new());
    for (spelling, landing) in SPELLINGS {
        let mut first = None;
        for _ in 0..rounds {
            let start = Instant::now();
            let (outcome, seen, trail) = land(addr, spelling, Duration::from_secs(5)).await;
            tally.add(outcome, start.elapsed());
            let landed = match landing {
                Landing::Guard => outcome == Outcome::Status(DENIED),
                Landing::AsSent => outcome == Outcome::Status(200) && seen.as_deref() == Some(*spelling),
            };
            if !landed {
                astray.push(format!("`{spelling}`: {trail}"));
            }
            first.get_or_insert(trail);
        }
        lines.push(format!("`{spelling}` {}", first.unwrap_or_default()));
    }
    astray.dedup();
    (tally, lines, astray)
}
