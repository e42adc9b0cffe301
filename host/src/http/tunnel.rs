//! The downstream half of a proxied upgrade (WebSocket): hyper serves the connection on a
//! shared handle of its byte stream ([`SharedIo`]), so that once it has sent the 101 and let go
//! of the connection (hyper's low-level API cannot hand an upgrade over on a connection that is
//! not `Send`; this one lives on its worker), weir still has the stream and splices it to the
//! upstream's: bytes both ways, each side's end of stream passed on, until both have ended or
//! none moved for the idle timeout.
//!
//! Bytes a client sends after its upgrade request before the 101 arrives stay in hyper's
//! buffer and are lost; RFC 6455 clients wait for the 101, as the RFC requires.

use std::cell::{Cell, RefCell};
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::Instant;

/// A byte stream shared by hyper and by the connection's driver (one worker, one borrow at a
/// time: every call borrows it for its own duration only).
#[derive(Debug)]
pub struct SharedIo<I>(Rc<RefCell<I>>);

impl<I> Clone for SharedIo<I> {
    fn clone(&self) -> Self {
        SharedIo(self.0.clone())
    }
}

impl<I> SharedIo<I> {
    /// Shares `io`.
    pub fn new(io: I) -> SharedIo<I> {
        SharedIo(Rc::new(RefCell::new(io)))
    }

    fn with<R>(&self, f: impl FnOnce(&mut I) -> Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        match self.0.try_borrow_mut() {
            Ok(mut io) => f(&mut io),
            Err(_) => Poll::Ready(Err(io::Error::other("connection stream in use"))),
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for SharedIo<I> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.with(|io| Pin::new(io).poll_read(cx, buf))
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for SharedIo<I> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        self.with(|io| Pin::new(io).poll_write(cx, data))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.with(|io| Pin::new(io).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.0.try_borrow().is_ok_and(|io| io.is_write_vectored())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with(|io| Pin::new(io).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with(|io| Pin::new(io).poll_shutdown(cx))
    }
}

/// Splices the client's stream and the upstream's once the upstream switched protocols; ends
/// when both directions have ended, either fails, or nothing moved for `idle`.
pub async fn splice<I>(downstream: SharedIo<I>, upstream: OnUpgrade, idle: Option<Duration>)
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    let upstream = match upstream.await {
        Ok(upgraded) => TokioIo::new(upgraded),
        Err(e) => {
            tracing::debug!("upstream upgrade failed: {e}");
            return;
        }
    };
    let last = Cell::new(Instant::now());
    let (mut down_read, mut down_write) = tokio::io::split(downstream);
    let (mut up_read, mut up_write) = tokio::io::split(upstream);
    let both = async {
        tokio::join!(copy(&mut down_read, &mut up_write, &last), copy(&mut up_read, &mut down_write, &last))
    };
    tokio::select! {
        _ = both => {}
        () = idle_for(&last, idle) => tracing::debug!("upgraded connection idle: closing it"),
    }
}

/// Copies until the end of stream, which is passed on (half-close); `last` notes each move.
async fn copy(from: &mut (impl AsyncRead + Unpin), to: &mut (impl AsyncWrite + Unpin), last: &Cell<Instant>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                last.set(Instant::now());
                if to.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
    let _ = to.shutdown().await;
}

/// Returns once nothing moved for `limit` (never without one).
async fn idle_for(last: &Cell<Instant>, limit: Option<Duration>) {
    let Some(limit) = limit else { return std::future::pending().await };
    loop {
        let deadline = last.get() + limit;
        if Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep_until(deadline).await;
    }
}
