//! Reading HTTP/1 responses off raw connections: a status line, a head with its
//! `content-length`, a whole response.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The status of an HTTP/1 response head at the start of `bytes`, if there is one.
pub fn status_of(bytes: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(bytes.get(..bytes.len().min(32))?);
    text.strip_prefix("HTTP/1.")?.split_whitespace().nth(1)?.parse().ok()
}

/// Reads one response with a `content-length` (or none): status, head, body.
pub async fn response(stream: &mut TcpStream, limit: Duration) -> Option<(u16, String, Vec<u8>)> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                })
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if got.len() >= end + 4 + length {
                let body = got[end + 4..end + 4 + length].to_vec();
                return Some((status_of(&got)?, head, body));
            }
        }
        let n = tokio::time::timeout(limit, stream.read(&mut buf)).await.ok()?.ok()?;
        if n == 0 {
            return None;
        }
        got.extend_from_slice(&buf[..n]);
    }
}

/// Reads a response head: status, `content-length` (0 if none) and body bytes already read.
pub async fn read_head(stream: &mut TcpStream, limit: Duration) -> Option<(u16, usize, usize)> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = tokio::time::timeout(limit, stream.read(&mut buf)).await.ok()?.ok()?;
        if n == 0 {
            return None;
        }
        got.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Some((status_of(&got)?, length, got.len() - end))
}
