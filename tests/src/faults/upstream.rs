//! Misbehaving upstreams, as tiny TCP servers on 127.0.0.1: one that resets every connection
//! once the request arrived, one that accepts and never answers, one that answers after a
//! delay, one that answers with a body larger than any buffer. Stopped (with every
//! connection) on drop.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// What the upstream does with each connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Reads the request, then closes with RST (`SO_LINGER` 0).
    Reset,
    /// Reads the request and never answers (the connection stays open, for 60 s at most).
    Hang,
    /// Reads the request, waits this long, then answers `200 slow`.
    Slow(Duration),
    /// Reads the request, then answers 200 with a body of this many bytes (written as fast
    /// as the proxy reads it).
    Large(usize),
}

/// A running misbehaving upstream.
pub struct BadUpstream {
    /// Its address.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl BadUpstream {
    /// Starts one on an ephemeral port.
    pub async fn start(behaviour: Behaviour) -> std::io::Result<BadUpstream> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            // Connections live in the set, so stopping the server ends them too.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        if let Ok((stream, _)) = accepted {
                            connections.spawn(serve(stream, behaviour));
                        }
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok(BadUpstream { addr, task })
    }
}

impl Drop for BadUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads until the end of a request head; false on EOF, error or after 10 s.
async fn read_head(stream: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        true
    })
    .await;
    read.unwrap_or(false)
}

async fn serve(mut stream: TcpStream, behaviour: Behaviour) {
    while read_head(&mut stream).await {
        match behaviour {
            Behaviour::Reset => {
                let _ = stream.set_zero_linger();
                return;
            }
            Behaviour::Hang => {
                // Hold the connection until the proxy gives up on it.
                let mut buf = [0u8; 1024];
                let _ = tokio::time::timeout(Duration::from_secs(60), async {
                    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
                })
                .await;
                return;
            }
            Behaviour::Large(size) => {
                let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {size}\r\n\r\n");
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b'x'; 64 * 1024];
                let mut left = size;
                while left > 0 {
                    let n = left.min(chunk.len());
                    if stream.write_all(&chunk[..n]).await.is_err() {
                        return;
                    }
                    left -= n;
                }
            }
            Behaviour::Slow(delay) => {
                tokio::time::sleep(delay).await;
                let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nslow\n";
                if stream.write_all(answer).await.is_err() {
                    return;
                }
            }
        }
    }
}
