//! A connection that remembers the TLS error that ended it: HTTP/2 passes a connection's I/O
//! error on as text only, so a TLS alert under it is read here, where it happens. It can also
//! wait for the server's verdict on a client certificate before the request is written (TLS
//! 1.3 gives it after the client's side of the handshake is done): written first, a request
//! can meet a reset that hides the alert.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// The first TLS error seen on a connection, shared with whoever reads it afterwards.
#[derive(Debug, Clone, Default)]
pub struct TlsErrorSlot(Arc<Mutex<Option<rustls::Error>>>);

impl TlsErrorSlot {
    /// The error, if one was seen.
    pub fn get(&self) -> Option<rustls::Error> {
        self.0.lock().ok().and_then(|e| e.clone())
    }

    fn note<T>(&self, result: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if let Poll::Ready(Err(e)) = &result
            && let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>())
            && let Ok(mut slot) = self.0.lock()
        {
            slot.get_or_insert_with(|| tls.clone());
        }
        result
    }
}

/// What the server did in the time given for its verdict.
#[derive(Debug)]
pub enum Verdict {
    /// Spoke (its bytes are kept for the reader) or stayed silent: not refused so far.
    Open,
    /// Closed the connection or failed it (with a TLS alert when the slot holds one).
    Closed(io::Error),
}

/// `io`, noting its TLS errors in a [`TlsErrorSlot`].
#[derive(Debug)]
pub struct Recording<IO> {
    io: IO,
    slot: TlsErrorSlot,
    /// Read while waiting for the verdict, not yet given to the reader.
    early: Vec<u8>,
}

impl<IO> Recording<IO> {
    /// Wraps `io`; its errors go to the returned slot.
    pub fn new(io: IO) -> (Recording<IO>, TlsErrorSlot) {
        let slot = TlsErrorSlot::default();
        (Recording { io, slot: slot.clone(), early: Vec::new() }, slot)
    }
}

impl<IO: AsyncRead + Unpin> Recording<IO> {
    /// Reads for at most `wait`, before anything is written.
    pub async fn verdict(&mut self, wait: Duration) -> Verdict {
        let mut buf = vec![0u8; 16 * 1024];
        match tokio::time::timeout(wait, self.read(&mut buf)).await {
            Err(_) => Verdict::Open,
            Ok(Ok(0)) => Verdict::Closed(io::ErrorKind::UnexpectedEof.into()),
            Ok(Ok(n)) => {
                self.early.extend_from_slice(buf.get(..n).unwrap_or_default());
                Verdict::Open
            }
            Ok(Err(e)) => Verdict::Closed(e),
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Recording<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.early.is_empty() {
            let n = self.early.len().min(buf.remaining());
            buf.put_slice(self.early.get(..n).unwrap_or_default());
            self.early.drain(..n);
            return Poll::Ready(Ok(()));
        }
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        self.slot.note(polled)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Recording<IO> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        self.slot.note(polled)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.io).poll_flush(cx);
        self.slot.note(polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.io).poll_shutdown(cx);
        self.slot.note(polled)
    }
}
