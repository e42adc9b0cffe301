//! Hostile connections over raw TCP, each bounded by a give-up time: silent ones, half an
//! HTTP/2 preface, idle keep-alive after one exchange, request bodies that stall, responses
//! never read, and plain connections held open. How each ended is an [`Outcome`]: the
//! status the proxy answered, `Reset` for a close without an HTTP answer, `Timeout` when the
//! proxy still held it at the give-up time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::http1::{read_head, status_of};
use crate::faults::load::Tally;
use crate::faults::request::Outcome;

/// An HTTP/2 client preface without its last two bytes.
pub const PARTIAL_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n";

/// Reads until the proxy closes (or `give_up`): the status it sent first, `Reset` if it sent
/// no HTTP answer, `Timeout` if the connection was still open.
pub async fn until_closed(stream: &mut TcpStream, give_up: Duration) -> Outcome {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read = tokio::time::timeout(give_up, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) if got.len() < 4096 => got.extend_from_slice(&buf[..n]),
                Ok(_) => {}
            }
        }
    })
    .await;
    match (read, status_of(&got)) {
        (Err(_), _) => Outcome::Timeout,
        (Ok(()), Some(status)) => Outcome::Status(status),
        (Ok(()), None) => Outcome::Reset,
    }
}

/// `n` connections at once, each sending `first` (maybe nothing) and then waiting to be
/// closed; the latency of each is how long the proxy took to close it.
pub async fn send_and_wait(addr: SocketAddr, n: usize, first: &'static [u8], give_up: Duration) -> Tally {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            tokio::spawn(async move {
                let start = Instant::now();
                let Ok(mut stream) = TcpStream::connect(addr).await else {
                    return (Outcome::Refused, start.elapsed());
                };
                if !first.is_empty() && stream.write_all(first).await.is_err() {
                    return (Outcome::Reset, start.elapsed());
                }
                (until_closed(&mut stream, give_up).await, start.elapsed())
            })
        })
        .collect();
    collect(tasks).await
}

/// `n` connections at once, each one `GET` (keep-alive) read to its end, then left idle: the
/// outcome is how the idle connection ended (`Reset`: closed without a byte), the latency how
/// long after the response that was. A first answer other than 200 is that status.
pub async fn idle_after_one(addr: SocketAddr, n: usize, give_up: Duration) -> Tally {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            tokio::spawn(async move {
                let start = Instant::now();
                let Ok(mut stream) = TcpStream::connect(addr).await else {
                    return (Outcome::Refused, start.elapsed());
                };
                match one_exchange(&mut stream, give_up).await {
                    Some(200) => {}
                    Some(status) => return (Outcome::Status(status), start.elapsed()),
                    None => return (Outcome::Reset, start.elapsed()),
                }
                let idle = Instant::now();
                (until_closed(&mut stream, give_up).await, idle.elapsed())
            })
        })
        .collect();
    collect(tasks).await
}

/// Sends one keep-alive `GET /` and reads its response to the end; its status.
async fn one_exchange(stream: &mut TcpStream, limit: Duration) -> Option<u16> {
    stream.write_all(b"GET / HTTP/1.1\r\nhost: example.com\r\n\r\n").await.ok()?;
    let (status, length, mut body) = read_head(stream, limit).await?;
    let mut buf = [0u8; 4096];
    while body < length {
        let n = tokio::time::timeout(limit, stream.read(&mut buf)).await.ok()?.ok()?;
        if n == 0 {
            return None;
        }
        body += n;
    }
    Some(status)
}

/// `n` connections, each a `POST` announcing 1000 bytes of body and sending 10; they stay
/// open for the caller.
pub async fn stalled_bodies(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut streams = Vec::new();
    for _ in 0..n {
        if let Ok(mut s) = TcpStream::connect(addr).await {
            let head = b"POST / HTTP/1.1\r\nhost: example.com\r\ncontent-length: 1000\r\n\r\n0123456789";
            if s.write_all(head).await.is_ok() {
                streams.push(s);
            }
        }
    }
    streams
}

/// The first status each connection answers (within `give_up`); the connections stay open.
pub async fn statuses(streams: &mut [TcpStream], give_up: Duration) -> Tally {
    let mut tally = Tally::default();
    let start = Instant::now();
    for s in streams.iter_mut() {
        let left = give_up.saturating_sub(start.elapsed());
        let outcome = match tokio::time::timeout(left, read_head(s, left)).await {
            Ok(Some((status, _, _))) => Outcome::Status(status),
            Ok(None) => Outcome::Reset,
            Err(_) => Outcome::Timeout,
        };
        tally.add(outcome, start.elapsed());
    }
    tally
}

/// `n` connections, each a `GET` whose response head is read and whose body is then left
/// unread; with the body length the head announced.
pub async fn unread_responses(addr: SocketAddr, n: usize, limit: Duration) -> Vec<(TcpStream, usize, usize)> {
    let mut streams = Vec::new();
    for _ in 0..n {
        if let Ok(mut s) = TcpStream::connect(addr).await
            && s.write_all(b"GET / HTTP/1.1\r\nhost: example.com\r\n\r\n").await.is_ok()
            && let Some((_, length, read)) = read_head(&mut s, limit).await
        {
            streams.push((s, length, read));
        }
    }
    streams
}

/// Reads what each unread response still holds: `Status(200)` if the whole body came (the
/// proxy never gave up on the reader), `Reset` if the connection ended before it did.
pub async fn drain(streams: Vec<(TcpStream, usize, usize)>, give_up: Duration) -> Tally {
    let mut tally = Tally::default();
    let start = Instant::now();
    for (mut s, length, mut read) in streams {
        let mut buf = vec![0u8; 64 * 1024];
        let outcome = loop {
            let left = give_up.saturating_sub(start.elapsed());
            match tokio::time::timeout(left, s.read(&mut buf)).await {
                Err(_) => break Outcome::Timeout,
                Ok(Ok(0) | Err(_)) => {
                    break if read >= length { Outcome::Status(200) } else { Outcome::Reset };
                }
                Ok(Ok(n)) => read += n,
            }
            if read >= length {
                break Outcome::Status(200);
            }
        };
        tally.add(outcome, start.elapsed());
    }
    tally
}

/// Opens `n` silent connections one after the other; after `settle`, each is `Reset` if the
/// proxy had closed it, `Timeout` if it holds it. The held ones stay open for the caller.
pub async fn hold(addr: SocketAddr, n: usize, settle: Duration) -> (Tally, Vec<TcpStream>) {
    let mut opened = Vec::new();
    for _ in 0..n {
        if let Ok(s) = TcpStream::connect(addr).await {
            opened.push((s, Instant::now()));
        }
    }
    tokio::time::sleep(settle).await;
    let mut tally = Tally::default();
    let mut held = Vec::new();
    for (s, at) in opened {
        let mut buf = [0u8; 64];
        // Nothing to read yet: still open (a closed one reads its end at once).
        match s.try_read(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                tally.add(Outcome::Timeout, at.elapsed());
                held.push(s);
            }
            _ => tally.add(Outcome::Reset, at.elapsed()),
        }
    }
    (tally, held)
}

async fn collect(tasks: Vec<tokio::task::JoinHandle<(Outcome, Duration)>>) -> Tally {
    let mut tally = Tally::default();
    for task in tasks {
        if let Ok((outcome, took)) = task.await {
            tally.add(outcome, took);
        }
    }
    tally
}
