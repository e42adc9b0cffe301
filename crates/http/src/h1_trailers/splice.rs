//! The connection's byte stream with trailers spliced in: [`SpliceIo`] passes what hyper
//! writes to the socket and, where [`Framing`] finds a chunked message's end, inserts the
//! trailers its body handed over ([`super::TrailerTap`]). Reads pass untouched.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::framing::{Framing, Role};
use super::queue::Messages;

/// Bytes kept back (spliced output the socket did not take yet) before writes wait.
const MAX_PENDING: usize = 64 * 1024;

/// A byte stream that writes HTTP/1.1 trailers hyper would not write.
#[derive(Debug)]
pub struct SpliceIo<I> {
    inner: I,
    /// `None`: nothing to splice (off, or the framing was lost): a plain pass-through.
    framing: Option<Framing>,
    pending: BytesMut,
}

impl<I> SpliceIo<I> {
    /// `inner` as is: no trailers are spliced.
    pub fn plain(inner: I) -> SpliceIo<I> {
        SpliceIo { inner, framing: None, pending: BytesMut::new() }
    }

    /// `inner` with the trailers of `messages` (written in `role`) spliced in.
    pub fn splicing(inner: I, role: Role, messages: Messages) -> SpliceIo<I> {
        SpliceIo { inner, framing: Some(Framing::new(role, messages)), pending: BytesMut::new() }
    }
}

impl<I: AsyncWrite + Unpin> SpliceIo<I> {
    /// Writes what is pending; `Ready` once nothing is.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.pending) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.pending.advance(n),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for SpliceIo<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for SpliceIo<I> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.framing.is_none() {
            return Pin::new(&mut this.inner).poll_write(cx, data);
        }
        if this.pending.len() >= MAX_PENDING {
            // Wakes when the socket takes more; nothing of `data` is taken yet.
            std::task::ready!(this.drain(cx))?;
        }
        let Some(framing) = this.framing.as_mut() else { return Poll::Ready(Ok(0)) };
        let inserts = framing.scan(data);
        if !framing.tracking() && inserts.is_empty() && this.pending.is_empty() {
            this.framing = None;
        }
        if inserts.is_empty() && this.pending.is_empty() {
            // The common case: straight to the socket, what it does not take is kept.
            match Pin::new(&mut this.inner).poll_write(cx, data) {
                Poll::Ready(Ok(n)) => this.pending.extend_from_slice(&data[n..]),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => this.pending.extend_from_slice(data),
            }
            return Poll::Ready(Ok(data.len()));
        }
        let mut from = 0;
        for insert in inserts {
            this.pending.extend_from_slice(&data[from..insert.at]);
            this.pending.extend_from_slice(&insert.bytes);
            from = insert.at;
        }
        this.pending.extend_from_slice(&data[from..]);
        // `data` is taken: a socket that is not ready now is written on the next flush.
        if let Poll::Ready(Err(e)) = this.drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(data.len()))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.framing.is_none() && self.pending.is_empty() {
            return Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        }
        let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| &**b);
        self.poll_write(cx, first)
    }

    fn is_write_vectored(&self) -> bool {
        self.framing.is_none() && self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
