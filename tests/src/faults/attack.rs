//! Hostile clients over raw TCP: malformed requests, oversized request heads, and slowloris
//! (many connections each sending one header byte per second). Every attempt is bounded and
//! ends as the status the proxy answered, or as a close without answer, or a timeout.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::load::Tally;
use super::request::Outcome;

/// Requests no HTTP/1.1 server may accept.
pub fn malformed() -> Vec<Vec<u8>> {
    [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nhost: example.com\r\nno colon in this header\r\n\r\n",
        b"GET /\x01\x7f HTTP/1.1\r\nhost: example.com\r\n\r\n",
        b"GET / HTTP/1.1\r\nhost: example.com\r\ncontent-length: abc\r\n\r\n",
        b"GET / HTTP/1.1\r\nhost: example.com\r\nbad\x00name: x\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n",
    ]
    .iter()
    .map(|r| r.to_vec())
    .collect()
}

/// Request heads over the limits: one 100 KiB header (over `max_request_headers_kb` 60), and
/// 150 headers (over `max_request_headers` 100).
pub fn oversized() -> Vec<Vec<u8>> {
    let big = format!("GET / HTTP/1.1\r\nhost: example.com\r\nx-big: {}\r\n\r\n", "a".repeat(100 * 1024));
    let mut many = String::from("GET / HTTP/1.1\r\nhost: example.com\r\n");
    for i in 0..150 {
        many.push_str(&format!("x-h{i}: v\r\n"));
    }
    many.push_str("\r\n");
    vec![big.into_bytes(), many.into_bytes()]
}

/// Reads until a status line arrives, the connection closes, or `limit` passes.
async fn read_status(stream: &mut TcpStream, limit: Duration) -> Outcome {
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    let read = tokio::time::timeout(limit, async {
        loop {
            if let Some(end) = got.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&got[..end]).into_owned();
                let code = line.split_whitespace().nth(1).and_then(|c| c.parse().ok());
                return code.map_or(Outcome::Reset, Outcome::Status);
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return Outcome::Reset,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.unwrap_or(Outcome::Timeout)
}

/// Sends each of `requests` in turn (cycling) on a fresh connection, `count` times in all.
pub async fn send_raw(addr: SocketAddr, requests: &[Vec<u8>], count: usize, limit: Duration) -> Tally {
    let mut tally = Tally::default();
    for i in 0..count {
        let start = Instant::now();
        let outcome = match TcpStream::connect(addr).await {
            Err(_) => Outcome::Refused,
            Ok(mut stream) => {
                // A proxy may answer (and close) before it read everything: ignore write errors.
                let _ = stream.write_all(&requests[i % requests.len()]).await;
                read_status(&mut stream, limit).await
            }
        };
        tally.add(outcome, start.elapsed());
    }
    tally
}

/// Slowloris: `attackers` clients, each holding one connection at a time that sends a request
/// head one byte per second, and opening a new one whenever the proxy ends it, for `duration`.
/// Each connection ends as the proxy's answer (408), a close without answer, or `Timeout` when
/// the proxy still held it open after `give_up`.
pub async fn slowloris(addr: SocketAddr, attackers: usize, duration: Duration, give_up: Duration) -> Tally {
    let tasks: Vec<_> = (0..attackers)
        .map(|i| {
            tokio::spawn(async move {
                let start = Instant::now();
                let mut tally = Tally::default();
                while start.elapsed() < duration {
                    let began = Instant::now();
                    let outcome = slow_connection(addr, i, give_up).await;
                    tally.add(outcome, began.elapsed());
                    if outcome == Outcome::Refused {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                tally
            })
        })
        .collect();
    let mut tally = Tally::default();
    for task in tasks {
        if let Ok(t) = task.await {
            tally.merge(&t);
        }
    }
    tally
}

/// One slowloris connection.
async fn slow_connection(addr: SocketAddr, i: usize, give_up: Duration) -> Outcome {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return Outcome::Refused;
    };
    let head = format!("GET /slow/{i} HTTP/1.1\r\nhost: example.com\r\nx-slow: ");
    if stream.write_all(head.as_bytes()).await.is_err() {
        return Outcome::Reset;
    }
    let (mut reader, mut writer) = stream.into_split();
    let drip = async {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if writer.write_all(b"a").await.is_err() {
                // Closed by the proxy: the read side tells how.
                std::future::pending::<()>().await;
            }
        }
    };
    let answer = async {
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.windows(2).any(|w| w == b"\r\n") {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        let line = String::from_utf8_lossy(&got).into_owned();
        line.split_whitespace().nth(1).and_then(|c| c.parse().ok()).map_or(Outcome::Reset, Outcome::Status)
    };
    tokio::select! {
        outcome = answer => outcome,
        () = drip => Outcome::Reset,
        () = tokio::time::sleep(give_up) => Outcome::Timeout,
    }
}
