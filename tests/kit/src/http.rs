//! A tiny blocking HTTP/1.1 client (one request per connection, `Connection: close`) over
//! `std::net::TcpStream`: what readiness polls and `cargo xtask` need, usable from sync and
//! async code alike (the latter through `spawn_blocking`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::Context;

/// The `Host` of a request that names none.
pub const DEFAULT_HOST: &str = "demo.local";

/// A response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header lines as received, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body (lossy UTF-8).
    pub body: String,
}

impl Response {
    /// First value of a header (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One request: 5 s to connect, 10 s between reads; `Host` is [`DEFAULT_HOST`] unless
/// `headers` has one.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> anyhow::Result<Response> {
    let stream = connect(addr)?;
    request_over(stream, method, path, headers, body)
}

/// A TCP connection to `addr`: 5 s to connect, 10 s between reads.
pub fn connect(addr: SocketAddr) -> anyhow::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    Ok(stream)
}

/// One request on `stream` (a TCP connection, or TLS over one), read to its close.
pub fn request_over<S: Read + Write>(
    mut stream: S,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> anyhow::Result<Response> {
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nconnection: close\r\ncontent-length: {}\r\n", body.len());
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        request.push_str(&format!("host: {DEFAULT_HOST}\r\n"));
    }
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    if let Err(e) = stream.read_to_end(&mut raw) {
        // A TLS peer that closes without close_notify after a complete answer.
        if raw.is_empty() || e.kind() != std::io::ErrorKind::UnexpectedEof {
            return Err(e.into());
        }
    }
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").map_or(raw.len(), |at| at + 4);
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .context("malformed status line")?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = &raw[split..];
    let body = if chunked { dechunk(body).context("malformed chunked body")? } else { body.to_vec() };
    Ok(Response { status, headers, body: String::from_utf8_lossy(&body).into_owned() })
}

/// A `Transfer-Encoding: chunked` body's content (Envoy's admin server answers so).
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let end = body.windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&body[..end]).ok()?;
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        body = &body[end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

/// `GET path` on an admin server, with `Host` set to its address (weir's and weir-cp's admin
/// servers refuse any other).
pub fn admin_get(admin: SocketAddr, path: &str) -> anyhow::Result<Response> {
    request(admin, "GET", path, &[("host", &admin.to_string())], "")
}

/// Whether the admin server at `admin` answers `GET /ready` with 200 `LIVE` (weir and Envoy
/// alike).
pub fn is_live(admin: SocketAddr) -> bool {
    admin_get(admin, "/ready").is_ok_and(|r| r.status == 200 && r.body.trim() == "LIVE")
}

/// A free TCP port on 127.0.0.1 (bound, then released), for a child that cannot report the
/// port it bound; a caller must expect it to be taken by then, rarely.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunked_bodies_are_decoded() {
        assert_eq!(super::dechunk(b"5\r\nLIVE\n\r\n0\r\n\r\n").as_deref(), Some(&b"LIVE\n"[..]));
        assert_eq!(super::dechunk(b"2;x=y\r\nab\r\n1\r\nc\r\n0\r\n\r\n").as_deref(), Some(&b"abc"[..]));
        assert_eq!(super::dechunk(b"9\r\nshort\r\n"), None);
    }
}
